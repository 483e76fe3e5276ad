"""``manage.py import_leads``: the /import/ importer from the command line."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import CsvImport, Lead
from tests.factories import LeadFactory, PersonaFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ops_persona():
    return PersonaFactory(slug="ops")


GOOD = (
    "Email,First Name,Company,Employees,Persona\n"
    "ada@example.com,Ada,Engines Ltd,120,ops\n"
    "grace@example.com,Grace,Navy Labs,,\n"
)
WITH_ERRORS = GOOD + "not-an-address,Bad,,,\nlin@example.com,Lin,,many,\n"


def run(tmp_path, text: str, *args: str):
    path = tmp_path / "leads.csv"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_leads", str(path), "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_file_is_imported_with_the_guessed_mapping(tmp_path):
    out, err = run(tmp_path, GOOD)
    assert "2 rows: 2 created, 0 updated, 0 skipped (already there), 0 failed." in out
    ada = Lead.objects.get(email="ada@example.com")
    assert (ada.first_name, ada.company, ada.company_size, ada.persona.slug) == (
        "Ada",
        "Engines Ltd",
        120,
        "ops",
    )
    assert "'Employees' → company_size" in err
    job = CsvImport.objects.get()
    assert (job.status, job.created_count, job.created_by) == ("done", 2, None)


def test_existing_leads_are_updated_by_default(tmp_path):
    LeadFactory(email="ada@example.com", first_name="A.", job_title="Countess")
    out, _ = run(
        tmp_path, GOOD, "--update", "--mapping", json.dumps({"Email": "email", "First Name": "first_name"})
    )
    assert "1 created, 1 updated, 0 skipped" in out
    ada = Lead.objects.get(email="ada@example.com")
    assert (ada.first_name, ada.job_title, ada.company) == ("Ada", "Countess", "Acme")


def test_skip_existing_leaves_existing_leads_as_they_were(tmp_path):
    existing = LeadFactory(email="ADA@example.com", first_name="A.", company="Old Co")
    before = Lead.objects.filter(pk=existing.pk).values().get()
    out, _ = run(tmp_path, GOOD, "--skip-existing", "--mapping", '{"0": "email", "1": "first_name", "2": ""}')
    assert "1 created, 0 updated, 1 skipped" in out
    assert Lead.objects.filter(pk=existing.pk).values().get() == before
    assert Lead.objects.get(email="grace@example.com").first_name == "Grace"
    job = CsvImport.objects.get()
    assert (job.skip_existing, job.skipped_count, job.created_count) == (True, 1, 1)


def test_failed_rows_exit_non_zero_with_the_error_report_on_stderr(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(WITH_ERRORS)
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 rows failed") as raised:
        call_command("import_leads", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert raised.value.returncode == 1
    report = list(csv.reader(io.StringIO(err.getvalue()[err.getvalue().index("line,email") :])))
    assert report[0] == ["line", "email", "field", "message"]
    assert ["4", "not-an-address", "email", "Enter a valid e-mail address."] in report
    assert report[-1][:3] == ["5", "lin@example.com", "company_size"]
    assert Lead.objects.count() == 2, "good rows are imported anyway"


def test_the_error_report_can_go_to_a_file(tmp_path):
    report = tmp_path / "errors.csv"
    with pytest.raises(CommandError):
        run(tmp_path, WITH_ERRORS, "--errors", str(report))
    rows = list(csv.reader(report.open()))
    assert rows[0] == ["line", "email", "field", "message"]
    assert len(rows) == 3


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("", (), "The file is empty."),
        (GOOD, ("--mapping", "[1]"), "--mapping must be a JSON object"),
        (GOOD, ("--mapping", '{"Nope": "email"}'), "The file has no column 'Nope'."),
        (GOOD, ("--mapping", '{"First Name": "first_name"}'), "Map one column to E-mail"),
        (GOOD, ("--mapping", '{"Email": "email", "Company": "score"}'), "Unknown lead fields: score."),
    ],
)
def test_a_file_that_cannot_be_imported_exits_with_2(tmp_path, text, args, message):
    with pytest.raises(CommandError, match=message.replace("[", r"\[").replace(".", r"\.")) as raised:
        run(tmp_path, text, *args)
    assert raised.value.returncode == 2
    assert not Lead.objects.exists()


def test_update_and_skip_existing_exclude_each_other(tmp_path):
    with pytest.raises(CommandError):
        run(tmp_path, GOOD, "--update", "--skip-existing")


def test_the_progress_bar_goes_to_stderr(tmp_path, capsys):
    path = tmp_path / "leads.csv"
    path.write_text(GOOD)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_leads", str(path), stdout=out, stderr=err)
    assert "Importing" not in out.getvalue()
    assert "2 created" in out.getvalue()
    bar = capsys.readouterr().err
    assert "Importing" in bar
    assert "2/2" in bar
    assert Lead.objects.count() == 2
