"""In a real Chromium: a marketer uploads a CSV, maps its columns and watches the import finish."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from core.roles import ROLES
from leads.csv_import import run_import
from leads.models import Lead
from leads.tasks import import_csv_task
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CSV = "E-mail,Given name,Organisation,Employees\n" + "".join(
    f"buyer{i}@example.com,Buyer{i},Firm {i},{'many' if i == 3 else 10 + i}\n" for i in range(40)
)


@pytest.fixture(autouse=True)
def roles(transactional_db):
    for name in ROLES:
        Group.objects.get_or_create(name=name)


@pytest.fixture
def worker(monkeypatch):
    """Stands in for the Celery worker: runs the queued import a moment later, in another thread."""
    threads: list[threading.Thread] = []

    def run_later(job_id: int) -> None:
        time.sleep(1.5)  # long enough for the page to show the import running
        try:
            run_import(job_id=job_id)
        finally:
            connection.close()

    def apply_async(args=(), kwargs=None, **options):
        thread = threading.Thread(target=run_later, args=args)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(import_csv_task, "apply_async", apply_async)
    yield
    for thread in threads:
        thread.join(timeout=30)


def test_marketer_imports_a_csv_and_watches_the_progress(page, login, marketer, worker, tmp_path):
    upload = tmp_path / "webinar-signups.csv"
    upload.write_text(CSV)
    login(marketer)
    page.goto("/import/")
    page.set_input_files("#id_file", str(upload))
    page.click("text=Upload and map columns")
    page.wait_for_selector("text=Map the columns")
    # The header names were recognised; the user only confirms.
    assert page.locator("#id_col_0").input_value() == "email"
    assert page.locator("#id_col_1").input_value() == "first_name"
    assert page.locator("#id_col_2").input_value() == "company"
    assert page.locator("#id_col_3").input_value() == "company_size"
    screenshot(page, "import-mapping")

    page.click("text=Import 40 rows")
    page.wait_for_selector("text=Importing…")
    # htmx polls the progress panel until the worker is done, without reloading the page.
    page.wait_for_selector("text=Import finished", timeout=20_000)
    assert "40 of 40 rows" in page.locator("#import-count").inner_text()
    facts = " ".join(page.locator(".import-facts").inner_text().split())
    assert facts == "Status Done New leads 39 Updated leads 0 Rows with errors 1 Rows with warnings 0"
    # The rows not imported are listed on the page too: line, e-mail, field and reason.
    error_row = " ".join(page.locator(".lead-import-errors tbody tr").first.inner_text().split())
    assert error_row.startswith("5 buyer3@example.com Company size")
    screenshot(page, "import-finished")

    with page.expect_download() as download:
        page.click("text=Download the error report")
    report = download.value.path().read_text(encoding="utf-8-sig")
    assert "5,buyer3@example.com,company_size," in report
    assert Lead.objects.count() == 39
