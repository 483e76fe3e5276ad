"""Saved views of the lead list: a user's named filters ("my open SQLs"), private to that user."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.db import transaction
from django.db.models import QuerySet

from core.errors import NotFound, ValidationProblem
from core.text import one_line
from leads.models import SavedView

MAX_VIEWS = 50
# Parameters that are a position or a format, not a filter: a saved view starts on the first page.
_NOT_FILTERS = frozenset({"cursor", "format", "csrfmiddlewaretoken", "name", "query"})


def saved_views_of(user: Any) -> QuerySet[SavedView]:
    return SavedView.objects.filter(user=user).order_by("name", "id")


def filter_query(query: str) -> str:
    """The filters of a lead list query string, empty values and page positions left out."""
    pairs = [
        (key, value)
        for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=False)
        if key not in _NOT_FILTERS
    ]
    return urlencode(pairs)


def save_view(*, user: Any, name: str, query: str) -> SavedView:
    """Save the list's filters under a name; a name the user has already used is overwritten.

    Raises ``ValidationProblem`` for an empty or overlong name, a query too long, or too many views.
    """
    max_length = SavedView._meta.get_field("name").max_length or 80
    try:
        name = one_line(name.strip())
    except ValueError as exc:
        raise ValidationProblem({"name": [str(exc)]}) from None
    if not name:
        raise ValidationProblem({"name": ["Give the view a name."]})
    if len(name) > max_length:
        raise ValidationProblem({"name": [f"At most {max_length} characters."]})
    query = filter_query(query)
    if len(query) > (SavedView._meta.get_field("query").max_length or 2000):
        raise ValidationProblem({"query": ["These filters are too long to save."]})
    with transaction.atomic():
        existing = saved_views_of(user).select_for_update().filter(name__iexact=name).first()
        if existing is not None:
            existing.name, existing.query = name, query
            existing.save(update_fields=["name", "query"])
            return existing
        if saved_views_of(user).count() >= MAX_VIEWS:
            raise ValidationProblem({"name": [f"You have {MAX_VIEWS} saved views; delete one first."]})
        return SavedView.objects.create(user=user, name=name, query=query)


def delete_view(*, user: Any, view_id: int) -> None:
    """Delete one of the user's views; ``NotFound`` for another user's view or one that is gone."""
    deleted, _ = saved_views_of(user).filter(pk=view_id).delete()
    if not deleted:
        raise NotFound("No such saved view.")
