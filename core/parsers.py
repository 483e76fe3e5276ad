"""The one JSON parser of the API: whatever the body, a parsed value or a ``400``, never a server error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core.json_values import MAX_JSON_DEPTH, json_depth_exceeds


def _refuse_constant(name: str) -> Any:
    # NaN, Infinity and -Infinity are not JSON; Python's json module would accept them.
    raise ValueError(f"{name} is not a JSON number")


class StrictJSONParser(JSONParser):
    """JSON as RFC 8259 defines it: UTF-8, no ``NaN`` or ``Infinity``, and nested at most
    ``MAX_JSON_DEPTH`` deep (a deeper body would exhaust the parser's recursion and the stack of everything
    that walks the value after it).

    A number too large for a float (``1e400``) parses to infinity; the fields that hold JSON refuse it
    (``core.json_values.json_value_problem``) so that in a batch only its item fails.
    """

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("JSON parse error - the body is not valid UTF-8.") from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth_exceeds(data):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        return data
