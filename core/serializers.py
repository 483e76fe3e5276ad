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
