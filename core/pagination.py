"""The API's one pager: keyset pages over ``core.keyset`` in a total order (the sort key, then ``id``).

A view names its default order in ``ordering`` (``"-created_at"``) and, when a client may choose,
the keys it may sort by in ``ordering_fields``; the ``ordering`` query parameter then takes any of them,
ascending or with ``-`` for descending. ``cursor`` is opaque (base64 of key value, id and direction); a
forged or stale one is a ``400`` naming ``cursor``, as is a ``page_size`` or ``ordering`` out of range.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.errors import ValidationProblem
from core.keyset import KeysetPage, paginate

_WHOLE_NUMBER = re.compile(r"[0-9]{1,6}")


def whole_number(request: Request, name: str, *, default: int, maximum: int) -> int:
    """A query parameter holding an ASCII whole number from 1 to ``maximum``; ``default`` when absent."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        raise ValidationProblem({name: [f"A whole number from 1 to {maximum}."]})
    return int(raw)


def orderings_of(view: Any) -> list[str]:
    """Every value the view's ``ordering`` parameter accepts; the first is its default."""
    default = getattr(view, "ordering", None) or "-id"
    fields = getattr(view, "ordering_fields", None) or []
    choices = [default]
    for field in fields:
        choices += [f for f in (field, f"-{field}") if f != default]
    return choices


class KeysetPagination(BasePagination):
    page_size = 50
    max_page_size = 500
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    ordering_query_param = "ordering"

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        choices = orderings_of(view)
        ordering = request.query_params.get(self.ordering_query_param, choices[0])
        if ordering not in choices:
            raise ValidationProblem({self.ordering_query_param: [f"One of: {', '.join(choices)}."]})
        size = whole_number(
            request, self.page_size_query_param, default=self.page_size, maximum=self.max_page_size
        )
        self.request = request
        self.page: KeysetPage = paginate(
            queryset,
            key=ordering.removeprefix("-"),
            descending=ordering.startswith("-"),
            cursor=request.query_params.get(self.cursor_query_param),
            page_size=size,
            strict=True,
        )
        return self.page.rows

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        return self._link(self.page.next_cursor)

    def get_previous_link(self) -> str | None:
        return self._link(self.page.previous_cursor)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "The opaque position of a page, from a `next` or `previous` link.",
                "schema": {"type": "string", "maxLength": 400},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Rows per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
        choices = orderings_of(view)
        if len(choices) > 1:
            parameters.append(
                {
                    "name": self.ordering_query_param,
                    "in": "query",
                    "required": False,
                    "description": f"The sort key, `-` for descending; then `id`. Default `{choices[0]}`.",
                    "schema": {"type": "string", "enum": choices},
                }
            )
        return parameters


def page_class(*, size: int, maximum: int) -> type[KeysetPagination]:
    """A keyset pager with its own page sizes."""
    return type("KeysetPagination", (KeysetPagination,), {"page_size": size, "max_page_size": maximum})
