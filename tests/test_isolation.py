"""The per-worker isolation of the parallel suite (tests/isolation.py)."""

from __future__ import annotations

from tests.isolation import isolate, redis_url_for


def test_each_worker_counts_redis_databases_down_from_the_configured_one():
    assert redis_url_for("redis://127.0.0.1:6379/15", 0) == "redis://127.0.0.1:6379/15"
    assert redis_url_for("redis://127.0.0.1:6379/15", 1) == "redis://127.0.0.1:6379/14"
    assert redis_url_for("redis://:secret@cache:6380/0", 1) == "redis://:secret@cache:6380/15"
    assert redis_url_for("redis://127.0.0.1:6379", 2) == "redis://127.0.0.1:6379/14"


def test_a_worker_gets_its_own_broker_folder_and_keeps_sqlite_without_redis(tmp_path):
    environ = {"VAR_DIR": str(tmp_path)}
    isolate(environ, 1)
    assert environ == {"VAR_DIR": str(tmp_path / "test-gw1")}
    environ = {"VAR_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/15"}
    isolate(environ, 1)
    assert environ["REDIS_URL"] == "redis://127.0.0.1:6379/14"
