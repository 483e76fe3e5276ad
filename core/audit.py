"""The audit trail: who did what to which object."""

from __future__ import annotations

from typing import Any

from core.models import AuditEvent


def record(*, actor: Any, action: str, obj: Any = None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Write one audit event (call inside the use-case's transaction, so it commits with the change)."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=data or {},
    )
