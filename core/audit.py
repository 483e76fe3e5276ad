"""The audit trail: who did what to which object.

Each app declares, beside the code that records an action, how the action reads in plain words
(``core.audit_wording.action``); ``record`` stores the object's name as it was then, so the trail still
names a goal after it is deleted or a lead after it is renamed.
"""

from __future__ import annotations

from typing import Any

from core.models import AuditEvent

LABEL_MAX = 200


def label_of(obj: Any) -> str:
    """How a sentence names the object: its ``label`` if it has one (a lead: "Jane Doe (Acme)"), else str."""
    label = getattr(obj, "label", None)
    return str(label if isinstance(label, str) and label else obj)[:LABEL_MAX]


def record(*, actor: Any, action: str, obj: Any = None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Write one audit event (call inside the use-case's transaction, so it commits with the change)."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=label_of(obj) if obj is not None else "",
        data=data or {},
    )
