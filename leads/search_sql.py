"""The lead search's statement: the leads whose e-mail, first name, last name or company holds a term.

On PostgreSQL the term is looked up in ``lead_search`` (migration 0017): one row per lead, the four fields
upper-cased and joined by chr(31) (the SQL function ``lead_search_text``), under a GIN trigram index, kept in
step by triggers on ``leads_lead``. It is matched with ``LIKE`` as Django's ``icontains`` matches each column
(``UPPER(col) LIKE UPPER('%term%')``, the term's wildcards escaped), so both databases find the same leads.
SQLite gets ``icontains`` on the four columns. Either way the answer is an ORM filter, so the list's other
filters, orderings, keyset pages and bounded count compose with it.
"""

from __future__ import annotations

from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL

SEARCHED_FIELDS = ("email", "first_name", "last_name", "company")
SEARCH_TABLE = "lead_search"
# Joins the fields in ``lead_search.text``: no field holds it (core/text.py refuses control characters).
FIELD_SEPARATOR = chr(31)


def lead_matches(term: str) -> Q:
    """A filter on leads: those where one of the searched fields contains ``term``, ignoring case."""
    if connection.vendor != "postgresql":
        any_field = Q()
        for name in SEARCHED_FIELDS:
            any_field |= Q(**{f"{name}__icontains": term})
        return any_field
    if FIELD_SEPARATOR in term:
        # No field holds it, and in lead_search it would match across a field boundary.
        return Q(pk__in=[])
    pattern = f"%{connection.ops.prep_for_like_query(term)}%"
    return Q(
        pk__in=RawSQL(
            f"SELECT lead_id FROM {SEARCH_TABLE} WHERE text LIKE upper(%s)",
            [pattern],
            output_field=models.BigIntegerField(),
        )
    )
