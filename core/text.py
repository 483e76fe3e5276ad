"""The one rule for control characters in the text that people and clients send.

A control character is any C0 character (U+0000 to U+001F) or DEL (U+007F). Tab, line feed and carriage
return are text where a value may span lines (notes, reasons); in a one-line value (a name, an e-mail
address, an id) they are refused like the rest. NUL above all must never reach PostgreSQL, which refuses it
in text and would answer a server error. A lone surrogate (which JSON can spell as ``"\\ud800"``) is not
text at all: UTF-8 cannot encode it, so it is refused by the same checks.

The checks come in two shapes over the same rule: Django validators (Django forms and DRF serializers both
run them) and pydantic validators (the lead and activity payloads).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

CONTROL_CHARACTERS_MESSAGE = "Must not contain control characters."
LONE_SURROGATES_MESSAGE = "Must be valid Unicode text (no lone surrogates)."

_CONTROL = "".join(chr(code) for code in (*range(0x20), 0x7F))
_LINE_BREAKS = "\t\n\r"
_IN_ONE_LINE = re.compile(f"[{re.escape(_CONTROL)}]")
_IN_TEXT = re.compile(f"[{re.escape(''.join(c for c in _CONTROL if c not in _LINE_BREAKS))}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Either problem, in one search: most text has neither.
_ANY_PROBLEM = {
    False: re.compile(f"[{re.escape(_CONTROL)}\ud800-\udfff]"),
    True: re.compile(f"[{re.escape(''.join(c for c in _CONTROL if c not in _LINE_BREAKS))}\ud800-\udfff]"),
}


def has_control_characters(value: str, *, multiline: bool) -> bool:
    """Whether ``value`` breaks the rule; ``multiline`` lets tabs and line breaks through."""
    return (_IN_TEXT if multiline else _IN_ONE_LINE).search(value) is not None


def has_lone_surrogates(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate (JSON's ``"\\ud800"``), which UTF-8 cannot encode."""
    return _SURROGATE.search(value) is not None


def text_problem(value: str, *, multiline: bool) -> str | None:
    """The message for text that breaks the rule, or None."""
    if _ANY_PROBLEM[multiline].search(value) is None:
        return None
    if has_control_characters(value, multiline=multiline):
        return CONTROL_CHARACTERS_MESSAGE
    if has_lone_surrogates(value):
        return LONE_SURROGATES_MESSAGE
    return None


def no_control_characters(value: str) -> str:
    """Django validator for text that may span lines (tabs and line breaks allowed)."""
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValidationError(problem, code="control_characters")
    return value


def no_control_characters_in_line(value: str) -> str:
    """Django validator for a one-line value (tabs and line breaks refused too)."""
    problem = text_problem(value, multiline=False)
    if problem:
        raise ValidationError(problem, code="control_characters")
    return value


def one_line(value: str) -> str:
    """pydantic ``AfterValidator`` for a one-line value (pydantic reports a ``ValueError`` per field)."""
    problem = text_problem(value, multiline=False)
    if problem:
        raise ValueError(problem)
    return value


def multiline(value: str) -> str:
    """pydantic ``AfterValidator`` for text that may span lines."""
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value
