"""The pipeline's hand-written SQL: first transitions of new leads and set-based moves.

Statement text, the one PostgreSQL/SQLite switch and table names from ``_meta`` live here; ``leads.pipeline``
calls these functions and reads like the business rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from leads.models import Lead, Stage, StageKind, Transition

FIRST_TRANSITION_CHUNK = 5000


@dataclass(frozen=True)
class BulkMove:
    """One lead of a set-based move: where it was (its stage's id, None for a new lead) and its new owner."""

    lead_id: int
    from_stage_id: int | None
    owner_id: int | None


def _first_inquiry_stage() -> str:
    return f'(SELECT id FROM {Stage._meta.db_table} WHERE kind = %s ORDER BY "order", id LIMIT 1)'


@dataclass(frozen=True)
class FirstTransitions:
    """The first transitions of new leads (none → the first Inquiry-kind stage, dated at each lead's
    creation), either as a step of the statement that creates the leads or on their own."""

    rule: str
    reason: str

    def cte(self, rows: str) -> tuple[str, list[Any]]:
        """A data-modifying CTE body (PostgreSQL) writing the first transition of each new lead among the
        rows of the CTE named ``rows`` (columns ``id``, ``created_at``, ``inserted``), and its parameters."""
        statement = (
            f"INSERT INTO {Transition._meta.db_table} (lead_id, to_stage_id, at, rule, reason) "
            f"SELECT r.id, s.id, r.created_at, %s, %s FROM {rows} r CROSS JOIN {_first_inquiry_stage()} s "
            "WHERE r.inserted"
        )
        return statement, [self.rule, self.reason, StageKind.INQUIRY]

    def insert(self, *, lead_ids: Sequence[int]) -> int:
        return insert_first_transitions(lead_ids=lead_ids, rule=self.rule, reason=self.reason)


def insert_first_transitions(*, lead_ids: Sequence[int], rule: str, reason: str) -> int:
    """None → the first Inquiry-kind stage, dated at each lead's creation: one INSERT … SELECT per chunk.

    The stage is looked up inside the statement: one round trip per chunk.
    """
    table, lead_table = Transition._meta.db_table, Lead._meta.db_table
    inquiry = _first_inquiry_stage()
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(lead_ids), FIRST_TRANSITION_CHUNK):
            chunk = list(lead_ids[start : start + FIRST_TRANSITION_CHUNK])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (lead_id, to_stage_id, at, rule, reason) "
                f"SELECT l.id, s.id, l.created_at, %s, %s FROM {lead_table} l CROSS JOIN {inquiry} s "
                f"WHERE l.id IN ({marks})",
                [rule, reason, StageKind.INQUIRY, *chunk],
            )
            written += cursor.rowcount
    return written


def array_literal(values: Iterable[int | None]) -> str:
    """A PostgreSQL array literal: one text parameter instead of thousands of adapted integers."""
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def apply_moves(
    *,
    moves: Sequence[BulkMove],
    to_stage: Stage,
    at: datetime,
    rule: str,
    reason: str,
    sla_due_at: datetime | None,
) -> None:
    """Write one transition per lead and set each lead's stage, owner and deadline.

    PostgreSQL: two statements for the whole set, from arrays. SQLite: a bulk insert and one UPDATE per owner.
    """
    if connection.vendor == "postgresql":
        lead_ids = array_literal(m.lead_id for m in moves)
        from_ids = array_literal(m.from_stage_id for m in moves)
        owner_ids = array_literal(m.owner_id for m in moves)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Transition._meta.db_table} "
                "(lead_id, from_stage_id, to_stage_id, at, rule, reason) "
                "SELECT v.lead_id, v.from_id, %s, %s, %s, %s "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(lead_id, from_id)",
                [to_stage.pk, at, rule, reason, lead_ids, from_ids],
            )
            cursor.execute(
                f"UPDATE {Lead._meta.db_table} AS l "
                "SET stage = %s, owner_id = v.owner_id, sla_due_at = %s, updated_at = %s "
                "FROM unnest(%s::bigint[], %s::int[]) AS v(lead_id, owner_id) WHERE l.id = v.lead_id",
                [to_stage.slug, sla_due_at, at, lead_ids, owner_ids],
            )
        return
    Transition.objects.bulk_create(
        [
            Transition(
                lead_id=m.lead_id,
                from_stage_id=m.from_stage_id,
                to_stage=to_stage,
                at=at,
                rule=rule,
                reason=reason,
            )
            for m in moves
        ],
        batch_size=2000,
    )
    by_owner: dict[int | None, list[int]] = defaultdict(list)
    for m in moves:
        by_owner[m.owner_id].append(m.lead_id)
    for owner_id, lead_ids_of_owner in by_owner.items():
        Lead.objects.filter(pk__in=lead_ids_of_owner).update(
            stage=to_stage.slug, owner_id=owner_id, sla_due_at=sla_due_at, updated_at=at
        )


def stage_change_json(*, to_slug: str, at: datetime, rule: str, reason: str) -> tuple[str, list[str], str]:
    """``lead.stage_changed``'s data besides the lead, as ``pipeline._stage_change`` builds it, for
    ``leads.events.emit_lead_events_joined`` with each lead's from-stage id as its ref: the pairs, their
    parameters and the join of the from-stage."""
    pairs = (
        "'from', fs.slug, 'to', %s::text, 'at', %s::text, 'actor', NULL::integer, "
        "'rule', %s::text, 'reason', %s::text, 'amount', NULL::text"
    )
    joins = f"LEFT JOIN {Stage._meta.db_table} fs ON fs.id = v.ref"
    return pairs, [to_slug, at.isoformat(), rule, reason], joins
