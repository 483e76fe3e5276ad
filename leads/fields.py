"""The lead's fields as clients, CSV files and pages see them: the one declaration.

Each field has its name (in the API, CSV files and scoring rules), its kind, a label for people, who may
write it, and what the CSV download of the lead list reads for it. The database column and the maximum
length come from the model (``Lead._meta``), so they are declared once too. The API's serializers, the
lead payload's validation (``leads.schemas``), the upsert (``leads.ingest_sql``), the CSV import's mapping
and the CSV download are all derived from ``LEAD_FIELDS``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from django.db import models
from django.db.models import ForeignObjectRel

from leads.models import Lead, Seniority, Source

if TYPE_CHECKING:
    from django.contrib.contenttypes.fields import GenericForeignKey


class Kind(enum.Enum):
    """What a field holds, which decides how it is validated and compared."""

    EMAIL = "email"  # an e-mail address: trimmed, NFKC-normalised, lower-case
    TEXT = "text"  # one line of text
    CHOICE = "choice"  # one value of ``LeadField.choices``
    BOOL = "bool"  # true, false or unknown
    COUNT = "count"  # a whole number from 1 to ``MAX_COUNT``
    COUNTRY = "country"  # an ISO 3166-1 alpha-2 code
    SLUG = "slug"  # a related object (persona, campaign, stage), named by its slug
    JSON = "json"  # a JSON value
    INTEGER = "integer"  # a whole number the system computes
    DATETIME = "datetime"
    USER = "user"  # a user, by id


class Access(enum.Enum):
    WRITE = "write"  # a client writes it; every answer shows it
    READ = "read"  # every answer shows it; a write naming it is refused as read-only
    DETAIL = "detail"  # only the detail answer shows it; read-only
    HIDDEN = "hidden"  # no answer shows it, but a write naming it is refused as read-only, not unknown


# The largest company size accepted (employees).
MAX_COUNT = 10_000_000


@dataclass(frozen=True)
class LeadField:
    name: str
    kind: Kind
    label: str
    access: Access = Access.WRITE
    # What the CSV download of the lead list reads (an ORM path); None: not in the download.
    export: str | None = None
    choices: type[models.TextChoices] | None = None

    @property
    def model_field(self) -> models.Field:
        return Lead._meta.get_field(self.name)  # type: ignore[return-value]

    @property
    def column(self) -> str:
        """The database column (``persona`` is ``persona_id``)."""
        return self.model_field.column

    @property
    def max_length(self) -> int | None:
        """The longest value stored: the column's, or for a slug the related object's slug."""
        field: models.Field | ForeignObjectRel | GenericForeignKey = self.model_field
        if self.kind is Kind.SLUG and field.related_model is not None:
            # Resolved to the model class once the apps are loaded, never the lazy "self".
            field = cast("type[models.Model]", field.related_model)._meta.get_field("slug")
        return getattr(field, "max_length", None)

    @property
    def writable(self) -> bool:
        return self.access is Access.WRITE

    @property
    def value_type(self) -> str | None:
        """The type of the value a rule compares: ``"text"``, ``"number"``, ``"bool"``, or None."""
        if self.kind in (Kind.EMAIL, Kind.TEXT, Kind.CHOICE, Kind.COUNTRY, Kind.SLUG):
            return "text"
        if self.kind in (Kind.COUNT, Kind.INTEGER):
            return "number"
        if self.kind is Kind.BOOL:
            return "bool"
        return None


# In the order of the API's answers.
LEAD_FIELDS: dict[str, LeadField] = {
    f.name: f
    for f in (
        LeadField("id", Kind.INTEGER, "Id", access=Access.READ, export="id"),
        LeadField("email", Kind.EMAIL, "E-mail", export="email"),
        LeadField("first_name", Kind.TEXT, "First name", export="first_name"),
        LeadField("last_name", Kind.TEXT, "Last name", export="last_name"),
        LeadField("company", Kind.TEXT, "Company", export="company"),
        LeadField("job_title", Kind.TEXT, "Job title", export="job_title"),
        LeadField("seniority", Kind.CHOICE, "Seniority", export="seniority", choices=Seniority),
        LeadField("is_decision_maker", Kind.BOOL, "Decision-maker"),
        LeadField("company_size", Kind.COUNT, "Company size", export="company_size"),
        LeadField("industry", Kind.TEXT, "Industry", export="industry"),
        LeadField("country", Kind.COUNTRY, "Country", export="country"),
        LeadField("phone", Kind.TEXT, "Phone"),
        LeadField("persona", Kind.SLUG, "Persona", export="persona__slug"),
        LeadField("campaign", Kind.SLUG, "Campaign", export="campaign__slug"),
        LeadField("source", Kind.CHOICE, "Source", export="source", choices=Source),
        LeadField("utm_source", Kind.TEXT, "UTM source"),
        LeadField("utm_medium", Kind.TEXT, "UTM medium"),
        LeadField("utm_campaign", Kind.TEXT, "UTM campaign"),
        LeadField("external_id", Kind.TEXT, "External id"),
        LeadField("consent", Kind.BOOL, "Consent"),
        LeadField("attributes", Kind.JSON, "Attributes"),
        LeadField("score", Kind.INTEGER, "Score", access=Access.READ, export="score"),
        LeadField("fit_score", Kind.INTEGER, "Fit score", access=Access.READ, export="fit_score"),
        LeadField(
            "engagement_score",
            Kind.INTEGER,
            "Engagement score",
            access=Access.READ,
            export="engagement_score",
        ),
        LeadField("grade", Kind.CHOICE, "Grade", access=Access.READ, export="grade"),
        LeadField("stage", Kind.SLUG, "Stage", access=Access.READ, export="stage"),
        LeadField("owner", Kind.USER, "Owner", access=Access.READ, export="owner__username"),
        LeadField("sla_due_at", Kind.DATETIME, "SLA due", access=Access.READ, export="sla_due_at"),
        LeadField("created_at", Kind.DATETIME, "Created", access=Access.READ, export="created_at"),
        LeadField("updated_at", Kind.DATETIME, "Updated", access=Access.READ, export="updated_at"),
        LeadField("score_breakdown", Kind.JSON, "Score breakdown", access=Access.DETAIL),
        LeadField("scored_at", Kind.DATETIME, "Scored", access=Access.HIDDEN),
    )
}

WRITABLE_FIELDS: tuple[LeadField, ...] = tuple(f for f in LEAD_FIELDS.values() if f.writable)
# Names a write may not carry: the API names them as read-only rather than unknown.
READ_ONLY_NAMES: frozenset[str] = frozenset(name for name, f in LEAD_FIELDS.items() if not f.writable)
# The fields of every answer (lists and details), and those only the detail answer adds.
ANSWER_NAMES: tuple[str, ...] = tuple(
    name for name, f in LEAD_FIELDS.items() if f.access in (Access.WRITE, Access.READ)
)
# Choice fields a client may leave unset: the table stores "", every answer shows null.
CHOICE_NAMES: tuple[str, ...] = tuple(f.name for f in WRITABLE_FIELDS if f.kind is Kind.CHOICE)
DETAIL_NAMES: tuple[str, ...] = tuple(name for name, f in LEAD_FIELDS.items() if f.access is Access.DETAIL)
# (CSV header, ORM path) of the lead list's CSV download.
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (name, f.export) for name, f in LEAD_FIELDS.items() if f.export is not None
)
# Fields a CSV column may fill: every writable one that a cell of text can hold.
IMPORTABLE_FIELDS: tuple[LeadField, ...] = tuple(f for f in WRITABLE_FIELDS if f.kind is not Kind.JSON)
