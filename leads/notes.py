from __future__ import annotations

from typing import Any

from leads.models import Lead, Note


def add_note(*, lead: Lead, author: Any, body: str) -> Note:
    """Write a note on the lead's shared timeline."""
    return Note.objects.create(lead=lead, author=author, body=body.strip())
