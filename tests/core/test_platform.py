from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import override_settings
from openapi_spec_validator import validate

from core.models import ApiToken, hash_token
from core.queue import enqueue
from core.tasks import purge_idempotency_keys_task
from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_naming_the_broker_when_it_is_down(client, settings):
    from celery import current_app

    original = current_app.conf.broker_url
    current_app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        current_app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "down"}


def test_queueing_with_the_broker_down_returns_false_quickly_instead_of_failing():
    from celery import Celery

    unreachable = Celery("down", broker="redis://127.0.0.1:1/0", set_as_current=False)
    unreachable.conf.broker_connection_timeout = 1

    @unreachable.task(name="tests.nothing")
    def nothing() -> None:
        pass

    started = time.monotonic()
    assert enqueue(nothing) is False
    assert time.monotonic() - started < 5


@pytest.mark.django_db
def test_leads_are_accepted_and_stored_while_the_broker_is_down(full_client, monkeypatch):
    from celery.app.task import Task
    from kombu.exceptions import OperationalError

    from leads.models import Lead

    def broker_down(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", broker_down)
    with_activity = {"email": "down@example.com", "first_name": "Dana"}
    response = full_client.post("/api/v1/leads/", with_activity, format="json")
    assert response.status_code == 201
    assert Lead.objects.filter(email="down@example.com").exists()


@pytest.mark.django_db
def test_create_api_token_prints_the_token_alone_on_its_last_line(marketer):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "--user", "marketer", "--scopes", "ingest,read", stdout=out, stderr=err)
    secret = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert token.key_hash == hash_token(secret)
    assert token.scopes == ["ingest", "read"]
    assert secret not in err.getvalue()


@pytest.mark.django_db
def test_create_api_token_refuses_unknown_scopes(marketer):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="unknown scopes: admin"):
        call_command("create_api_token", "--user", "marketer", "--scopes", "ingest,admin")
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_the_openapi_schema_generates_without_warnings_and_validates(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    validate(schema)
    paths = schema["paths"]
    assert {"/api/v1/leads/", "/api/v1/leads/batch/", "/api/v1/leads/{id}/"} <= set(paths)
    assert "bearerAuth" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_the_schema_and_the_docs_are_served_with_local_assets(client, marketer):
    client.force_login(marketer)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert "unpkg" not in html.lower()


@pytest.mark.django_db
def test_api_errors_outside_views_are_problem_json(full_client):
    response = full_client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_a_method_that_is_not_allowed_is_a_405(full_client):
    response = full_client.delete("/api/v1/leads/")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_pages_send_a_content_security_policy_without_inline_scripts(client, marketer):
    client.force_login(marketer)
    response = client.get("/leads/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_the_wsgi_application_imports_every_view_as_the_worker_boots(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "true", "VAR_DIR": str(tmp_path)}
    script = "import sys, alignment.wsgi; print('funnel.views' in sys.modules, 'leads.api' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603 (fixed arguments)
    assert result.stdout.split() == ["True", "True"], result.stderr


def test_production_settings_need_a_secret_key(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "alignment.settings",
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_without_debug_the_key_that_run_sh_keeps_in_var_is_used_and_the_environment_wins(tmp_path):
    (tmp_path / "secret_key").write_text("key-from-the-file-0123456789\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "alignment.settings",
        "VAR_DIR": str(tmp_path),
    }

    def secret_key() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from django.conf import settings as s; print(s.SECRET_KEY)",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )

    result = secret_key()
    assert (result.returncode, result.stdout.strip()) == (0, "key-from-the-file-0123456789"), result.stderr
    env["SECRET_KEY"] = "key-from-the-environment"
    assert secret_key().stdout.strip() == "key-from-the-environment"


@pytest.mark.django_db
def test_the_demo_token_is_kept_in_a_private_file_and_reused_until_revoked(tmp_path):
    token_file = tmp_path / "demo-token"
    out = io.StringIO()
    call_command("seed_demo", "--leads", "0", "--token-file", str(token_file), stdout=out)
    secret = token_file.read_text().strip()
    assert f"Demo API token (scopes ingest, read): {secret}" in out.getvalue()
    assert token_file.stat().st_mode & 0o777 == 0o600
    call_command("seed_demo", "--leads", "0", "--token-file", str(token_file), stdout=io.StringIO())
    assert token_file.read_text().strip() == secret
    assert ApiToken.objects.filter(name="demo token").count() == 1
    ApiToken.objects.filter(key_hash=hash_token(secret)).update(revoked_at="2026-01-01T00:00:00Z")
    call_command("seed_demo", "--leads", "0", "--token-file", str(token_file), stdout=io.StringIO())
    assert token_file.read_text().strip() != secret
    assert ApiToken.objects.filter(name="demo token", revoked_at=None).count() == 1


def test_a_bad_boolean_in_the_environment_fails_loudly(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from alignment.env import env_bool

    monkeypatch.setenv("DEBUG", "yes please")
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        env_bool("DEBUG", False)


def test_production_settings_pass_the_deploy_checks(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
        "ALLOWED_HOSTS": "alignment.example.com",
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_expired_idempotency_keys_are_purged(full_client, time_machine):
    from core.models import IdempotencyKey

    time_machine.move_to("2026-03-01T00:00:00Z")
    full_client.post("/api/v1/leads/", {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    time_machine.move_to("2026-03-02T00:00:01Z")
    assert purge_idempotency_keys_task() == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_an_unexpected_error_in_a_view_is_problem_json_and_releases_the_idempotency_key(
    marketer, monkeypatch
):
    from core.models import IdempotencyKey

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("leads.api.upsert_leads", boom)
    client = client_for(marketer, scopes=["ingest"])
    client.raise_request_exception = False
    response = client.post(
        "/api/v1/leads/", {"email": "a@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_healthz_answers_whatever_the_host_header(client, settings):
    """Container health checks call the server as ``localhost``, which production rightly refuses."""
    settings.ALLOWED_HOSTS = ["alignment.example.com"]
    response = client.get("/healthz", HTTP_HOST="localhost:8000")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert client.get("/accounts/login/", HTTP_HOST="localhost:8000").status_code == 400


def test_compose_builds_one_image_and_checks_the_health_of_web_worker_and_beat():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    app = ["migrate", "web", "worker", "bulk-worker", "beat"]
    assert [name for name in services if "build" in services[name]] == ["migrate"]
    assert len({services[name]["image"] for name in app}) == 1
    assert all("healthcheck" in services[name] for name in ["web", "worker", "bulk-worker", "beat"])
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


@pytest.mark.django_db(transaction=True)
def test_a_message_queued_on_commit_in_a_request_is_sent_once_the_response_has_gone_out(monkeypatch):
    import threading

    from django.core.signals import request_finished, request_started
    from django.db import transaction

    import core.queue

    sent, arrived = [], threading.Event()

    def fake_enqueue(task, *args, **kwargs):
        sent.append((task, args))
        if len(sent) == 2:
            arrived.set()

    monkeypatch.setattr(core.queue, "enqueue", fake_enqueue)
    request_started.send(sender=None)
    with transaction.atomic():
        core.queue.enqueue_on_commit("core.tasks.purge_idempotency_keys_task")
        core.queue.enqueue_ids_on_commit("scoring.tasks.score_leads_task", [2, 1, 2])
    assert sent == []  # committed, but the response has not been sent yet
    request_finished.send(sender=None)
    assert arrived.wait(timeout=10)  # sent by the publishing thread
    assert sent == [
        ("core.tasks.purge_idempotency_keys_task", ()),
        ("scoring.tasks.score_leads_task", ([1, 2],)),
    ]
    with transaction.atomic():  # outside a request: at once on commit
        core.queue.enqueue_ids_on_commit("scoring.tasks.score_leads_task", [3])
    assert sent[-1] == ("scoring.tasks.score_leads_task", ([3],))


def test_messages_of_a_task_taking_ids_are_merged_and_the_others_kept_in_order(monkeypatch):
    import core.queue
    from core.queue import Message, merged

    monkeypatch.setattr(core.queue, "IDS_PER_MESSAGE", 3)
    score = "scoring.tasks.score_leads_task"
    messages = [
        Message(task=score, args=([5, 1],), kwargs={}, merge_ids=True),
        Message(task="core.tasks.purge_idempotency_keys_task", args=(), kwargs={}),
        Message(task=score, args=([1, 2, 9, 7],), kwargs={}, merge_ids=True),
    ]
    assert [(m.task, m.args) for m in merged(messages)] == [
        ("core.tasks.purge_idempotency_keys_task", ()),
        (score, ([1, 2, 5],)),
        (score, ([7, 9],)),
    ]


def test_the_benchmarks_minimal_create_is_not_reachable_through_the_products_urls():
    from django.urls import Resolver404, resolve

    from bench.minimal_urls import PATH

    assert resolve(f"/{PATH}", urlconf="bench.minimal_urls").url_name is None  # mounted there only
    with pytest.raises(Resolver404):
        resolve(f"/{PATH}")


@pytest.mark.django_db
def test_healthz_is_not_redirected_to_https(client, settings):
    """The compose health check calls plain http://localhost:8000 on a deployment that redirects to https."""
    settings.ALLOWED_HOSTS = ["alignment.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="localhost:8000").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="alignment.example.com").status_code == 301


def test_tool_output_is_ignored_by_git():
    outputs = [
        ".schemathesis/report.json",
        ".hypothesis/examples/x",
        ".pytest_cache/x",
        ".mypy_cache/x",
        ".ruff_cache/x",
        ".import_linter_cache/x",
        "test-artifacts/page.png",
        "var/alignment.sqlite3",
        ".coverage",
        "htmlcov/index.html",
        ".env",
    ]
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        ["git", "check-ignore", "--no-index", *outputs],  # noqa: S607 (git from PATH, as in CI)
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sorted(result.stdout.split()) == sorted(outputs)


def test_the_image_is_built_without_local_state_or_secrets():
    """``COPY . .`` in the Dockerfile takes the whole folder: the local database, secret key, virtualenv and
    history stay out of the image."""
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git/", ".env", ".venv/", "var/", "test-artifacts/"} <= ignored
