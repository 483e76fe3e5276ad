"""The PostgreSQL backend's health check: no round trip while the connection is quiet, a real check when the
server has said something (it is going away, or a notification arrived)."""

from __future__ import annotations

import select
from contextlib import contextmanager

import pytest
from django.db import connections
from django.db.backends.postgresql import base as django_postgresql

from tests.conftest import needs_postgres

pytestmark = [needs_postgres, pytest.mark.django_db]


@pytest.fixture
def own_connection():
    """A connection of our own (the test's is inside its transaction), closed at the end."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


@pytest.fixture
def round_trips(monkeypatch):
    """Counts the checks that go to the server (Django's own ``SELECT 1``)."""
    calls = []
    check = django_postgresql.DatabaseWrapper.is_usable

    def counted(self):
        calls.append(self)
        return check(self)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", counted)
    return calls


@contextmanager
def another_connection():
    wrapper = connections.create_connection("default")
    try:
        with wrapper.cursor() as cursor:
            yield cursor
    finally:
        wrapper.close()


def wait_for_the_server(wrapper) -> None:
    """Until the server's message reaches the socket (at most 10 s): it acts on a signal, asynchronously."""
    waiting, _, _ = select.select([wrapper.connection.fileno()], [], [], 10)
    assert waiting


def pid_of(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_backend_in_use_is_ours():
    assert connections["default"].__class__.__module__ == "core.postgresql.base"


def test_a_quiet_connection_is_usable_without_a_round_trip(own_connection, round_trips):
    pid_of(own_connection)
    assert own_connection.is_usable() is True
    assert round_trips == []


def test_a_connection_the_server_ended_is_not_usable(own_connection, round_trips):
    pid = pid_of(own_connection)
    with another_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_for_the_server(own_connection)
    assert own_connection.is_usable() is False


def test_something_waiting_on_the_socket_is_checked_by_a_round_trip(own_connection, round_trips):
    with own_connection.cursor() as cursor:
        cursor.execute("LISTEN health_check_test")
    with another_connection() as other:
        other.execute("NOTIFY health_check_test")
    wait_for_the_server(own_connection)  # the notification waits on the socket until read
    assert own_connection.is_usable() is True
    assert round_trips == [own_connection]
