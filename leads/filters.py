from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.forms import Field
from django_filters.fields import ChoiceField, IsoDateTimeField

from leads.models import Grade, Lead


def _present(field_class: type[Field]) -> type[Field]:
    """The form field, refusing a value sent empty (absent is None, and means no filter)."""

    def clean(self: Field, value: Any) -> Any:
        if value == "":
            raise ValidationError("Sent empty: leave the parameter out, or give a value.", code="invalid")
        return field_class.clean(self, value)

    return type(f"Present{field_class.__name__}", (field_class,), {"clean": clean})


class PresentIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time filter that refuses an empty value rather than ignoring it."""

    field_class = _present(IsoDateTimeField)


class PresentChoiceFilter(django_filters.ChoiceFilter):
    """A choice filter that refuses an empty value (not one of the choices) rather than ignoring it."""

    field_class = _present(ChoiceField)


# Numbers a filter compares with an integer column: larger ones would overflow it (a 500, not an answer).
MAX_ID = 2**63 - 1
_SCORE = {"min_value": -(2**31), "max_value": 2**31 - 1, "decimal_places": 0}


class LeadFilter(django_filters.FilterSet):
    """Filters shared by the lead list API and the lead list page."""

    stage = django_filters.CharFilter(field_name="stage")
    owner = django_filters.NumberFilter(
        field_name="owner_id", min_value=0, max_value=MAX_ID, decimal_places=0
    )
    persona = django_filters.CharFilter(field_name="persona__slug")
    campaign = django_filters.CharFilter(field_name="campaign__slug")
    grade = django_filters.ChoiceFilter(field_name="grade", choices=Grade.choices)
    min_score = django_filters.NumberFilter(field_name="score", lookup_expr="gte", **_SCORE)
    max_score = django_filters.NumberFilter(field_name="score", lookup_expr="lte", **_SCORE)
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Lead
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        terms = value.split()
        for term in terms[:5]:
            queryset = queryset.filter(
                Q(email__icontains=term)
                | Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(company__icontains=term)
            )
        return queryset


class LeadApiFilter(LeadFilter):
    """The API's lead filters: a parameter sent empty is refused, as its schema says (the page's form sends
    an empty value for "any", so ``LeadFilter`` ignores it)."""

    grade = PresentChoiceFilter(field_name="grade", choices=Grade.choices)
    updated_since = PresentIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
