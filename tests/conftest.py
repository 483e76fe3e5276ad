"""The named cast for permission tests, and clients that act as them."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.test.testcases import QuietWSGIRequestHandler
from rest_framework.test import APIClient

from core.tokens import issue_token
from tests.factories import UserFactory

# PBKDF2 is slow by design; the suite creates hundreds of users, so tests hash with MD5.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# TRICKY: the live server writes a response's headers and body in separate sends; with Nagle's algorithm on,
# the body waits for the client's delayed ACK, so every request after the first on a kept-alive connection
# took ~45 ms instead of ~5 ms (schemathesis and the browser tests spent most of their time waiting).
QuietWSGIRequestHandler.disable_nagle_algorithm = True

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
ON_REDIS = bool(os.environ.get("REDIS_URL"))

NEEDS_POSTGRES = "needs PostgreSQL: set DATABASE_URL=postgres://…"
NEEDS_REDIS = "needs Redis: set REDIS_URL=redis://…"
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason=NEEDS_POSTGRES)
needs_redis = pytest.mark.skipif(not ON_REDIS, reason=NEEDS_REDIS)


@pytest.fixture
def marketer(db):
    return UserFactory(username="marketer", first_name="Mia", last_name="Marketer", roles=["marketing"])


@pytest.fixture
def rep(db):
    return UserFactory(username="rep", first_name="Sam", last_name="Seller", roles=["sales"])


@pytest.fixture
def other_rep(db):
    return UserFactory(username="other_rep", first_name="Olli", last_name="Other", roles=["sales"])


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", first_name="Max", last_name="Manager", roles=["managers"])


@pytest.fixture
def nobody(db):
    """Signed in, but in no team."""
    return UserFactory(username="nobody")


def client_for(user=None, *, scopes: list[str] | None = None) -> APIClient:
    client = APIClient()
    if user is not None and scopes is not None:
        secret = issue_token(user=user, name="test", scopes=scopes).secret
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    elif user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def ingest_client(marketer) -> APIClient:
    """An API client with an ingest-only token."""
    return client_for(marketer, scopes=["ingest"])


@pytest.fixture
def full_client(marketer) -> APIClient:
    return client_for(marketer, scopes=["ingest", "read", "write"])


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def allowed_skip_reasons() -> set[str]:
    """The skips CI accepts: a test that needs a service this run does not have (the SQLite leg)."""
    return {
        reason
        for reason, absent in ((NEEDS_POSTGRES, not ON_POSTGRES), (NEEDS_REDIS, not ON_REDIS))
        if absent
    }


def skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


_skips: list[tuple[str, str]] = []  # (node id, reason) of each skipped test this session


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        _skips.append((report.nodeid, skip_reason(report)))


def pytest_sessionfinish(session, exitstatus):
    """In CI every test must run, except those that need PostgreSQL or Redis on a run without them.

    Any other skip (a missing browser, a skip written into a test, needs_postgres while PostgreSQL is
    there) means a test did not run where it should have, so the run fails.
    """
    if os.environ.get("CI") != "true":
        return
    allowed = allowed_skip_reasons()
    refused = [f"{nodeid}: {reason}" for nodeid, reason in _skips if reason not in allowed]
    if refused and session.exitstatus == 0:
        session.exitstatus = 1
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write("\n")
            reporter.write_line(f"CI: {len(refused)} test(s) skipped that must run here:", red=True)
            for skip in refused:
                reporter.write_line(f"  {skip}", red=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached tokens and throttle counters never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(marker is not None and marker.kwargs.get("transaction")) or (
        "live_server" in getattr(item, "fixturenames", ())
    )


def pytest_collection_modifyitems(config, items):
    """Transactional tests (threads, live server, real workers) run last, as Django's own runner orders them:
    they empty every table when they end, so a test after one would miss the rows our migrations seed."""
    items.sort(key=_is_transactional)


# The data migrations that seed reference rows; each is idempotent.
REFERENCE_SEEDS = [
    ("core.migrations.0002_roles", "create_roles"),
    ("funnel.migrations.0002_seed_stages_and_reasons", "seed"),
    ("leads.migrations.0004_default_scoring_model", "create_default_model"),
    ("leads.migrations.0014_lost_reasons", "seed_lost_reasons"),
]


@pytest.fixture(autouse=True)
def _reference_rows(request):
    """A transactional test starts from tables the previous one emptied: put the seeded rows back.

    (Serialized rollback cannot do it here: once Playwright runs an event loop in the test thread, Django
    hands out a fresh connection object that no longer carries the serialized data.)
    """
    if not _is_transactional(request.node):
        return
    request.getfixturevalue("transactional_db")
    seed_reference_rows()


def seed_reference_rows() -> None:
    """Roles, stages, reject reasons and the default scoring model, as the data migrations seed them."""
    import importlib

    from django.apps import apps

    for module, function in REFERENCE_SEEDS:
        getattr(importlib.import_module(module), function)(_CurrentApps(apps), None)


class _CurrentApps:
    """The seeding migrations ask for models by the app that owned them then; answer with today's."""

    MOVED = {
        ("funnel", "stage"): "leads",
        ("funnel", "rejectreason"): "leads",
        ("leads", "scoringmodel"): "scoring",
    }

    def __init__(self, apps):
        self.apps = apps

    def get_model(self, app_label: str, model_name: str):
        return self.apps.get_model(self.MOVED.get((app_label, model_name.lower()), app_label), model_name)
