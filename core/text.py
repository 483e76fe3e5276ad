"""The one rule for control characters in the text that people and clients send.

A control character is any C0 character (U+0000 to U+001F) or DEL (U+007F). Tab, line feed and carriage
return are text where a value may span lines (notes, reasons); in a one-line value (a name, an e-mail
address, an id) they are refused like the rest. NUL above all must never reach PostgreSQL, which refuses it
in text and would answer a server error.

The checks come in two shapes over the same rule: Django validators (Django forms and DRF serializers both
run them) and pydantic validators (the lead and activity payloads).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

CONTROL_CHARACTERS_MESSAGE = "Must not contain control characters."

_CONTROL = "".join(chr(code) for code in (*range(0x20), 0x7F))
_LINE_BREAKS = "\t\n\r"
_IN_ONE_LINE = re.compile(f"[{re.escape(_CONTROL)}]")
_IN_TEXT = re.compile(f"[{re.escape(''.join(c for c in _CONTROL if c not in _LINE_BREAKS))}]")


def has_control_characters(value: str, *, multiline: bool) -> bool:
    """Whether ``value`` breaks the rule; ``multiline`` lets tabs and line breaks through."""
    return (_IN_TEXT if multiline else _IN_ONE_LINE).search(value) is not None


def no_control_characters(value: str) -> str:
    """Django validator for text that may span lines (tabs and line breaks allowed)."""
    if has_control_characters(value, multiline=True):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="control_characters")
    return value


def no_control_characters_in_line(value: str) -> str:
    """Django validator for a one-line value (tabs and line breaks refused too)."""
    if has_control_characters(value, multiline=False):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="control_characters")
    return value


def one_line(value: str) -> str:
    """pydantic ``AfterValidator`` for a one-line value (pydantic reports a ``ValueError`` per field)."""
    if has_control_characters(value, multiline=False):
        raise ValueError(CONTROL_CHARACTERS_MESSAGE)
    return value
