"""Logging filters the settings attach to Django's loggers."""

from __future__ import annotations

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """A 403 is an answer, not a fault: log it as its one line, without the traceback of the
    ``PermissionDenied`` that produced it (Django's ``django.request`` logger attaches one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
