"""In a real Chromium: a manager registers a webhook endpoint, then merges a duplicate lead."""

from __future__ import annotations

import pytest

from leads.ingest import upsert_leads
from leads.models import Lead
from tests.conftest import seed_reference_rows
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    """The rows the migrations seed (roles, stages, reject reasons): a live-server test empties the tables."""
    seed_reference_rows()


def test_a_manager_registers_an_endpoint_and_merges_a_duplicate(page, login, manager, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    manager.set_password("pw")
    manager.save()
    login(manager)
    page.goto("/webhooks/")
    page.fill("#id_url", "http://127.0.0.1:9/hooks/crm")
    page.check("input[value='lead.created']")
    page.check("input[value='handoff.accepted']")
    page.click("text=Register endpoint")
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("whsec_")
    screenshot(page, "webhooks-created")
    page.click("table a:has-text('hooks/crm')")
    page.wait_for_url("**/webhooks/*/")
    upsert_leads(items=[{"email": "kim@acme.com"}])
    page.reload()
    assert page.locator("text=Send again").count() == 1
    screenshot(page, "webhook-log")

    upsert_leads(
        items=[
            {"email": "kim.park@acme.com", "first_name": "Kim", "last_name": "Park", "company": "Acme"},
            {
                "email": "kpark@gmail.com",
                "first_name": "Kim",
                "last_name": "Park",
                "company": "ACME Inc.",
                "job_title": "CTO",
                "phone": "+1 415 555 0100",
            },
        ]
    )
    page.goto("/leads/duplicates/")
    assert page.locator(".badge", has_text="Same name and company").count() == 1
    screenshot(page, "duplicates")
    page.locator("button:has-text('Keep first')").click()
    page.wait_for_url("**/leads/*/")
    assert Lead.objects.filter(email="kpark@gmail.com").count() == 0
    assert page.locator("text=Merged lead").count() >= 1
    screenshot(page, "merged-lead")
