"""Pages of the CSV import: upload, column mapping, progress (polled with htmx) and the error report."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.csv_export import csv_response
from core.errors import Conflict
from core.pages import error_text, role_required, show_error
from core.roles import MANAGERS, MARKETING, is_manager
from leads.csv_import import (
    FIELD_CHOICES,
    IGNORE,
    ImportFileError,
    MappingError,
    confirm_mapping,
    error_lines,
    error_report_rows,
    sample_columns,
    start_import,
)
from leads.models import CsvImport, CsvImportStatus

RECENT_IMPORTS = 20
SAMPLE_ROWS = 3
# The error and warning tables on the page stop here; the download has every stored error.
SHOWN_LINES = 100


def _progress_context(job: CsvImport) -> dict[str, Any]:
    finished = not job.is_active
    return {
        "job": job,
        "error_lines": error_lines(job.errors, limit=SHOWN_LINES) if finished else [],
        "warning_lines": error_lines(job.warnings, key="warnings", limit=SHOWN_LINES) if finished else [],
        "shown_lines": SHOWN_LINES,
    }


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text="UTF-8 or Windows-1252; the first line names the columns."
    )


class MappingForm(forms.Form):
    def __init__(self, *args: Any, job: CsvImport, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(IGNORE, "— ignore this column —"), *FIELD_CHOICES]
        for index, header in enumerate(job.headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or f"Column {index + 1}",
                choices=choices,
                required=False,
                initial=job.mapping.get(str(index), IGNORE),
            )

    def mapping(self) -> dict[str, str]:
        return {name.removeprefix("col_"): value for name, value in self.cleaned_data.items()}


def _imports_for(user: Any) -> Any:
    jobs = CsvImport.objects.select_related("created_by").defer("content", "errors")
    return jobs if is_manager(user) else jobs.filter(created_by=user)


def _job_for(user: Any, import_id: int, *, with_content: bool = False) -> CsvImport:
    jobs = CsvImport.objects.select_related("created_by")
    if not with_content:
        jobs = jobs.defer("content")
    if not is_manager(user):
        jobs = jobs.filter(created_by=user)
    job = jobs.filter(pk=import_id).first()
    if job is None:
        raise Http404("No such import.")
    return job


@role_required(MARKETING, MANAGERS)
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = start_import(user=request.user, file_name=upload.name, raw=upload.read())
            except ImportFileError as exc:
                form.add_error("file", error_text(exc))
            else:
                return redirect("imports:detail", import_id=job.pk)
        status = 400
    context = {"form": form, "imports": _imports_for(request.user)[:RECENT_IMPORTS]}
    return render(request, "leads/import.html", context, status=status)


@role_required(MARKETING, MANAGERS)
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    job = _job_for(request.user, import_id, with_content=True)
    form = None
    status = 200
    if job.status == CsvImportStatus.MAPPING:
        form = MappingForm(request.POST or None, job=job)
        if request.method == "POST" and form.is_valid():
            try:
                confirm_mapping(job=job, mapping=form.mapping(), actor=request.user)
            except MappingError as exc:
                form.add_error(None, error_text(exc))
                status = 400
            except Conflict as exc:  # another request started it meanwhile
                show_error(request, exc)
                return redirect("imports:detail", import_id=job.pk)
            else:
                messages.success(request, f"Importing {job.total_rows} rows from “{job.file_name}”.")
                return redirect("imports:detail", import_id=job.pk)
        elif request.method == "POST":
            status = 400
    elif request.method == "POST":
        messages.info(request, "This import has already started.")
        return redirect("imports:detail", import_id=job.pk)
    columns = (
        list(zip(form, job.headers, sample_columns(job, rows=SAMPLE_ROWS), strict=True))
        if form is not None
        else []
    )
    context = {**_progress_context(job), "form": form, "columns": columns}
    return render(request, "leads/import_detail.html", context, status=status)


@role_required(MARKETING, MANAGERS)
@require_GET
def import_progress(request: HttpRequest, import_id: int) -> HttpResponse:
    """The progress panel alone: htmx polls it every two seconds while the import runs."""
    job = _job_for(request.user, import_id)
    return render(request, "leads/_import_progress.html", _progress_context(job))


@role_required(MARKETING, MANAGERS)
@require_GET
def import_errors(request: HttpRequest, import_id: int) -> HttpResponse:
    job = _job_for(request.user, import_id)
    return csv_response(
        f"import-{job.pk}-errors.csv", ["line", "email", "field", "message"], error_report_rows(job)
    )
