"""The pipeline board (/pipeline/) in Chromium: a rep works a deal to Won with the card's buttons and the
dashboard's won amount follows; a marketer gets no buttons and a forged move is refused; the board on a phone.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alignment.periods import month_of
from alignment.snapshots import compute_snapshots
from leads.models import Lead, Transition
from tests.e2e.conftest import screenshot
from tests.factories import lead_in_stage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def deal(rep, other_rep):
    """The rep's lead waiting in SAL, with a few other cards around it so the board looks like a board."""
    lead = lead_in_stage(
        "sal", owner=rep, days_ago=2, first_name="Ada", last_name="Lovelace",
        company="Analytical Engines Ltd", email="ada@engines.example", score=82, grade="A",
    )  # fmt: skip
    lead_in_stage(
        "sal", owner=rep, days_ago=5, first_name="Grace", last_name="Hopper", company="Compilers Inc"
    )
    lead_in_stage(
        "sql", owner=rep, days_ago=9, first_name="Alan", last_name="Turing", company="Bletchley Park"
    )
    lead_in_stage(
        "opportunity", owner=other_rep, amount="48000", days_ago=12, first_name="Katherine",
        last_name="Johnson-Goble", company="Trajectories and Orbital Mechanics International",
    )  # fmt: skip
    lead_in_stage("lost", owner=other_rep, amount=None, days_ago=4, first_name="Hedy", last_name="Lamarr")
    return lead


def card(page, lead: Lead):
    return page.locator(f"#card-{lead.pk}")


def picker(page, lead: Lead, stage: str):
    """The card's move to ``stage`` (a disclosure: its button opens the form)."""
    return card(page, lead).locator("details.move-picker", has=page.locator(f"summary:text-is('→ {stage}')"))


def right_edge(box) -> float:
    """Where an element's right edge is on the page (it must exist)."""
    assert box is not None
    return box["x"] + box["width"]


def move(page, lead: Lead, stage: str, *, amount: str | None = None, reason: str = "") -> None:
    """Open the card's move to ``stage``, fill it in and submit it; wait for the board to come back."""
    details = picker(page, lead, stage)
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    form = details.locator("form")
    expect(form).to_be_visible()
    if amount is not None:
        form.locator("input[name=amount]").fill(amount)
    if reason:
        form.locator("input[name=reason]").fill(reason)
    form.get_by_role("button", name=f"Move to {stage}").click()
    expect(page.locator(".message-success")).to_contain_text(f"moved to {stage}")


def won_tile(page) -> str:
    return page.locator('[data-testid="tile-won_amount"]').inner_text().strip()


def test_a_rep_works_their_deal_to_won_on_the_board_and_the_dashboard_counts_it(deal, rep, page, login):
    month = month_of(timezone.localdate())
    compute_snapshots(period=month)
    login(rep)
    page.goto(f"/?period={month.key}")
    assert won_tile(page) == "0"

    page.goto("/pipeline/")
    expect(page.locator(f"section.board-sal #card-{deal.pk}")).to_contain_text("Ada Lovelace")
    screenshot(page, "board-rep-desktop")

    move(page, deal, "SQL", reason="Budget confirmed")
    expect(page.locator(f"section.board-sql #card-{deal.pk}")).to_be_visible()
    move(page, deal, "Opportunity", amount="24000")
    expect(page.locator(f"section.board-opportunity #card-{deal.pk}")).to_contain_text("€ 24,000")

    # The amount given for the opportunity is offered again when the deal is won; the rep corrects it.
    won = picker(page, deal, "Won")
    won.locator("summary").click()
    assert Decimal(won.locator("input[name=amount]").input_value()) == Decimal(24000)
    move(page, deal, "Won", amount="25000")
    won_column = page.locator("section.board-won")
    expect(won_column.locator(f"#card-{deal.pk}")).to_contain_text("€ 25,000")
    expect(won_column.locator(".board-totals")).to_contain_text("€ 25,000")
    # A won deal is closed: only a manager may reopen it, so the rep has no buttons left on it.
    assert card(page, deal).locator(".card-moves").count() == 0
    screenshot(page, "board-rep-won")

    deal.refresh_from_db()
    assert deal.stage_id == "won"
    moves = list(Transition.objects.filter(lead=deal).order_by("at", "id").select_related("to_stage"))
    assert [(t.to_stage.slug, t.amount, t.actor) for t in moves[1:]] == [
        ("sql", None, rep),
        ("opportunity", Decimal("24000.00"), rep),
        ("won", Decimal("25000.00"), rep),
    ]
    assert moves[1].reason == "Budget confirmed"

    won_period = month_of(timezone.localdate(moves[-1].at))
    compute_snapshots(period=won_period)
    page.goto(f"/?period={won_period.key}")
    assert won_tile(page) == "25,000"


def test_a_marketer_sees_the_board_without_move_buttons_and_a_forged_move_is_refused(
    deal, marketer, page, login, live_server
):
    login(marketer)
    page.goto("/pipeline/")
    expect(card(page, deal)).to_contain_text("Ada Lovelace")
    assert page.locator("#board .card").count() == 5
    assert page.locator("#board .card-moves, #board details.move-picker, #board form").count() == 0
    screenshot(page, "board-marketer")

    # A move the page never offered: a form added to the page by hand, posted with the marketer's session
    # and CSRF token, as a crafty user could.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    with page.expect_navigation() as navigation:
        page.evaluate(
            """([action, token]) => {
                const form = Object.assign(document.createElement("form"), {method: "post", action});
                for (const [name, value] of [["stage", "sql"], ["csrfmiddlewaretoken", token]]) {
                    const input = Object.assign(document.createElement("input"), {name, value});
                    form.append(Object.assign(input, {type: "hidden"}));
                }
                document.body.append(form);
                form.submit();
            }""",
            [f"/pipeline/{deal.pk}/move/", csrf],
        )
    assert navigation.value.status == 403
    expect(page.locator('[data-testid="refusal"]')).to_have_text(
        "Only the lead's owner or a manager can move a lead in a sales stage."
    )
    screenshot(page, "board-marketer-forged-move")
    headers = {"X-CSRFToken": csrf, "Referer": f"{live_server.url}/pipeline/"}
    api = page.request.post(f"/api/v1/leads/{deal.pk}/move/", data={"stage": "sql"}, headers=headers)
    assert api.status == 403
    assert api.json()["status"] == 403

    deal.refresh_from_db()
    assert deal.stage_id == "sal"
    assert list(Transition.objects.filter(lead=deal).values_list("to_stage__slug", flat=True)) == ["sal"]


def test_the_board_fits_a_phone(deal, rep, browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", rep.username)
        page.fill("#id_password", "pw")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        page.goto("/pipeline/")

        def overflow() -> dict:
            return page.evaluate(
                "() => ({page: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
                " viewport: window.innerWidth})"
            )

        sizes = overflow()
        assert sizes["viewport"] == PHONE["width"]
        assert sizes["page"] <= PHONE["width"], sizes
        assert sizes["body"] <= PHONE["width"], sizes
        ada = card(page, deal)
        assert right_edge(ada.bounding_box()) <= PHONE["width"]
        assert ada.locator(".card-title a").evaluate("a => parseFloat(getComputedStyle(a).fontSize)") >= 14
        screenshot(page, "board-phone")

        # The move buttons are big enough to tap, and an opened move fits the screen.
        summary = ada.locator("summary", has_text="→ SQL")
        tap = summary.bounding_box()
        assert tap is not None
        assert tap["height"] >= 40, tap
        summary.click()
        reason = ada.locator("details[open] input[name=reason]")
        expect(reason).to_be_visible()
        assert right_edge(reason.bounding_box()) <= PHONE["width"]
        assert overflow()["page"] <= PHONE["width"]
        screenshot(page, "board-phone-move-open")
        reason.fill("Call booked")
        ada.get_by_role("button", name="Move to SQL").click()
        expect(page.locator(".message-success")).to_contain_text("moved to SQL")
        assert overflow()["page"] <= PHONE["width"]
    finally:
        context.close()
    deal.refresh_from_db()
    assert deal.stage_id == "sql"
