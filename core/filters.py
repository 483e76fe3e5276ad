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

    def to_python(self, value: Any) -> datetime | None:
        # TRICKY: Django parses ISO 8601 before trying ``input_formats``, so the check goes here, after both.
        try:
            parsed = super().to_python(value)
        except (ValueError, OverflowError):  # an offset of 24 hours or more; a year-1 value in a time zone
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        problem = datetime_problem(parsed) if parsed is not None else None
        if problem:
            raise forms.ValidationError(problem, code="out_of_range")
        return parsed


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField
