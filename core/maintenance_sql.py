"""``ANALYZE`` after big writes, so the planner knows how many rows there are (PostgreSQL only).

Autovacuum analyzes a table once about a tenth of it has changed, but only on its own schedule: after a
bulk load into a fresh database the planner may still believe a table is empty and pick nested loops over
hundreds of thousands of rows (the demo seed's first rescore took over 12 minutes with no statistics and
25 seconds after an ``ANALYZE``). Big writers call ``analyze`` when they finish; a periodic task catches
floods of small writes (API batches) with ``analyze_busy_tables``; a full rescore calls ``analyze_stale``
before it plans its joins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.apps import apps
from django.db import connection
from django.db.models import Model

logger = logging.getLogger(__name__)

# A table is analyzed when more rows changed since its last ANALYZE than this many plus this fraction of
# its rows: autovacuum's own rule (50 + 10 %) with a higher floor, checked every minute.
MIN_CHANGED_ROWS = 1000
CHANGED_FRACTION = 0.1

# Autovacuum's own rule: 50 rows plus a tenth of the table. A full rescore checks its tables with it before
# it starts (``analyze_stale``): its statements join every lead to its activities, and a plan made without
# statistics turned an 800-lead rescore of 0.14 s into 13 s.
AUTOVACUUM_MIN_CHANGED_ROWS = 50

# Rows changed since the last ANALYZE: those committed, and those of the current transaction (reported in
# ``pg_stat_xact_user_tables`` until it ends), so a writer that has not committed yet sees its own rows.
_BUSY_TABLES = """
SELECT s.relname
FROM pg_stat_user_tables s
LEFT JOIN pg_stat_xact_user_tables x ON x.relid = s.relid
WHERE s.schemaname = current_schema()
  AND s.relname = ANY(%s)
  AND s.n_mod_since_analyze + coalesce(x.n_tup_ins + x.n_tup_upd + x.n_tup_del, 0)
      > %s + %s * s.n_live_tup
ORDER BY s.relname
"""


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _analyze_tables(tables: Iterable[str]) -> list[str]:
    done = []
    with connection.cursor() as cursor:
        for table in sorted(set(tables)):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
            done.append(table)
    return done


def analyze(*, models: Iterable[type[Model]]) -> list[str]:
    """``ANALYZE`` the tables of these models; returns the tables analyzed (none off PostgreSQL)."""
    if not _is_postgres():
        return []
    return _analyze_tables(model._meta.db_table for model in models)


def busy_tables(*, tables: Iterable[str], min_changed_rows: int = MIN_CHANGED_ROWS) -> list[str]:
    """Of these tables, those changed enough since their last ``ANALYZE`` to need another: more than
    ``min_changed_rows`` plus ``CHANGED_FRACTION`` of their rows."""
    if not _is_postgres():
        return []
    with connection.cursor() as cursor:
        cursor.execute(_BUSY_TABLES, [sorted(set(tables)), min_changed_rows, CHANGED_FRACTION])
        return [row[0] for row in cursor.fetchall()]


def _analyze_busy(tables: Iterable[str], *, min_changed_rows: int) -> list[str]:
    if not _is_postgres():
        return []
    busy = busy_tables(tables=tables, min_changed_rows=min_changed_rows)
    if busy:
        logger.info("analyzing tables changed since their statistics: %s", ", ".join(busy))
    return _analyze_tables(busy)


def analyze_stale(*, models: Iterable[type[Model]]) -> list[str]:
    """``ANALYZE`` those of these models' tables whose statistics lag behind their rows by autovacuum's own
    rule, counting the current transaction's writes too: for a job about to plan big joins over them."""
    tables = [model._meta.db_table for model in models]
    return _analyze_busy(tables, min_changed_rows=AUTOVACUUM_MIN_CHANGED_ROWS)


def _project_tables() -> list[str]:
    """The tables of every installed model, including those Django does not manage (the lead search's, kept
    by triggers, which ``django_table_names`` leaves out)."""
    models = apps.get_models(include_auto_created=True)
    return sorted({model._meta.db_table for model in models} & set(connection.introspection.table_names()))


def analyze_busy_tables() -> list[str]:
    """``ANALYZE`` this project's tables that changed a lot since their last ``ANALYZE``."""
    if not _is_postgres():
        return []
    return _analyze_busy(_project_tables(), min_changed_rows=MIN_CHANGED_ROWS)
