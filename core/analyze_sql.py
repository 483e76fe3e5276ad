"""Fresh planner statistics after a bulk load: ``ANALYZE`` the tables that were just filled."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models


def analyze(*, tables: Iterable[type[models.Model]]) -> None:
    """Let the planner see what a bulk load wrote (on an empty table it would guess, and guess small)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")
