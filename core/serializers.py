from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_control_characters(value: str) -> str:
    """Tabs and line breaks are text; other control characters (NUL above all) are refused."""
    if _CONTROL.search(value):
        raise serializers.ValidationError("Must not contain control characters.")
    return value


class StrictSerializer(serializers.Serializer):
    """Unknown fields and read-only fields in a write payload are errors, not silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors: dict[str, list[str]] = {}
            for name in data:
                field = self.fields.get(name)
                if field is None:
                    errors[name] = ["Unknown field."]
                elif field.read_only:
                    errors[name] = ["This field is read-only."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


def require_object(data: Any) -> dict[str, Any]:
    """The request body must be a JSON object (not a list, a string or null)."""
    if not isinstance(data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    return data


def batch_items(data: Any, *, key: str, limit: int) -> list[Any]:
    """The items of a batch body ``{key: [...]}``: 1 to ``limit`` of them, and no other top-level field."""
    data = require_object(data)
    unknown = sorted(set(data) - {key})
    if unknown:
        raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
    items = data.get(key)
    if not isinstance(items, list):
        raise serializers.ValidationError({key: [f"Expected a list of {key}."]})
    if not 1 <= len(items) <= limit:
        raise serializers.ValidationError({key: [f"Send between 1 and {limit} {key}."]})
    return items
