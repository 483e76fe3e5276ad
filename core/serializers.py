"""Serializer building blocks shared by every API: strict payloads and the shape of request bodies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from core.errors import ValidationProblem
from core.text import no_control_characters

# Serializers validate text with the project's one control-character rule.
__all__ = [
    "StrictModelSerializer",
    "StrictSerializer",
    "batch_items",
    "no_control_characters",
    "per_item_schema",
    "require_object",
]


class StrictSerializer(serializers.Serializer):
    """Unknown fields and read-only fields in a write payload are errors, not silently dropped; a text field
    takes a JSON string only.

    TRICKY: DRF's ``CharField`` turns a number into its text (``6.19e+151`` became a note reading
    "6.190236428245108e+151"), while the schema, and so every client, says the field is a string.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors: dict[str, list[str]] = {}
            for name, value in data.items():
                field = self.fields.get(name)
                if field is None:
                    errors[name] = ["Unknown field."]
                elif field.read_only:
                    errors[name] = ["This field is read-only."]
                elif isinstance(field, serializers.CharField) and not isinstance(value, str | None):
                    errors[name] = ["Not a valid string."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


def require_object(data: Any) -> dict[str, Any]:
    """The request body must be a JSON object (not a list, a string or null)."""
    if not isinstance(data, dict):
        raise ValidationProblem({"non_field_errors": ["Expected a JSON object."]})
    return data


def batch_items(data: Any, *, key: str, limit: int) -> list[Any]:
    """The items of a batch body ``{key: [...]}``: 1 to ``limit`` of them, and no other top-level field."""
    data = require_object(data)
    unknown = sorted(set(data) - {key})
    if unknown:
        raise ValidationProblem({name: ["Unknown field."] for name in unknown})
    items = data.get(key)
    if not isinstance(items, list):
        raise ValidationProblem({key: [f"Expected a list of {key}."]})
    if not 1 <= len(items) <= limit:
        raise ValidationProblem({key: [f"Send between 1 and {limit} {key}."]})
    return items


def per_item_schema(key: str) -> Callable[[dict[str, Any]], None]:
    """For a batch body's JSON schema: each item should be the single payload, but any item is accepted and
    answered on its own (a bad item is an error in the results, never a refusal of the whole batch)."""

    def widen(schema: dict[str, Any]) -> None:
        items = schema["properties"][key]["items"]
        schema["properties"][key]["items"] = {
            "anyOf": [items, {}],
            "description": "Each item is checked on its own; a bad one is an error in its result.",
        }

    return widen
