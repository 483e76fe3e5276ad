from __future__ import annotations

import datetime as dt
from typing import Any, cast

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.forms import Field
from django.utils import timezone
from django_filters.fields import ChoiceField

from core.filters import BoundedIsoDateTimeField, BoundedIsoDateTimeFilter
from leads.models import Campaign, Grade, Lead, LeadSearch, Persona, Source, Stage


def _present(field_class: type[Field]) -> type[Field]:
    """The form field, refusing a value sent empty (absent is None, and means no filter)."""

    def clean(self: Field, value: Any) -> Any:
        if value == "":
            raise ValidationError("Sent empty: leave the parameter out, or give a value.", code="invalid")
        return field_class.clean(self, value)

    return type(f"Present{field_class.__name__}", (field_class,), {"clean": clean})


class PresentIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time filter that refuses an empty value rather than ignoring it."""

    field_class = _present(BoundedIsoDateTimeField)


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
    updated_since = BoundedIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Lead
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        terms = value.split()  # cuts at chr(31) too: no term holds the separator of LeadSearch.text
        if not terms:
            return queryset
        rows = LeadSearch.objects.filter(lead=OuterRef("pk"))
        for term in terms[:5]:
            rows = rows.filter(text__icontains=term)
        return queryset.filter(Exists(rows))


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the site's time zone: a date filter reads whole local days."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class LeadListForm(forms.Form):
    """Checks across fields of the lead list's filters: a range must not end before it starts."""

    RANGES = (
        ("min_score", "max_score", "The minimum score is above the maximum."),
        ("created_from", "created_to", "The created range ends before it starts."),
        ("updated_from", "updated_to", "The updated range ends before it starts."),
    )

    DATES = ("created_from", "created_to", "updated_from", "updated_to")
    FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2100, 12, 31)

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())  # Form.clean returns cleaned_data
        for name in self.DATES:
            day = cleaned.get(name)
            if day is not None and not self.FIRST_DAY <= day <= self.LAST_DAY:
                self.add_error(name, "Enter a date from 1900 to 2100.")
                cleaned.pop(name, None)
        for low, high, message in self.RANGES:
            start, end = cleaned.get(low), cleaned.get(high)
            if start is not None and end is not None and start > end:
                self.add_error(high, message)
        return cleaned


class LeadListFilter(LeadFilter):
    """The lead list page's filters: the shared ones, stricter, plus dates and source.

    Unlike the API's filters (where an unknown slug finds nothing), an unknown stage, owner, persona or
    campaign is an error the page shows, so a mistyped link never looks like an empty pipeline.
    """

    stage = django_filters.ModelChoiceFilter(
        field_name="stage", queryset=Stage.objects.all(), to_field_name="slug"
    )
    owner = django_filters.ModelChoiceFilter(
        field_name="owner", queryset=get_user_model().objects.filter(is_active=True)
    )
    persona = django_filters.ModelChoiceFilter(
        field_name="persona", queryset=Persona.objects.all(), to_field_name="slug"
    )
    campaign = django_filters.ModelChoiceFilter(
        field_name="campaign", queryset=Campaign.objects.all(), to_field_name="slug"
    )
    source = django_filters.ChoiceFilter(field_name="source", choices=Source.choices)
    created_from = django_filters.DateFilter(method="filter_from", field_name="created_at")
    created_to = django_filters.DateFilter(method="filter_to", field_name="created_at")
    updated_from = django_filters.DateFilter(method="filter_from", field_name="updated_at")
    updated_to = django_filters.DateFilter(method="filter_to", field_name="updated_at")

    class Meta:
        model = Lead
        fields: list[str] = []
        form = LeadListForm

    # django-filter passes a method filter's ``field_name`` as ``name``: here the column.
    def filter_from(self, queryset: QuerySet[Lead], name: str, value: dt.date) -> QuerySet[Lead]:
        return queryset.filter(**{f"{name}__gte": _day_start(value)})

    def filter_to(self, queryset: QuerySet[Lead], name: str, value: dt.date) -> QuerySet[Lead]:
        return queryset.filter(**{f"{name}__lt": _day_start(value + dt.timedelta(days=1))})


class LeadApiFilter(LeadFilter):
    """The API's lead filters: a parameter sent empty is refused, as its schema says (the page's form sends
    an empty value for "any", so ``LeadFilter`` ignores it)."""

    grade = PresentChoiceFilter(field_name="grade", choices=Grade.choices)
    updated_since = PresentIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
