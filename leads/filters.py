from __future__ import annotations

import datetime as dt
from typing import Any, cast

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.filters import BoundedIsoDateTimeFilter
from leads.models import Campaign, Grade, Lead, Persona, Source, Stage


class LeadFilter(django_filters.FilterSet):
    """Filters shared by the lead list API and the lead list page."""

    stage = django_filters.CharFilter(field_name="stage")
    owner = django_filters.NumberFilter(field_name="owner_id")
    persona = django_filters.CharFilter(field_name="persona__slug")
    campaign = django_filters.CharFilter(field_name="campaign__slug")
    grade = django_filters.ChoiceFilter(field_name="grade", choices=Grade.choices)
    min_score = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    max_score = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    updated_since = BoundedIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
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
