"""The limits of a JSON value from outside: what PostgreSQL's jsonb and our code can hold.

A JSON value holds finite numbers only (``1e400`` parses to infinity, which jsonb refuses), text without NUL
and that UTF-8 can encode (no lone surrogates), and is nested at most ``MAX_JSON_DEPTH`` deep. The API's JSON
parser (``core.parsers``) refuses deeper bodies; the fields that store JSON check the rest, so that in a
batch only the item that breaks the rule fails.

TRICKY: this module must not import ``core.errors``: DRF imports the parser (and so this module) while
``core.errors`` is still importing DRF.
"""

from __future__ import annotations

import math
from typing import Any

from core.text import LONE_SURROGATES_MESSAGE, has_lone_surrogates

MAX_JSON_DEPTH = 64
# A tuple, not ``dict | list``: isinstance is quicker with it, and the depth check calls it per value.
_CONTAINERS = (dict, list)


def json_value_problem(value: Any) -> str | None:
    """What PostgreSQL's jsonb (or our limits) would refuse in a parsed JSON value, or None.

    Walks the value without recursion, so a deeply nested value cannot exhaust the stack.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth > MAX_JSON_DEPTH:
            return f"Must be nested at most {MAX_JSON_DEPTH} levels deep."
        if isinstance(item, float) and not math.isfinite(item):
            return "Must contain finite numbers only."
        if isinstance(item, str):
            problem = _string_problem(item)
            if problem:
                return problem
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _string_problem(key) if isinstance(key, str) else None
                if problem:
                    return problem
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def _string_problem(text: str) -> str | None:
    # TRICKY: jsonb refuses \u0000 anywhere, and a lone surrogate cannot be encoded as UTF-8 at all.
    if "\x00" in text:
        return "Must not contain NUL characters."
    if has_lone_surrogates(text):
        return LONE_SURROGATES_MESSAGE
    return None


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON value nests deeper than ``limit`` (level by level, without recursion).

    Only containers are visited: a scalar adds no depth, and a 1,000-lead batch holds some 10,000 scalars
    against a thousand containers.
    """
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        inner = []
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, _CONTAINERS):
                    inner.append(child)
        level = inner
    return False
