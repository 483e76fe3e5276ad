"""Funnel pages: the sales queue (accept, reject, reassign) and marketing's feedback view."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.csv_export import csv_response, wants_csv
from core.errors import AppError
from core.pages import error_text, role_required
from core.roles import MANAGERS, MARKETING, SALES, is_manager
from funnel import feedback, handoff, routing
from funnel.models import Handoff, HandoffStatus
from leads.models import RejectReason
from leads.selectors import get_lead_for

QUEUE_LIMIT = 200
FEEDBACK_LIST = 30


def _queue_rows(request: HttpRequest) -> tuple[list[Handoff], str]:
    waiting = Handoff.objects.filter(status=HandoffStatus.OPEN).select_related(
        "lead", "lead__campaign", "rep"
    )
    show = request.GET.get("rep", "")
    if not is_manager(request.user):
        waiting = waiting.filter(rep=request.user)
    elif show == "unassigned":
        waiting = waiting.filter(rep=None)
    elif show == "breached":
        waiting = waiting.exclude(breached_at=None)
    elif show.isdigit():
        waiting = waiting.filter(rep_id=int(show))
    return list(waiting.order_by("sla_due_at", "pk")[:QUEUE_LIMIT]), show


def breakdown_summary(lead: Any, limit: int = 3) -> str:
    lines = [line for line in (lead.score_breakdown or []) if isinstance(line, dict)]
    lines.sort(key=lambda line: -abs(int(line.get("points", 0) or 0)))
    return ", ".join(
        f"{line.get('rule', '?')} {int(line.get('points', 0) or 0):+d}" for line in lines[:limit]
    )


@role_required(SALES, MANAGERS)
def queue(request: HttpRequest) -> HttpResponse:
    rows, show = _queue_rows(request)
    manager = is_manager(request.user)
    now = timezone.now()
    for row in rows:
        row.summary = breakdown_summary(row.lead)
        row.overdue = row.sla_due_at <= now
    context: dict[str, Any] = {
        "rows": rows,
        "show": show,
        "manager": manager,
        "reasons": list(RejectReason.objects.filter(active=True)),
        "reps": routing.reps_for_assignment() if manager else [],
        "now": now,
    }
    if manager:
        context["summary"] = feedback.queue_summary()
    return render(request, "funnel/queue.html", context)


def _decide(request: HttpRequest, lead_id: int, action: str) -> HttpResponse:
    lead = get_lead_for(request.user, lead_id)
    error = ""
    try:
        if action == "accept":
            handoff.accept_lead(lead_id=lead.pk, actor=request.user)
            done = "Accepted"
        elif action == "reject":
            handoff.reject_lead(
                lead_id=lead.pk,
                actor=request.user,
                reason=request.POST.get("reason", ""),
                note=request.POST.get("note", "")[: handoff.NOTE_MAX],
            )
            done = "Rejected"
        else:
            owner = request.POST.get("owner", "")
            handoff.assign_lead(
                lead_id=lead.pk, actor=request.user, owner_id=int(owner) if owner.isdigit() else 0
            )
            done = "Reassigned"
    except AppError as exc:
        error = error_text(exc)
    if request.htmx:
        lead.refresh_from_db()
        context = {
            "lead": lead,
            "stage": lead.stage.name,
            "done": "" if error else done,
            "error": error,
            "manager": is_manager(request.user),
        }
        return render(request, "funnel/_queue_done.html", context)
    if error:
        messages.error(request, f"{lead.email}: {error}")
    else:
        messages.success(request, f"{done}: {lead.name or lead.email}.")
    return redirect("funnel:queue")


@require_POST
@role_required(SALES, MANAGERS)
def accept(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _decide(request, lead_id, "accept")


@require_POST
@role_required(SALES, MANAGERS)
def reject(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _decide(request, lead_id, "reject")


@require_POST
@role_required(MANAGERS)
def assign(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _decide(request, lead_id, "assign")


@role_required(MARKETING, MANAGERS)
def feedback_view(request: HttpRequest) -> HttpResponse:
    tables = feedback.rejection_tables()
    if wants_csv(request):
        table = request.GET.get("table", "campaign")
        if table == "rejected":
            return csv_response(
                "rejected-leads.csv",
                [
                    "rejected_at",
                    "lead",
                    "email",
                    "company",
                    "campaign",
                    "persona",
                    "reason",
                    "note",
                    "rejected_by",
                ],
                feedback.rejected_rows(limit=None),
            )
        pivot = tables["persona"] if table == "persona" else tables["campaign"]
        return csv_response(
            f"rejections-by-reason-and-{'persona' if table == 'persona' else 'campaign'}.csv",
            ["reason", *[label for _, label in pivot.columns], "total"],
            ([row.label, *row.counts, row.total] for row in pivot.rows),
        )
    return render(
        request,
        "funnel/feedback.html",
        {"tables": tables, "rejected": feedback.rejected_rows(limit=FEEDBACK_LIST)},
    )
