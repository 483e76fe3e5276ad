"""The life of a scoring model version: propose a draft, approve it from both sides and activate it, or reject
it.

A draft becomes active once approved by a marketer and by a sales rep or manager, two different people.
Proposing is the proposer's approval for their own team (a marketer's for marketing, a rep's or manager's for
sales), so the other team's approval activates it. Activation retires the previous active version, is recorded
in the audit trail, and queues a full rescore. Anyone who could approve a draft may reject it instead, with a
comment; a rejected draft can no longer be approved. Proposing, and every activation for the drafts still
waiting, queues the count of what the draft would change (``scoring.impact``).
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
from core.text import text_problem
from scoring.models import ScoringModel, ScoringModelStatus
from scoring.qualification import active_scoring_model
from scoring.schemas import EDITABLE_FIELDS, validate_model_changes
from scoring.tasks import compute_draft_impact_task, rescore_all_task

APPROVAL_FIELDS = ["approved_by_marketing", "marketing_approved_at", "approved_by_sales", "sales_approved_at"]
IMPACT_FIELDS = [
    "impact_based_on",
    "impact_leads",
    "impact_grade_changes",
    "impact_mql_up",
    "impact_mql_down",
    "impact_computed_at",
]
COMMENT_MAX_LENGTH = 1000


def _can_propose(user: Any) -> bool:
    return bool(roles_of(user) & {MARKETING, SALES, MANAGERS})


def _team_side(user: Any) -> str | None:
    """The side a user approves for: marketing for a marketer (first, for someone in both teams), sales for a
    sales rep or a manager."""
    roles = roles_of(user)
    if MARKETING in roles:
        return "marketing"
    if roles & {SALES, MANAGERS}:
        return "sales"
    return None


def _set_approval(model: ScoringModel, *, side: str, actor: Any, at: Any) -> None:
    if side == "marketing":
        model.approved_by_marketing = actor
        model.marketing_approved_at = at
    else:
        model.approved_by_sales = actor
        model.sales_approved_at = at


def propose_scoring_model(*, actor: Any, changes: Any) -> ScoringModel:
    """Create a draft: the fields given, the active version's values for the rest.

    The proposal is the proposer's approval for their own team (recorded as such in the audit trail); the
    count of what the draft would change is queued once the draft is committed.
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
                draft = ScoringModel(
                    version=version, status=ScoringModelStatus.DRAFT, proposed_by=actor, **values
                )
                side = _team_side(actor)
                now = timezone.now()
                if side is not None:
                    _set_approval(draft, side=side, actor=actor, at=now)
                draft.impact_queued_at = now
                draft.save(force_insert=True)
                record(
                    actor=actor,
                    action="scoring_model.proposed",
                    obj=draft,
                    data={"version": version, "based_on": base.version if base else None},
                )
                if side is not None:
                    record(
                        actor=actor,
                        action="scoring_model.approved",
                        obj=draft,
                        data={"version": version, "side": side, "by_proposal": True},
                    )
                enqueue_on_commit(compute_draft_impact_task, version)
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
        _set_approval(model, side=side, actor=actor, at=now)
        fields = list(APPROVAL_FIELDS)
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
            _recount_waiting_drafts(exclude=model.pk)
        model.save(update_fields=fields)
    return Approval(model=model, side=side, activated=activated)


def _recount_waiting_drafts(*, exclude: int) -> None:
    """The drafts still waiting were counted against the bar that was just retired: forget their counts (the
    page shows them as being computed) and count them again once the activation commits."""
    waiting = ScoringModel.objects.filter(status=ScoringModelStatus.DRAFT).exclude(pk=exclude)
    versions = list(waiting.values_list("version", flat=True))
    waiting.update(**dict.fromkeys(IMPACT_FIELDS), impact_queued_at=timezone.now())
    for version in versions:
        enqueue_on_commit(compute_draft_impact_task, version)


def can_reject(user: Any, model: ScoringModel) -> bool:
    """Whether ``user`` may reject ``model``: it is a draft, and the user is someone who could approve one."""
    return model.status == ScoringModelStatus.DRAFT and _team_side(user) is not None


def reject_scoring_model(*, actor: Any, version: int, comment: Any) -> ScoringModel:
    """Reject a draft with a comment saying why: it can no longer be approved. Recorded in the audit trail.

    Anyone who could approve a draft may reject it, the proposer included (a withdrawal).
    """
    if _team_side(actor) is None:
        raise Forbidden("Only marketing and sales may reject a scoring model.")
    text = comment.strip() if isinstance(comment, str) else ""
    if not text:
        raise ValidationProblem({"comment": ["Say why the draft is rejected."]})
    if len(text) > COMMENT_MAX_LENGTH:
        raise ValidationProblem(
            {"comment": [f"Ensure this field has no more than {COMMENT_MAX_LENGTH} characters."]}
        )
    problem = text_problem(text, multiline=True)
    if problem:
        raise ValidationProblem({"comment": [problem]})
    with transaction.atomic():
        model = ScoringModel.objects.select_for_update().filter(version=version).first()
        if model is None:
            raise NotFound("No such version.")
        if model.status != ScoringModelStatus.DRAFT:
            raise Conflict(f"Version {version} is {model.status}, not a draft.")
        # Recorded first, so the trail names what was rejected: "Scoring model v3 (draft)".
        record(
            actor=actor,
            action="scoring_model.rejected",
            obj=model,
            data={"version": version, "comment": text},
        )
        model.status = ScoringModelStatus.REJECTED
        model.rejected_by = actor
        model.rejected_at = timezone.now()
        model.rejection_comment = text
        model.save(update_fields=["status", "rejected_by", "rejected_at", "rejection_comment"])
    return model
