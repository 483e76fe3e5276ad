"""Cursor pagination for API lists whose cursor position is checked before it reaches the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from rest_framework.pagination import Cursor, CursorPagination

from core.errors import ValidationProblem
from core.inputs import datetime_problem


class CheckedCursorPagination(CursorPagination):
    """DRF's cursor pagination, except that a forged position (``p`` inside the cursor) is a ``400`` naming
    ``cursor``: DRF hands the position to the database as it is, and a datetime with a UTC offset of +16:00
    or a text where a number belongs is then a server error."""

    def paginate_queryset(self, queryset: QuerySet, request: Any, view: Any = None) -> list | None:
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Any) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        try:
            value = field.to_python(cursor.position)
        except (ValidationError, ValueError, TypeError, OverflowError):
            value = None
        problem = "This cursor is not valid." if value is None else None
        if isinstance(value, datetime):
            problem = datetime_problem(value)
        if problem:
            raise ValidationProblem({self.cursor_query_param: [problem]})
        return cursor
