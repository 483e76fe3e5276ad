"""CSV import of leads: upload, map columns to lead fields, import in batches through the upsert.

The upload is stored with its job (``CsvImport``); a Celery task imports it ``BATCH_SIZE`` rows at a time
through ``leads.ingest.upsert_leads`` (set-based, one transaction per batch), recording progress and the
rows that failed, so a page can poll the progress and offer the error report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from core.audit import record
from core.errors import AppError, Conflict, ValidationProblem
from core.inputs import is_whole_number
from core.maintenance_sql import analyze
from core.queue import enqueue, enqueue_on_commit
from leads.fields import IMPORTABLE_FIELDS, LEAD_FIELDS, Kind
from leads.ingest import upsert_leads
from leads.models import CsvImport, CsvImportStatus, Lead, LeadSearch, Transition

BATCH_SIZE = 1000
MAX_COLUMNS = 100
MAX_ROWS = 200_000
MAX_STORED_ERRORS = 10_000
# Batches commit every second or so; ten quiet minutes mean the task was lost or its worker died.
STALLED_AFTER = dt.timedelta(minutes=10)
IGNORE = ""
IMPORT_TASK = "leads.tasks.import_csv_task"

# Lead fields a CSV column may fill, with the labels the mapping form shows.
FIELD_CHOICES: list[tuple[str, str]] = [
    (field.name, f"{field.label} (slug)" if field.kind is Kind.SLUG else field.label)
    for field in IMPORTABLE_FIELDS
]
_FIELD_NAMES = {field.name for field in IMPORTABLE_FIELDS}
# Header spellings seen in exports from common tools, after normalising (lower case, letters and digits).
_ALIASES = {
    "emailaddress": "email",
    "mail": "email",
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "companyname": "company",
    "organisation": "company",
    "organization": "company",
    "account": "company",
    "title": "job_title",
    "jobtitle": "job_title",
    "position": "job_title",
    "decisionmaker": "is_decision_maker",
    "isdecisionmaker": "is_decision_maker",
    "employees": "company_size",
    "companysize": "company_size",
    "numberofemployees": "company_size",
    "countrycode": "country",
    "phonenumber": "phone",
    "telephone": "phone",
    "mobile": "phone",
    "utmsource": "utm_source",
    "utmmedium": "utm_medium",
    "utmcampaign": "utm_campaign",
    "externalid": "external_id",
    "crmid": "external_id",
    "id": "external_id",
    "leadsource": "source",
    "industrysector": "industry",
    "sector": "industry",
    # Dutch
    "emailadres": "email",
    "voornaam": "first_name",
    "achternaam": "last_name",
    "bedrijf": "company",
    "bedrijfsnaam": "company",
    "organisatie": "company",
    "functie": "job_title",
    "functietitel": "job_title",
    "besluitvormer": "is_decision_maker",
    "aantalmedewerkers": "company_size",
    "medewerkers": "company_size",
    "bedrijfsgrootte": "company_size",
    "branche": "industry",
    "land": "country",
    "telefoon": "phone",
    "telefoonnummer": "phone",
    "mobiel": "phone",
    "bron": "source",
    "toestemming": "consent",
    # German
    "emailadresse": "email",
    "vorname": "first_name",
    "nachname": "last_name",
    "familienname": "last_name",
    "firma": "company",
    "firmenname": "company",
    "unternehmen": "company",
    "berufsbezeichnung": "job_title",
    "stellenbezeichnung": "job_title",
    "entscheider": "is_decision_maker",
    "entscheidungstrager": "is_decision_maker",
    "mitarbeiter": "company_size",
    "mitarbeiterzahl": "company_size",
    "anzahlmitarbeiter": "company_size",
    "unternehmensgrosse": "company_size",
    "industrie": "industry",
    "telefon": "phone",
    "telefonnummer": "phone",
    "handy": "phone",
    "quelle": "source",
    "herkunft": "source",
    "einwilligung": "consent",
}
# Choice fields whose unknown values are imported as "other" with a warning, rather than refused.
_CHOICE_FIELDS = {
    field.name: field.choices
    for field in IMPORTABLE_FIELDS
    if field.kind is Kind.CHOICE and field.choices is not None and "other" in field.choices.values
}
OTHER = "other"


class ImportFileError(ValidationProblem):
    """The upload cannot be imported at all (not text, no header, too large…): a problem with ``file``."""

    def __init__(self, message: str) -> None:
        super().__init__({"file": [message]}, detail=message)


class MappingError(AppError):
    """The chosen column mapping cannot be used."""

    default_detail = "The column mapping cannot be used."


def decode_upload(raw: bytes) -> str:
    """Text of an uploaded file: UTF-8 (with or without BOM), else Windows-1252 as spreadsheets write it."""
    if b"\x00" in raw:
        raise ImportFileError("This is not a CSV text file.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            raise ImportFileError("The file is neither UTF-8 nor Windows-1252 text.") from None


def _reader(content: str) -> Iterator[list[str]]:
    try:
        dialect: Any = csv.Sniffer().sniff(content[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(content, newline=""), dialect)


def _normalise(header: str) -> str:
    """Lower case, accents and everything but letters and digits dropped: "E-Mail" → "email",
    "Unternehmensgröße" → "unternehmensgrosse"."""
    folded = unicodedata.normalize("NFKD", header.casefold())
    return re.sub(r"[^a-z0-9]", "", folded)


_CHOICE_LOOKUP = {
    name: {
        **{_normalise(label): value for value, label in choices.choices},
        **{_normalise(value): value for value in choices.values},
    }
    for name, choices in _CHOICE_FIELDS.items()
}


def coerce_choices(item: dict[str, str]) -> list[dict[str, str]]:
    """Read choice cells leniently, in place: "Paid Search" is ``paid_search``; an unknown value becomes
    ``other``, with a warning (returned) rather than the row refused."""
    warnings = []
    for name, lookup in _CHOICE_LOOKUP.items():
        raw = item.get(name)
        if raw is None:
            continue
        value = lookup.get(_normalise(raw))
        if value is None:
            value = OTHER
            label = LEAD_FIELDS[name].label
            warnings.append(
                {"field": name, "message": f"Unknown {label.lower()} “{raw[:100]}”, imported as Other."}
            )
        item[name] = value
    return warnings


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """A first mapping from the header names; each lead field is used at most once."""
    by_name = {_normalise(name.replace("_", "")): name for name in _FIELD_NAMES}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        key = _normalise(header)
        field = by_name.get(key) or _ALIASES.get(key)
        if field and field not in used:
            mapping[str(index)] = field
            used.add(field)
    return mapping


def start_import(*, user: Any, file_name: str, raw: bytes) -> CsvImport:
    """Store an upload and read its header; the import starts once the user confirms the mapping."""
    content = decode_upload(raw)
    rows = _reader(content)
    try:
        headers = next(rows)
        total = sum(1 for row in rows if any(cell.strip() for cell in row))
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}.") from None
    headers = [header.strip()[:100] for header in headers]
    if not any(headers):
        raise ImportFileError("The first line must name the columns.")
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(f"The file has more than {MAX_COLUMNS} columns.")
    if total == 0:
        raise ImportFileError("The file has a header but no rows.")
    if total > MAX_ROWS:
        raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows; split it.")
    return CsvImport.objects.create(
        created_by=user,
        file_name=file_name[:255] or "upload.csv",
        content=content,
        headers=headers,
        mapping=guess_mapping(headers),
        total_rows=total,
    )


def check_mapping(*, job: CsvImport, mapping: dict[str, str]) -> dict[str, str]:
    """The mapping without ignored columns if usable (e-mail mapped, no field twice); or ``MappingError``."""
    chosen = {str(index): field for index, field in mapping.items() if field != IGNORE}
    unknown = sorted(set(chosen.values()) - _FIELD_NAMES)
    if unknown:
        raise MappingError(f"Unknown lead fields: {', '.join(unknown)}.")
    if any(not is_whole_number(index) or int(index) >= len(job.headers) for index in chosen):
        raise MappingError("The mapping names a column the file does not have.")
    if "email" not in chosen.values():
        raise MappingError("Map one column to E-mail: leads are matched by e-mail.")
    fields = list(chosen.values())
    twice = sorted({field for field in fields if fields.count(field) > 1})
    if twice:
        raise MappingError(f"Each lead field can take one column only: {', '.join(twice)}.")
    return chosen


def confirm_mapping(
    *, job: CsvImport, mapping: dict[str, str], actor: Any, skip_existing: bool = False, queue: bool = True
) -> CsvImport:
    """Check the mapping and queue the import (``queue=False``: the caller runs ``run_import`` itself).

    ``skip_existing`` leaves the leads that already exist as they are instead of updating them.
    Raises ``MappingError`` for a mapping that cannot be used, ``Conflict`` if the import has already started.
    """
    chosen = check_mapping(job=job, mapping=mapping)
    with transaction.atomic():
        updated = CsvImport.objects.filter(pk=job.pk, status=CsvImportStatus.MAPPING).update(
            mapping=chosen,
            skip_existing=skip_existing,
            status=CsvImportStatus.QUEUED,
            progress_at=timezone.now(),
        )
        if updated != 1:
            raise Conflict("This import has already started.")
        record(actor=actor, action="lead.import_started", obj=job, data={"file": job.file_name})
        if queue:
            enqueue_on_commit(IMPORT_TASK, job.pk)
    job.refresh_from_db()
    return job


def _items(job: CsvImport) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, lead item) for each non-blank row; blank cells are left out so absent fields stay."""
    mapping = {int(index): field for index, field in job.mapping.items()}
    rows = _reader(job.content)
    next(rows, None)
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        item = {
            field: row[index].strip()
            for index, field in mapping.items()
            if index < len(row) and row[index].strip()
        }
        yield rows.line_num, item  # type: ignore[attr-defined]


def sample_columns(job: CsvImport, *, rows: int) -> list[list[str]]:
    """The first few values of each column, to help choose the mapping."""
    reader = _reader(job.content[:65536])
    next(reader, None)
    found: list[list[str]] = []
    for row in reader:
        if len(found) == rows:
            break
        if any(cell.strip() for cell in row):
            found.append(row)
    return [[row[i] if i < len(row) else "" for row in found] for i in range(len(job.headers))]


class _Overtaken(Exception):
    """Another run of the same import committed this batch first."""


def run_import(*, job_id: int, progress: Callable[[int], None] | None = None) -> CsvImport | None:
    """Import the rows not yet processed, one batch per transaction. Safe to run again after a crash.

    ``progress`` is called after each committed batch with the number of rows processed so far.

    A redelivered task may run while the first is still going; each batch checks, under a row lock on the
    job, that it starts where the committed progress ends, so only one run advances and none counts twice.
    """
    now = timezone.now()
    claimed = CsvImport.objects.filter(
        pk=job_id, status__in=[CsvImportStatus.QUEUED, CsvImportStatus.RUNNING]
    ).update(status=CsvImportStatus.RUNNING, started_at=now, progress_at=now)
    if claimed != 1:
        return None
    job = CsvImport.objects.get(pk=job_id)
    done = job.processed_rows
    batch: list[tuple[int, dict[str, str]]] = []
    position = 0
    try:
        for line, item in _items(job):
            position += 1
            if position <= done:
                continue
            batch.append((line, item))
            if len(batch) == BATCH_SIZE:
                _import_batch(job, batch, start=position - len(batch))
                batch = []
                if progress is not None:
                    progress(position)
        if batch:
            _import_batch(job, batch, start=position - len(batch))
            if progress is not None:
                progress(position)
    except _Overtaken:
        return None
    CsvImport.objects.filter(pk=job_id, status=CsvImportStatus.RUNNING).update(
        status=CsvImportStatus.DONE, finished_at=timezone.now()
    )
    # Thousands of new leads: the scoring and promotion that follow need statistics that know of them.
    analyze(models=[Lead, LeadSearch, Transition])
    job.refresh_from_db()
    return job


def _import_batch(job: CsvImport, batch: list[tuple[int, dict[str, str]]], *, start: int) -> None:
    with transaction.atomic():
        locked = (
            CsvImport.objects.select_for_update().only("processed_rows", "errors", "warnings").get(pk=job.pk)
        )
        if locked.processed_rows != start:
            raise _Overtaken
        skipped = _existing_rows(batch) if job.skip_existing else set()
        kept = [(line, item) for line, item in batch if line not in skipped]
        warned = [(line, item, coerce_choices(item)) for line, item in kept]
        result = upsert_leads(items=[item for _, item in kept])
        warnings = [
            {"row": line, "email": item.get("email", ""), "warnings": found}
            for (line, item, found), outcome in zip(warned, result.results, strict=True)
            if found and outcome.status != "error"
        ]
        failures = [
            {"row": line, "email": item.get("email", ""), "errors": outcome.errors}
            for (line, item), outcome in zip(kept, result.results, strict=True)
            if outcome.status == "error"
        ]
        room = MAX_STORED_ERRORS - len(locked.errors)
        CsvImport.objects.filter(pk=job.pk).update(
            processed_rows=F("processed_rows") + len(batch),
            created_count=F("created_count") + result.created,
            updated_count=F("updated_count") + result.updated,
            error_count=F("error_count") + result.errors,
            skipped_count=F("skipped_count") + len(skipped),
            errors=locked.errors + failures[: max(room, 0)],
            warning_count=F("warning_count") + len(warnings),
            warnings=locked.warnings + warnings[: max(MAX_STORED_ERRORS - len(locked.warnings), 0)],
            progress_at=timezone.now(),
        )


def _existing_rows(batch: list[tuple[int, dict[str, str]]]) -> set[int]:
    """The line numbers of rows whose e-mail (trimmed, lower-case, as the upsert matches it) has a lead."""
    emails = {item["email"].strip().lower() for _, item in batch if item.get("email")}
    known = set(
        Lead.objects.annotate(lower_email=Lower("email"))
        .filter(lower_email__in=emails)
        .values_list("lower_email", flat=True)
    )
    return {line for line, item in batch if item.get("email", "").strip().lower() in known}


def resume_stalled_imports(*, stalled_for: dt.timedelta = STALLED_AFTER) -> list[int]:
    """Queue again the imports that made no progress for a while (a lost message, a killed worker)."""
    cutoff = timezone.now() - stalled_for
    stalled = list(
        CsvImport.objects.filter(
            status__in=[CsvImportStatus.QUEUED, CsvImportStatus.RUNNING], progress_at__lt=cutoff
        ).values_list("pk", flat=True)[:100]
    )
    for job_id in stalled:
        enqueue(IMPORT_TASK, job_id)
    return stalled


def fail_import(*, job_id: int, reason: str) -> None:
    CsvImport.objects.filter(pk=job_id).exclude(status=CsvImportStatus.DONE).update(
        status=CsvImportStatus.FAILED, failure=reason[:500], finished_at=timezone.now()
    )


def error_lines(entries: list[dict[str, Any]], *, key: str = "errors", limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` (line, e-mail, field, message) of stored errors or warnings, for the page."""
    lines: list[dict[str, Any]] = []
    for entry in entries:
        found = entry.get(key) or {}
        pairs = (
            [(w.get("field", ""), w.get("message", "")) for w in found]
            if isinstance(found, list)
            else [(field, message) for field, messages in found.items() for message in messages]
        )
        for field, message in pairs:
            if len(lines) == limit:
                return lines
            label = LEAD_FIELDS[field].label if field in LEAD_FIELDS else field
            lines.append(
                {"row": entry.get("row"), "email": entry.get("email", ""), "field": label, "message": message}
            )
    return lines


def error_report_rows(job: CsvImport) -> Iterator[list[Any]]:
    """One line per field error: the file's line number, the e-mail, the field and the message."""
    for entry in job.errors:
        for field, messages in (entry.get("errors") or {}).items():
            for message in messages:
                yield [entry.get("row"), entry.get("email", ""), field, message]
