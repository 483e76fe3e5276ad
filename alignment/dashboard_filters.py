"""The dashboard's filters: a period and at most one scope (a campaign, persona or sales rep) from the URL.

Numbers are kept per campaign, persona or rep one at a time: when several are chosen the first one counts
and the page says so. What may be chosen comes from one query (``filter_options``), which also names the
scopes and reject reasons for the pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import cast
from urllib.parse import urlencode

from django import forms
from django.utils import timezone

from alignment.dashboard_filters_sql import option_rows
from alignment.periods import (
    InvalidPeriod,
    Period,
    current_month,
    last_months,
    month_of,
    parse_period,
    quarter_of,
)
from alignment.scopes import ALL, Scope, ScopeKey, ScopeKind, scope_text
from core.roles import SALES

SCOPE_FILTERS = (ScopeKind.CAMPAIGN.value, ScopeKind.PERSONA.value, ScopeKind.REP.value)
REASON = "reason"


@dataclass(frozen=True)
class Option:
    kind: str  # campaign, persona, rep or reason
    ref: int  # its id
    value: str  # what a URL or a form carries: the slug, or a rep's id
    label: str


@dataclass(frozen=True)
class FilterOptions:
    """Campaigns, personas, sales reps and reject reasons, each sorted by label."""

    by_kind: dict[str, list[Option]]

    def of(self, kind: str) -> list[Option]:
        return self.by_kind.get(kind, [])

    def scope_labels(self) -> dict[ScopeKey, str]:
        labels = {ALL.key: ScopeKind.ALL.label}
        labels.update({(o.kind, o.ref): o.label for kind in SCOPE_FILTERS for o in self.of(kind)})
        return labels

    def scope_choices(self) -> list[tuple[str, str]]:
        """Every scope as (text, label), for a goal's scope."""
        return [
            (ALL.text, ScopeKind.ALL.label),
            *(
                (scope_text(o.kind, o.value), f"{ScopeKind(o.kind).label}: {o.label}")
                for kind in SCOPE_FILTERS
                for o in self.of(kind)
            ),
        ]

    def reason_labels(self) -> dict[str, str]:
        return {o.value: o.label for o in self.of(REASON)}


def filter_options() -> FilterOptions:
    """Campaigns, personas, sales reps and reject reasons, sorted by label, in one query."""
    by_kind: dict[str, list[Option]] = {kind: [] for kind in (*SCOPE_FILTERS, REASON)}
    rows = option_rows(
        campaign=ScopeKind.CAMPAIGN.value,
        persona=ScopeKind.PERSONA.value,
        rep=ScopeKind.REP.value,
        reason=REASON,
        rep_group=SALES,
    )
    for kind, ref, value, label in rows:
        by_kind[kind].append(Option(kind=kind, ref=ref, value=value, label=label))
    for options in by_kind.values():
        options.sort(key=lambda option: (option.label.lower(), option.value))
    return FilterOptions(by_kind=by_kind)


def period_options(selected: Period, *, today: date) -> list[tuple[str, str]]:
    """The last twelve months and four quarters as (key, label), and ``selected`` if it is none of them."""
    months = last_months(12, until=month_of(today))
    quarters, quarter = [], quarter_of(today)
    for _ in range(4):
        quarters.append(quarter)
        quarter = quarter.previous()
    options = [(p.key, p.label) for p in reversed(months)] + [(q.key, q.label) for q in quarters]
    if selected.key not in {key for key, _ in options}:
        options.insert(0, (selected.key, selected.label))
    return options


def _pairs(options: list[Option]) -> list[tuple[str, str]]:
    return [("", ""), *((o.value, o.label) for o in options)]


class DashboardFilterForm(forms.Form):
    """The URL's filters, each checked on its own: a bad one is reported and left out, the others apply."""

    period = forms.CharField(required=False)
    campaign = forms.ChoiceField(required=False, error_messages={"invalid_choice": "no campaign %(value)r."})
    persona = forms.ChoiceField(required=False, error_messages={"invalid_choice": "no persona %(value)r."})
    rep = forms.ChoiceField(required=False, error_messages={"invalid_choice": "no rep %(value)r."})

    def __init__(self, data: Mapping[str, str], *, options: FilterOptions) -> None:
        super().__init__({name: (data.get(name) or "").strip() for name in self.base_fields})
        for kind in SCOPE_FILTERS:
            # A callable: the choices are listed only for a filter that has a value to check.
            cast(forms.ChoiceField, self.fields[kind]).choices = partial(_pairs, options.of(kind))

    def clean_period(self) -> Period | None:
        value = self.cleaned_data["period"]
        try:
            return parse_period(value) if value else None
        except InvalidPeriod as exc:
            raise forms.ValidationError(str(exc)) from None


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Filters:
    """What the dashboard shows (a period and a scope), the choices of each filter and what went wrong."""

    period: Period
    scope: Scope
    scope_label: str
    chosen: dict[str, str]  # filter name → the value chosen ("" for none)
    options: FilterOptions
    errors: list[str]
    note: str = ""

    def choices(self, name: str) -> list[Choice]:
        chosen = self.chosen.get(name, "")
        if name == "period":
            pairs = period_options(self.period, today=timezone.localdate())
        else:
            pairs = [(o.value, o.label) for o in self.options.of(name)]
        return [Choice(value=value, label=label, selected=value == chosen) for value, label in pairs]

    @property
    def period_choices(self) -> list[Choice]:
        return self.choices("period")

    @property
    def campaign_choices(self) -> list[Choice]:
        return self.choices(ScopeKind.CAMPAIGN)

    @property
    def persona_choices(self) -> list[Choice]:
        return self.choices(ScopeKind.PERSONA)

    @property
    def rep_choices(self) -> list[Choice]:
        return self.choices(ScopeKind.REP)

    @property
    def query(self) -> str:
        """The filters as a URL query, for links that keep them."""
        return urlencode({name: value for name, value in self.chosen.items() if value})


def read_filters(params: Mapping[str, str]) -> Filters:
    """Filters from the URL, checked against the options (one query)."""
    options = filter_options()
    form = DashboardFilterForm(params, options=options)
    form.is_valid()
    errors = [
        f"{form.fields[name].label or name.title()}: {message}"
        for name in form.errors
        for message in form.errors[name]
    ]
    data = form.cleaned_data
    period = data.get("period") or current_month()
    chosen = [kind for kind in SCOPE_FILTERS if data.get(kind)]
    scope, label = ALL, ScopeKind.ALL.label
    if chosen:
        kind = chosen[0]
        option = next(o for o in options.of(kind) if o.value == data[kind])
        scope = Scope(kind=kind, ref=option.ref, text=scope_text(kind, option.value))
        label = f"{ScopeKind(kind).label}: {option.label}"
    note = ""
    if len(chosen) > 1:
        note = f"Numbers are kept per campaign, persona or rep, one at a time: showing {label}."
    return Filters(
        period=period,
        scope=scope,
        scope_label=label,
        chosen={
            "period": period.key,
            **{kind: data[kind] if chosen[:1] == [kind] else "" for kind in SCOPE_FILTERS},
        },
        options=options,
        errors=errors,
        note=note,
    )
