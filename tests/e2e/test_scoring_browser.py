"""The scoring page in a real Chromium: the model in plain words, then a proposal approved by both teams."""

from __future__ import annotations

import pytest

from scoring.models import ScoringModel
from tests.e2e.conftest import screenshot
from tests.factories import LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def some_leads():
    for n in range(40):
        LeadFactory(
            score=(n * 7) % 110 - 5, grade="ABCD"[n % 4], stage=["inquiry", "mql", "sal", "sql", "won"][n % 5]
        )


def test_a_marketer_proposes_a_draft_and_a_rep_approves_it(page, login, marketer, rep, some_leads):
    login(marketer)
    page.goto("/scoring/")
    assert page.locator("#active-model").get_by_text("Director or above: +20").is_visible()
    assert page.locator("svg.histogram rect.seg").count() > 0
    assert page.locator("#calibration tbody tr").count() == 5
    screenshot(page, "scoring-page")

    page.locator("#propose summary").click()
    page.fill("#id_mql_threshold", "70")
    page.fill("#id_note", "Fewer, better MQLs")
    page.fill("#id_fit-0-points", "25")
    page.select_option("#id_fit-10-field", "industry")
    page.select_option("#id_fit-10-operator", "eq")
    page.fill("#id_fit-10-value", "software")
    page.fill("#id_fit-10-points", "5")
    page.fill("#id_fit-10-label", "Software company")
    page.get_by_role("button", name="Propose draft").click()
    page.wait_for_url("**/scoring/#draft-2")
    draft = page.locator("#draft-2")
    assert draft.get_by_text("MQL threshold").is_visible()
    assert draft.get_by_text("Director or above: +25").is_visible()
    assert draft.get_by_text("Software company: +5").is_visible()
    draft.get_by_role("button", name="Approve v2 for marketing").click()
    page.wait_for_url("**/scoring/#draft-2")
    assert page.get_by_text("You approved v2 for marketing").is_visible()
    screenshot(page, "scoring-draft-approved-by-marketing")

    page.context.clear_cookies()
    login(rep)
    page.goto("/scoring/#draft-2")
    page.locator("#draft-2").get_by_role("button", name="Approve v2 for sales").click()
    page.wait_for_url("**/scoring/#draft-2")
    assert page.get_by_text("v2 is now active").is_visible()
    assert page.locator("#active-title").inner_text() == "Active model: version 2"
    assert page.locator("#active-model").get_by_text("Director or above: +25").is_visible()
    screenshot(page, "scoring-v2-active")
    model = ScoringModel.objects.get(version=2)
    assert (model.status, model.mql_threshold, model.approved_by_marketing, model.approved_by_sales) == (
        "active",
        70,
        marketer,
        rep,
    )
