"""A client generated from /api/schema/ by openapi-python-client builds without warnings and parses every
answer of a working session: upsert, batch, paging, read, change, and an error."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client

from core.tokens import issue_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PACKAGE = "alignment_contract_client"


@pytest.fixture
def wsgi_app():
    """The WSGI app, called in the test's own transaction: as Django's test client does, requests must not
    close the database connection when they end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def generated(tmp_path, monkeypatch):
    schema = tmp_path / "schema.json"
    schema.write_bytes(Client().get("/api/schema/", {"format": "json"}).content)
    bin_dir = str(Path(sys.executable).parent)  # the generator formats its output with ruff from here
    result = subprocess.run(  # noqa: S603 (our own interpreter, arguments we build)
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            f"--path={schema}",
            f"--output-path={tmp_path / PACKAGE}",
            "--meta=none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    assert "error" not in output.lower(), output
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module(PACKAGE)
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def test_a_generated_client_upserts_batches_pages_reads_changes_and_reads_an_error(generated, wsgi_app):
    from_package = generated.__name__
    api = importlib.import_module(f"{from_package}.api.v1")
    models = importlib.import_module(f"{from_package}.models")

    def op(name):
        return importlib.import_module(f"{api.__name__}.{name}")

    user = UserFactory(username="client-user", roles=["marketing"])
    token = issue_token(user=user, name="client", scopes=["ingest", "read", "write"]).secret
    client = generated.AuthenticatedClient(
        base_url="http://testserver",
        token=token,
        raise_on_unexpected_status=True,
        httpx_args={"transport": httpx.WSGITransport(app=wsgi_app)},
    )

    body = models.LeadInRequest(email="Ann@Example.com", first_name="Ann", seniority=models.SeniorityEnum.VP)
    created = op("v1_leads_create").sync_detailed(client=client, body=body)
    assert created.status_code == 201
    assert isinstance(created.parsed, models.LeadDetail)
    assert created.parsed.email == "ann@example.com"
    assert created.parsed.seniority == models.SeniorityEnum.VP
    again = op("v1_leads_create").sync_detailed(
        client=client, body=models.LeadInRequest(email="ann@example.com", company="Acme")
    )
    assert again.status_code == 200
    assert again.parsed.id == created.parsed.id
    assert again.parsed.first_name == "Ann"  # a field left out stays

    leads = [models.LeadInRequest(email=f"batch{i}@example.com") for i in range(24)]
    leads.append(models.LeadInRequest(email="not an e-mail"))
    batch = op("v1_leads_batch_create").sync(client=client, body=models.LeadBatchInRequest(leads=leads))
    assert isinstance(batch, models.BatchResult)
    assert (batch.created, batch.updated, batch.errors) == (24, 0, 1)
    assert batch.results[-1].status == models.ItemResultStatusEnum.ERROR

    seen, cursor = [], None
    while True:
        kwargs = {"page_size": 7, "ordering": models.V1LeadsListOrdering.SCORE}
        page = op("v1_leads_list").sync(client=client, **kwargs, **({"cursor": cursor} if cursor else {}))
        assert isinstance(page, models.PaginatedLeadList)
        assert all(isinstance(lead, models.Lead) for lead in page.results)
        seen += [lead.id for lead in page.results]
        if page.next_ is None:
            break
        cursor = httpx.URL(page.next_).params["cursor"]
    assert len(seen) == len(set(seen)) == 25
    blank = next(lead for lead in page.results if lead.email.startswith("batch"))
    assert (blank.source, blank.seniority, blank.persona, blank.owner) == (None, None, None, None)

    read = op("v1_leads_retrieve").sync(client=client, id=created.parsed.id)
    assert isinstance(read, models.LeadDetail)
    assert read.score_breakdown == [] or all(
        isinstance(line, models.ScoreLine) for line in read.score_breakdown
    )

    changed = op("v1_leads_partial_update").sync(
        client=client, id=created.parsed.id, body=models.PatchedLeadPatchRequest(job_title="CTO")
    )
    assert isinstance(changed, models.LeadDetail)
    assert (changed.job_title, changed.first_name, changed.company) == ("CTO", "Ann", "Acme")

    error = op("v1_leads_partial_update").sync_detailed(
        client=client, id=created.parsed.id, body=models.PatchedLeadPatchRequest(company_size=0)
    )
    assert error.status_code == 400
    assert isinstance(error.parsed, models.Problem)
    assert error.parsed.status == 400
    assert "company_size" in error.parsed.errors.additional_properties
