"""CSV import at /import/: upload, mapping, a batched import task, progress and the error report."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import AppError
from core.models import AuditEvent
from core.pages import error_text
from leads import csv_import
from leads.csv_import import run_import
from leads.models import CsvImport, Lead
from leads.tasks import import_csv_task, resume_stalled_imports_task
from tests.factories import LeadFactory, PersonaFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD = (
    "Email,First Name,Last Name,Company,Employees,Persona,Notes\n"
    "ada@example.com,Ada,Lovelace,Engines Ltd,120,ops,likes maths\n"
    "grace@example.com,Grace,Hopper,Navy Labs,,,\n"
)


@pytest.fixture
def queued(monkeypatch):
    """The import tasks sent to the broker (none really are)."""
    sent: list[tuple] = []
    monkeypatch.setattr(
        import_csv_task, "apply_async", lambda args=(), kwargs=None, **options: sent.append(args)
    )
    return sent


def upload(client, text: str | bytes, name: str = "leads.csv"):
    raw = text.encode() if isinstance(text, str) else text
    return client.post("/import/", {"file": SimpleUploadedFile(name, raw, content_type="text/csv")})


def signed_in(client, user):
    client.force_login(user)
    return client


def csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(body)))


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/import/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/import/"


@pytest.mark.parametrize("who", ["rep", "nobody"])
def test_sales_and_users_in_no_team_cannot_import(client, request, who):
    client = signed_in(client, request.getfixturevalue(who))
    assert client.get("/import/").status_code == 403
    assert upload(client, GOOD).status_code == 403
    assert not CsvImport.objects.exists()


@pytest.mark.parametrize("who", ["marketer", "manager"])
def test_marketing_and_managers_see_the_import_page_in_their_navigation(client, request, who):
    response = signed_in(client, request.getfixturevalue(who)).get("/import/")
    assert response.status_code == 200
    assert 'href="/import/" aria-current="page"' in response.content.decode()


def test_an_upload_is_stored_with_a_guessed_mapping_and_shows_the_mapping_form(client, marketer):
    response = upload(signed_in(client, marketer), GOOD)
    job = CsvImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/import/{job.pk}/"
    assert job.headers == ["Email", "First Name", "Last Name", "Company", "Employees", "Persona", "Notes"]
    assert job.mapping == {
        "0": "email",
        "1": "first_name",
        "2": "last_name",
        "3": "company",
        "4": "company_size",
        "5": "persona",
    }
    assert (job.total_rows, job.status, job.created_by) == (2, "mapping", marketer)
    page = client.get(f"/import/{job.pk}/").content.decode()
    assert "Map the columns" in page
    assert "Engines Ltd" in page
    assert '<option value="company_size" selected>' in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The submitted file is empty."),
        (",,\nx,y\n", "The first line must name the columns."),
        ("email\n", "has a header but no rows"),
        (b"\x89PNG\x00\x00binary", "not a CSV text file"),
        ("c," * 150 + "\nx\n", "more than 100 columns"),
    ],
)
def test_files_that_cannot_be_imported_are_refused_with_a_reason(client, marketer, content, message):
    response = upload(signed_in(client, marketer), content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CsvImport.objects.exists()


def test_confirming_the_mapping_queues_the_import_after_commit(
    client, marketer, queued, django_capture_on_commit_callbacks
):
    upload(signed_in(client, marketer), GOOD)
    job = CsvImport.objects.get()
    form = {f"col_{i}": field for i, field in job.mapping.items()}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/import/{job.pk}/", form)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "queued"
    assert queued == [(job.pk,)]
    assert AuditEvent.objects.filter(action="lead.import_started", object_id=str(job.pk)).count() == 1
    assert "Importing…" in client.get(f"/import/{job.pk}/").content.decode()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"col_0": "", "col_1": "first_name"}, "Map one column to E-mail"),
        ({"col_0": "email", "col_1": "company", "col_3": "company"}, "one column only: company"),
        ({"col_0": "email", "col_1": "password"}, "not one of the available choices"),
    ],
)
def test_a_bad_mapping_is_refused_and_nothing_is_queued(client, marketer, queued, form, message):
    upload(signed_in(client, marketer), GOOD)
    job = CsvImport.objects.get()
    response = client.post(f"/import/{job.pk}/", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    job.refresh_from_db()
    assert job.status == "mapping"
    assert queued == []


def test_a_mapping_confirmed_twice_at_once_starts_one_import_and_tells_the_second(
    client, marketer, queued, monkeypatch, django_capture_on_commit_callbacks
):
    upload(signed_in(client, marketer), GOOD)
    job = CsvImport.objects.get()

    def overtaken(**kwargs):
        # Another request confirms the mapping between this page's read of the job and its own confirm.
        csv_import.confirm_mapping(**kwargs)
        return csv_import.confirm_mapping(**kwargs)

    monkeypatch.setattr("leads.import_views.confirm_mapping", overtaken)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/import/{job.pk}/", {"col_0": "email"}, follow=True)
    assert response.redirect_chain == [(f"/import/{job.pk}/", 302)]
    assert "This import has already started." in response.content.decode()
    assert queued == [(job.pk,)]


def test_a_mapping_problem_is_an_application_error_pages_can_show():
    with pytest.raises(AppError) as exc:
        csv_import.confirm_mapping(job=CsvImport(headers=["Name"]), mapping={"0": "first_name"}, actor=None)
    assert isinstance(exc.value, csv_import.MappingError)
    assert error_text(exc.value) == "Map one column to E-mail: leads are matched by e-mail."


def make_job(user, text: str, mapping: dict[str, str] | None = None, **fields) -> CsvImport:
    job = csv_import.start_import(user=user, file_name="t.csv", raw=text.encode())
    CsvImport.objects.filter(pk=job.pk).update(
        mapping=mapping if mapping is not None else job.mapping, **{"status": "queued", **fields}
    )
    return job


def test_the_task_imports_every_row_in_batches_and_counts_the_outcome(
    marketer, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(csv_import, "BATCH_SIZE", 1000)
    LeadFactory(email="lead7@example.com", company="Old Co")
    lines = "".join(f"lead{i}@example.com,First{i},Co {i}\n" for i in range(2500))
    job = make_job(marketer, "email,first_name,company\n" + lines)
    # a handful of statements per batch of 1000, never one per row (with three per batch for duplicates:
    # the alias look-up, reading the fields of the match keys, writing the keys)
    with django_assert_max_num_queries(50):
        import_csv_task(job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.updated_count) == ("done", 2500, 2499, 1)
    assert Lead.objects.count() == 2500
    assert Lead.objects.get(email="lead7@example.com").company == "Co 7"


def test_empty_cells_leave_a_known_leads_fields_as_they_are(marketer):
    LeadFactory(email="ada@example.com", company="Engines Ltd", job_title="Analyst")
    job = make_job(marketer, "email,company,job_title\nADA@example.com,,Countess\n")
    run_import(job_id=job.pk)
    lead = Lead.objects.get(email="ada@example.com")
    assert (lead.company, lead.job_title) == ("Engines Ltd", "Countess")


def test_bad_rows_are_reported_by_line_and_good_rows_still_import(client, marketer):
    PersonaFactory(slug="ops")
    text = (
        "email,company_size,persona,company\n"
        "good@example.com,10,ops,Fine\n"
        "not-an-email,5,,=cmd()\n"
        "\n"
        "size@example.com,-3,,\n"
        "who@example.com,,nobody-knows,\n"
    )
    job = make_job(marketer, text)
    run_import(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.error_count) == ("done", 4, 1, 3)
    assert list(Lead.objects.values_list("email", flat=True)) == ["good@example.com"]
    response = signed_in(client, marketer).get(f"/import/{job.pk}/errors.csv")
    rows = csv_rows(response)
    assert [(row["line"], row["email"], row["field"]) for row in rows] == [
        ("3", "not-an-email", "email"),
        ("5", "size@example.com", "company_size"),
        ("6", "who@example.com", "persona"),
    ]
    page = client.get(f"/import/{job.pk}/").content.decode()
    assert "Download the error report" in page


def test_a_cell_that_looks_like_a_formula_is_escaped_in_the_error_report(client, marketer):
    job = make_job(marketer, "email\n=HYPERLINK()\n")
    run_import(job_id=job.pk)
    rows = csv_rows(signed_in(client, marketer).get(f"/import/{job.pk}/errors.csv"))
    assert rows[0]["email"] == "'=HYPERLINK()"


def test_an_import_interrupted_after_a_batch_resumes_where_it_stopped(marketer, monkeypatch):
    lines = "".join(f"r{i}@example.com\n" for i in range(5))
    job = make_job(marketer, "email\n" + lines, status="running", processed_rows=3)
    run_import(job_id=job.pk)
    job.refresh_from_db()
    assert (job.processed_rows, job.created_count) == (5, 2)
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["r3@example.com", "r4@example.com"]


def test_a_finished_import_is_not_run_twice(marketer):
    job = make_job(marketer, "email\na@example.com\n")
    run_import(job_id=job.pk)
    Lead.objects.all().delete()
    assert run_import(job_id=job.pk) is None
    assert not Lead.objects.exists()


def test_a_file_with_semicolons_and_windows_encoding_imports(marketer):
    raw = "E-mail;Company\nzoe@example.com;Café Müller\n".encode("cp1252")
    job = csv_import.start_import(user=marketer, file_name="excel.csv", raw=raw)
    assert job.mapping == {"0": "email", "1": "company"}
    CsvImport.objects.filter(pk=job.pk).update(status="queued")
    run_import(job_id=job.pk)
    assert Lead.objects.get().company == "Café Müller"


def test_progress_is_polled_while_the_import_runs_and_stops_when_done(client, marketer):
    job = make_job(marketer, "email\na@example.com\n")
    client = signed_in(client, marketer)
    running = client.get(f"/import/{job.pk}/progress/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in running
    assert '<progress id="import-bar" max="1" value="0"' in running
    run_import(job_id=job.pk)
    done = client.get(f"/import/{job.pk}/progress/", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done
    assert "Import finished" in done
    assert 'value="1"' in done


def test_a_marketer_sees_only_their_own_imports_and_a_manager_sees_all(client, marketer, manager):
    other = UserFactory(username="other_marketer", roles=["marketing"])
    job = make_job(other, "email\na@example.com\n")
    client = signed_in(client, marketer)
    for path in (f"/import/{job.pk}/", f"/import/{job.pk}/progress/", f"/import/{job.pk}/errors.csv"):
        assert client.get(path).status_code == 404
    assert b"t.csv" not in client.get("/import/").content
    client.logout()
    client = signed_in(client, manager)
    assert client.get(f"/import/{job.pk}/").status_code == 200
    assert b"t.csv" in client.get("/import/").content


def test_a_second_run_that_falls_behind_stops_instead_of_counting_twice(marketer, monkeypatch):
    monkeypatch.setattr(csv_import, "BATCH_SIZE", 2)
    job = make_job(marketer, "email\n" + "".join(f"r{i}@example.com\n" for i in range(4)))
    real_batch = csv_import._import_batch
    calls = []

    def racing_batch(job, batch, *, start):
        if not calls:  # another worker commits the first batch just before this one
            CsvImport.objects.filter(pk=job.pk).update(processed_rows=2)
        calls.append(start)
        real_batch(job, batch, start=start)

    monkeypatch.setattr(csv_import, "_import_batch", racing_batch)
    assert run_import(job_id=job.pk) is None
    job.refresh_from_db()
    assert (job.processed_rows, job.created_count, job.status) == (2, 0, "running")
    assert calls == [0]


def test_the_sweep_queues_again_only_imports_that_stalled(marketer, queued):
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        stalled = make_job(marketer, "email\na@example.com\n")
        CsvImport.objects.filter(pk=stalled.pk).update(
            progress_at=dt.datetime(2026, 11, 1, 8, 45, tzinfo=dt.UTC)
        )
        fresh = make_job(marketer, "email\nb@example.com\n", status="running")
        CsvImport.objects.filter(pk=fresh.pk).update(
            progress_at=dt.datetime(2026, 11, 1, 8, 55, tzinfo=dt.UTC)
        )
        done = make_job(marketer, "email\nc@example.com\n", status="done")
        CsvImport.objects.filter(pk=done.pk).update(progress_at=dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.UTC))
        assert resume_stalled_imports_task() == 1
    assert queued == [(stalled.pk,)]


def test_the_page_lists_errors_by_line_field_and_reason_and_caps_the_table(client, marketer, monkeypatch):
    monkeypatch.setattr("leads.import_views.SHOWN_LINES", 2)
    text = "email,company_size\nok@example.com,10\nnot-an-email,5\nsize@example.com,-3\nbig@example.com,0\n"
    job = make_job(marketer, text)
    run_import(job_id=job.pk)
    response = signed_in(client, marketer).get(f"/import/{job.pk}/")
    lines = response.context["error_lines"]
    assert [(line["row"], line["email"], line["field"]) for line in lines] == [
        (3, "not-an-email", "E-mail"),
        (4, "size@example.com", "Company size"),
    ]
    body = response.content.decode()
    assert "Rows not imported" in body
    assert "<td>Company size</td><td>Input should be greater than or equal to 1.</td>" in body
    assert "The first 2 errors are shown" in body


def test_unknown_choice_values_import_as_other_with_a_warning(client, marketer):
    text = (
        "email,source,seniority\n"
        "a@example.com,content,VP\n"
        "b@example.com,Paid Search,c-level\n"
        "c@example.com,webinar,\n"
    )
    job = make_job(marketer, text)
    run_import(job_id=job.pk)
    job.refresh_from_db()
    assert (job.created_count, job.error_count, job.warning_count) == (3, 0, 1)
    leads = dict(Lead.objects.values_list("email", "source"))
    assert leads == {"a@example.com": "other", "b@example.com": "paid_search", "c@example.com": "webinar"}
    assert Lead.objects.get(email="a@example.com").seniority == "vp"
    assert Lead.objects.get(email="b@example.com").seniority == "c_level"
    body = signed_in(client, marketer).get(f"/import/{job.pk}/").content.decode()
    assert "Rows with warnings</dt><dd>1</dd>" in body
    assert "Unknown source “content”, imported as Other." in body


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-Mail", "email"),
        ("E-Mail-Adresse", "email"),
        ("Emailadres", "email"),
        ("Bedrijf", "company"),
        ("Firma", "company"),
        ("Unternehmen", "company"),
        ("Functie", "job_title"),
        ("Berufsbezeichnung", "job_title"),
        ("Voornaam", "first_name"),
        ("Vorname", "first_name"),
        ("Achternaam", "last_name"),
        ("Nachname", "last_name"),
        ("Unternehmensgröße", "company_size"),
        ("Telefoonnummer", "phone"),
        ("Land", "country"),
        ("Quelle", "source"),
        ("Lead Source", "source"),
    ],
)
def test_header_synonyms_in_english_dutch_and_german_are_recognised(header, field):
    assert csv_import.guess_mapping(["Notes", header]) == {"1": field}
