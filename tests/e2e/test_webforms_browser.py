"""In a real Chromium: a marketer defines a web form, pastes its snippet into a page on another site, and a
visitor's submission there becomes a lead with its activity; a bot filling the honeypot leaves nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from core.roles import ROLES
from leads import webforms_submit
from leads.models import Activity, Lead, WebForm
from leads.webforms_html import snippet
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roles(transactional_db):
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def other_site(tmp_path) -> Iterator[tuple[str, Path]]:
    """A plain static web server on another port: another origin than the app's live server."""
    root = tmp_path / "site"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def no_fill_time(monkeypatch):
    """The browser fills the form faster than a person could; let that through for the test."""
    monkeypatch.setattr(webforms_submit, "MIN_FILL_SECONDS", 0)


def embed(root: Path, snippet: str) -> None:
    (root / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Acme Robotics</title></head>"
        f"<body><h1>Acme Robotics</h1><p>Ask us for a demo.</p>{snippet}</body></html>"
    )


def test_a_pasted_snippet_on_another_site_brings_in_a_lead(page, login, marketer, other_site, no_fill_time):
    site_url, root = other_site
    login(marketer)
    page.goto("/forms/")
    page.click("text=New form")
    page.fill("#id_name", "Demo request")
    page.check("#id_ask_first_name")
    page.check("#id_required_first_name")
    page.fill("#id_label_first_name", "Your first name")
    page.check("#id_ask_company")
    page.fill("#id_consent_text", "You may contact me about a demo.")
    page.fill("#id_thank_you", "Thank you, we will call you within a day.")
    screenshot(page, "webforms-new")
    page.click("text=Create the form")
    page.wait_for_selector("#snippet")
    screenshot(page, "webforms-detail-empty")
    copied = page.input_value("#snippet")
    assert copied.startswith('<form method="post" action="http://')
    form = WebForm.objects.get()
    assert f"/f/{form.key}/" in copied

    embed(root, copied)
    page.goto(f"{site_url}/index.html")
    page.fill("input[name=email]", "visitor@example.org")
    page.fill("input[name=first_name]", "Vera")
    page.fill("input[name=company]", "Acme Robotics")
    page.check("input[name=consent]")
    screenshot(page, "webforms-embedded")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Thank you, we will call you within a day.")
    screenshot(page, "webforms-thanks")

    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company, lead.consent) == (
        "visitor@example.org",
        "Vera",
        "Acme Robotics",
        True,
    )
    assert list(Activity.objects.values_list("lead_id", "type", "metadata")) == [
        (lead.pk, "form_submit", {"form": form.key})
    ]

    page.goto(f"/forms/{form.pk}/")
    assert page.locator("text=1 lead sent this form").is_visible()
    screenshot(page, "webforms-detail")


def test_a_bot_filling_the_honeypot_stores_nothing(page, live_server, other_site, no_fill_time):
    site_url, root = other_site
    form = WebForm.objects.create(
        key="bot-test-key",
        name="Newsletter",
        fields=[{"name": "email", "required": True, "label": "E-mail"}],
        thank_you="Thanks!",
        honeypot_field="website",
    )
    embed(root, snippet(form, base_url=live_server.url))
    page.goto(f"{site_url}/index.html")
    page.fill("input[name=email]", "bot@example.org")
    page.eval_on_selector("input[name=website]", "input => { input.value = 'http://spam.example'; }")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Thanks!")
    assert not Lead.objects.exists()
    assert not Activity.objects.exists()


def test_the_hosted_page_looks_right_under_the_strict_csp(page):
    form = WebForm.objects.create(
        key="hosted-key",
        name="Webinar: pipeline reviews that work",
        fields=[
            {"name": "email", "required": True, "label": "Work e-mail"},
            {"name": "first_name", "required": True, "label": "First name"},
            {"name": "seniority", "required": False, "label": "Seniority"},
            {"name": "country", "required": False, "label": "Country"},
        ],
        consent_text="Send me the recording and related news.",
        thank_you="See you there!",
        honeypot_field="website",
    )
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)
    page.goto(f"/f/{form.key}/")
    box = page.locator("input[name=website]").bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 0, "the honeypot sits off-screen, placed by our stylesheet"
    assert page.locator("h1").inner_text() == "Webinar: pipeline reviews that work"
    screenshot(page, "webforms-hosted")
    assert violations == [], "no Content-Security-Policy violation"
