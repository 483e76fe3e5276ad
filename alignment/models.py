from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce

from alignment.scopes import SCOPE_FIELDS, Scope, ScopeKey, ScopeKind, scope_text


def scope_fits_kind() -> Q:
    """A row's kind names the one foreign key it sets: ``all`` sets none, ``campaign`` only the campaign…"""
    unset = {f"{name}__isnull": True for name in SCOPE_FIELDS.values()}
    condition = Q(scope_kind=ScopeKind.ALL, **unset)
    for kind, name in SCOPE_FIELDS.items():
        condition |= Q(scope_kind=kind, **{**unset, f"{name}__isnull": False})
    return condition


class Scoped:
    """The scope of a row as the API names it (``campaign:<slug>``…), read from and written to its columns.

    Reading the text of a campaign or persona scope loads the campaign or persona: select it with the row.
    """

    scope_kind: str
    campaign_id: int | None
    persona_id: int | None
    rep_id: int | None

    @property
    def scope_key(self) -> ScopeKey:
        return (self.scope_kind, self.campaign_id or self.persona_id or self.rep_id or 0)

    @property
    def scope(self) -> str:
        if self.scope_kind == ScopeKind.CAMPAIGN:
            return scope_text(self.scope_kind, self.campaign.slug)  # type: ignore[attr-defined]
        if self.scope_kind == ScopeKind.PERSONA:
            return scope_text(self.scope_kind, self.persona.slug)  # type: ignore[attr-defined]
        return scope_text(self.scope_kind, self.rep_id or 0)

    @scope.setter
    def scope(self, scope: Scope) -> None:
        if not isinstance(scope, Scope):
            raise TypeError(f"A scope is set from a Scope (alignment.scopes.resolve_scope), not {scope!r}.")
        self.scope_kind = scope.kind
        for column, value in scope.columns().items():
            setattr(self, column, value)


SCOPE_COLUMNS = ["scope_kind", *SCOPE_FIELDS.values()]


class KpiSnapshot(Scoped, models.Model):
    """A KPI's value for one period and scope, as last computed. Upserted on (period, scope, metric)."""

    metric = models.CharField(max_length=60)
    period = models.CharField(max_length=7, help_text="YYYY-MM or YYYY-Qn")
    scope_kind = models.CharField(max_length=10, choices=ScopeKind.choices, default=ScopeKind.ALL)
    campaign = models.ForeignKey(
        "leads.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    persona = models.ForeignKey(
        "leads.Persona", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # TRICKY: the one id of the scope (0 for all), computed by the database, so that one unique index can
    # tell every scope apart (NULLs never conflict) and serve as the upsert's conflict target.
    scope_ref = models.GeneratedField(
        expression=Coalesce("campaign", "persona", "rep", Value(0), output_field=models.BigIntegerField()),
        output_field=models.BigIntegerField(),
        db_persist=True,
    )
    value = models.JSONField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=scope_fits_kind(), name="kpi_snapshot_scope_fits_kind"),
            # Also the index that the pages read a scope's periods through.
            models.UniqueConstraint(
                fields=["period", "scope_kind", "scope_ref", "metric"], name="kpi_snapshot_unique_scope"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.period} {self.scope_kind}:{self.scope_ref} = {self.value}"


class GoalQuerySet(models.QuerySet["Goal"]):
    def with_scope(self) -> GoalQuerySet:
        """Goals with what their scope's text needs, in the same query."""
        return self.select_related("campaign", "persona")


class Goal(Scoped, models.Model):
    """A joint target on a KPI for a period, owned by both teams."""

    name = models.CharField(max_length=120)
    metric = models.CharField(max_length=60)
    target = models.DecimalField(max_digits=16, decimal_places=4)
    period = models.CharField(max_length=7)
    scope_kind = models.CharField(max_length=10, choices=ScopeKind.choices, default=ScopeKind.ALL)
    # A campaign, persona or rep with goals cannot be deleted: a joint target is not dropped in passing.
    campaign = models.ForeignKey(
        "leads.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    persona = models.ForeignKey(
        "leads.Persona", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GoalQuerySet.as_manager()

    class Meta:
        ordering = ["period", "name"]
        constraints = [models.CheckConstraint(condition=scope_fits_kind(), name="goal_scope_fits_kind")]

    def __str__(self) -> str:
        return f"{self.name} ({self.period})"
