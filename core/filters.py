"""Filter fields shared by the API's filter sets and the pages: the range rules of ``core.inputs`` applied."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from core.inputs import datetime_problem


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime with a UTC offset of at most ±14:00, between 1900 and 2100 (a value without an
    offset is in the site's time zone, as django-filter reads it)."""

    def strptime(self, value: Any, format: str) -> datetime:
        parsed = super().strptime(value, format)  # ValueError (offset ≥ 24 h): "Enter a valid date/time."
        problem = datetime_problem(parsed)
        if problem:
            raise forms.ValidationError(problem, code="out_of_range")
        return parsed


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField
