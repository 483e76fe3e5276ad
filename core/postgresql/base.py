"""Django's PostgreSQL backend, with a health check that needs no round trip while the connection is quiet.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection once per request, before its first query,
with a ``SELECT 1``: a round trip that cost a sixth of a single-lead upsert. Between requests the connection
is idle, and an idle PostgreSQL connection receives nothing unless the server is going away (a restart,
``pg_terminate_backend``, an idle timeout: it sends the error and closes the socket) or a notification
arrives. So: nothing waiting on the socket means usable; anything waiting means check it the usual way.

A connection lost without a word (a cable, a dead host) passes both checks alike; its first query then fails
and the request answers 503 (``core.errors.release_lost_database_connection``), as it would with Django's.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        try:
            waiting, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        if not waiting:
            return True
        return bool(super().is_usable())
