"""The life of a scoring model version: propose a draft, approve it from both sides, activate it.

A draft becomes active once approved by a marketer and by a sales rep or manager, two different people.
Activation retires the previous active version, is recorded in the audit trail, and queues a full rescore.
What a proposal may contain is ``scoring.schemas``; the page's plain words and diffs are ``scoring.describe``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.audit import record
from core.errors import Conflict, Forbidden, NotFound, ValidationProblem
from core.queue import enqueue_on_commit
from core.roles import MANAGERS, MARKETING, SALES, roles_of
from scoring.models import ScoringModel, ScoringModelStatus
from scoring.qualification import active_scoring_model
from scoring.schemas import EDITABLE_FIELDS, validate_model_changes
from scoring.tasks import rescore_all_task


def _can_propose(user: Any) -> bool:
    return bool(roles_of(user) & {MARKETING, SALES, MANAGERS})


def propose_scoring_model(*, actor: Any, changes: Any) -> ScoringModel:
    """Create a draft: the fields given, the active version's values for the rest.

    Raises ``ValidationProblem`` with field errors when the changes are not valid.
    """
    if not _can_propose(actor):
        raise Forbidden("Only marketing and sales may propose a scoring model.")
    clean, errors = validate_model_changes(changes)
    if errors:
        raise ValidationProblem(errors, detail="The proposal is not valid.")
    base = active_scoring_model()
    values: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        if name in clean:
            values[name] = clean[name]
        elif base is not None and name != "note":
            values[name] = getattr(base, name)
    for attempt in range(3):
        try:
            with transaction.atomic():
                version = (ScoringModel.objects.aggregate(top=Max("version"))["top"] or 0) + 1
                draft = ScoringModel.objects.create(
                    version=version, status=ScoringModelStatus.DRAFT, proposed_by=actor, **values
                )
                record(
                    actor=actor,
                    action="scoring_model.proposed",
                    obj=draft,
                    data={"version": version, "based_on": base.version if base else None},
                )
            return draft
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Approval:
    model: ScoringModel
    side: str  # "marketing" or "sales"
    activated: bool


def approval_side(user: Any, model: ScoringModel) -> str | None:
    """Which side ``user`` can still approve ``model`` for (``None``: none)."""
    if model.status != ScoringModelStatus.DRAFT:
        return None
    if user.pk in (model.approved_by_marketing_id, model.approved_by_sales_id):
        return None
    roles = roles_of(user)
    if MARKETING in roles and model.approved_by_marketing_id is None:
        return "marketing"
    if roles & {SALES, MANAGERS} and model.approved_by_sales_id is None:
        return "sales"
    return None


def approve_scoring_model(*, actor: Any, version: int) -> Approval:
    """Approve a draft for the actor's side; the second side's approval activates it.

    One user approves for one side only. Activation retires the active version, records it in the audit
    trail and queues a full rescore once the transaction commits.
    """
    roles = roles_of(actor)
    if not roles & {MARKETING, SALES, MANAGERS}:
        raise Forbidden("Only marketing and sales may approve a scoring model.")
    with transaction.atomic():
        model = ScoringModel.objects.select_for_update().filter(version=version).first()
        if model is None:
            raise NotFound("No such version.")
        if model.status != ScoringModelStatus.DRAFT:
            raise Conflict(f"Version {version} is {model.status}, not a draft.")
        if actor.pk in (model.approved_by_marketing_id, model.approved_by_sales_id):
            raise Conflict("You have approved this version already; the other team must approve it.")
        side = approval_side(actor, model)
        if side is None:
            raise Conflict("Your team has approved this version already.")
        now = timezone.now()
        if side == "marketing":
            model.approved_by_marketing = actor
            model.marketing_approved_at = now
        else:
            model.approved_by_sales = actor
            model.sales_approved_at = now
        fields = ["approved_by_marketing", "marketing_approved_at", "approved_by_sales", "sales_approved_at"]
        record(
            actor=actor, action="scoring_model.approved", obj=model, data={"version": version, "side": side}
        )
        activated = model.approved_by_marketing_id is not None and model.approved_by_sales_id is not None
        if activated:
            previous = (
                ScoringModel.objects.select_for_update().filter(status=ScoringModelStatus.ACTIVE).first()
            )
            if previous is not None:
                previous.status = ScoringModelStatus.RETIRED
                previous.save(update_fields=["status"])
            model.status = ScoringModelStatus.ACTIVE
            model.activated_at = now
            fields += ["status", "activated_at"]
            record(
                actor=actor,
                action="scoring_model.activated",
                obj=model,
                data={"version": version, "retired": previous.version if previous else None},
            )
            enqueue_on_commit(rescore_all_task, reason=f"activation of v{version}")
        model.save(update_fields=fields)
    return Approval(model=model, side=side, activated=activated)
