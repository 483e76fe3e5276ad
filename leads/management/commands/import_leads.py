"""``manage.py import_leads FILE``: the CSV import of /import/, from the command line, with a progress bar.

The file goes through the same importer (``leads.csv_import``): the same column guessing, the same upsert in
batches, the same error report. The exit code is 1 when rows failed, 2 when the file cannot be imported.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from core.errors import AppError
from leads.csv_import import IGNORE, confirm_mapping, error_report_rows, run_import, start_import
from leads.models import CsvImport

REPORT_HEADER = ["line", "email", "field", "message"]


class Command(BaseCommand):
    help = "Import leads from a CSV file (matched by e-mail), as the /import/ page does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file (UTF-8 or Windows-1252, a header line)")
        parser.add_argument(
            "--mapping",
            help="JSON object from column (its header, or its position from 0) to lead field, e.g. "
            '\'{"E-mail": "email", "Org": "company"}\'; "" ignores a column. Default: guessed.',
        )
        existing = parser.add_mutually_exclusive_group()
        existing.add_argument(
            "--update", action="store_true", help="update leads that already exist (the default)"
        )
        existing.add_argument(
            "--skip-existing", action="store_true", help="leave leads that already exist as they are"
        )
        parser.add_argument(
            "--errors", metavar="PATH", help="write the error report (CSV) to this file instead of stderr"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.", returncode=2) from None
        try:
            job = start_import(user=None, file_name=path.name, raw=raw)
            mapping = self._mapping(job, options["mapping"])
            job = confirm_mapping(
                job=job, mapping=mapping, actor=None, skip_existing=options["skip_existing"], queue=False
            )
        except AppError as exc:
            raise CommandError(" ".join(exc.messages()), returncode=2) from None
        self._describe(job)
        job = self._run(job, show_progress=not options["no_progress"])
        self.stdout.write(
            f"{job.processed_rows} rows: {job.created_count} created, {job.updated_count} updated, "
            f"{job.skipped_count} skipped (already there), {job.error_count} failed."
        )
        if job.error_count:
            self._report(job, options["errors"])
            raise CommandError(f"{job.error_count} rows failed.", returncode=1)

    def _mapping(self, job: CsvImport, given: str | None) -> dict[str, str]:
        """The mapping as the importer takes it ({column position: field}) from headers or positions."""
        if given is None:
            return dict(job.mapping)
        try:
            chosen = json.loads(given)
        except ValueError:
            raise CommandError("--mapping must be a JSON object.", returncode=2) from None
        if not isinstance(chosen, dict) or not all(isinstance(v, str) for v in chosen.values()):
            raise CommandError("--mapping must be a JSON object from column to lead field.", returncode=2)
        mapping: dict[str, str] = {}
        for column, field in chosen.items():
            if column in job.headers:
                index = job.headers.index(column)
            elif column.isascii() and column.isdigit() and int(column) < len(job.headers):
                index = int(column)
            else:
                raise CommandError(f"The file has no column {column!r}.", returncode=2)
            mapping[str(index)] = field or IGNORE
        return mapping

    def _describe(self, job: CsvImport) -> None:
        for index, field in sorted(job.mapping.items(), key=lambda item: int(item[0])):
            self.stderr.write(f"  {job.headers[int(index)]!r} → {field}")

    def _run(self, job: CsvImport, *, show_progress: bool) -> CsvImport:
        progress = Progress(
            TextColumn("Importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not show_progress,
        )
        with progress:
            task = progress.add_task("import", total=job.total_rows)
            done = run_import(job_id=job.pk, progress=lambda rows: progress.update(task, completed=rows))
        if done is None:
            raise CommandError("The import was taken over by another run.", returncode=2)
        return done

    def _report(self, job: CsvImport, path: str | None) -> None:
        if path:
            with open(path, "w", newline="", encoding="utf-8") as out:
                self._write_report(job, out)
            self.stderr.write(f"Error report: {path}")
        else:
            self._write_report(job, self.stderr)

    @staticmethod
    def _write_report(job: CsvImport, out: Any) -> None:
        writer = csv.writer(out)
        writer.writerow(REPORT_HEADER)
        writer.writerows(error_report_rows(job))
