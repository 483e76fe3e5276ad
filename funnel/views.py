"""Funnel pages: the sales queue (accept, reject, reassign), the pipeline board and marketing's feedback."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.csv_export import csv_response, wants_csv
from core.errors import AppError, Forbidden
from core.inputs import is_whole_number
from core.pages import error_text, role_required
from core.roles import MANAGERS, MARKETING, SALES, has_role, is_manager
from funnel import board, feedback, handoff, moves, routing
from funnel.queue import QueueFilter, queue_page
from leads.models import RejectReason
from leads.selectors import get_lead_for

FEEDBACK_LIST = 30


@role_required(SALES, MANAGERS)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Waiting hand-offs, oldest deadline first, 50 a page; managers filter by rep, unassigned, overdue."""
    manager = is_manager(request.user)
    show = QueueFilter.from_query(request.GET)
    page = queue_page(user=request.user, show=show, cursor=request.GET.get("cursor"), now=timezone.now())
    context: dict[str, Any] = {
        "rows": page.rows,
        "page": page,
        "show": show.rep,
        "overdue": show.overdue,
        "manager": manager,
    }
    if request.htmx and not request.htmx.history_restore_request:  # a pager link: the rows only
        response = render(request, "funnel/_queue_results.html", context)
    else:
        # the reject picker is written once for the page; the rows' "Reject…" buttons copy it
        context["reasons"] = list(RejectReason.objects.filter(active=True))
        if manager:
            context["summary"] = summary = feedback.queue_summary()
            context["reps"] = [item["rep"] for item in summary["reps"]]
        response = render(request, "funnel/queue.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


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
                lead_id=lead.pk, actor=request.user, owner_id=int(owner) if is_whole_number(owner) else 0
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


@require_http_methods(["GET", "POST"])
@role_required(SALES, MANAGERS)
def reject(request: HttpRequest, lead_id: int) -> HttpResponse:
    """POST rejects with a reason; GET shows the reject form on a page of its own (the queue's rows link to
    it for browsers without JavaScript, which cannot copy the queue's one reject form into a row)."""
    if request.method == "POST":
        return _decide(request, lead_id, "reject")
    lead = get_lead_for(request.user, lead_id)
    context = {
        "lead": lead,
        "action": reverse("funnel:reject", args=[lead.pk]),
        "reasons": list(RejectReason.objects.filter(active=True)),
    }
    return render(request, "funnel/reject.html", context)


@require_POST
@role_required(MANAGERS)
def assign(request: HttpRequest, lead_id: int) -> HttpResponse:
    return _decide(request, lead_id, "assign")


def _back_to_queue(request: HttpRequest) -> str:
    """The queue as the manager was looking at it (its filters and page), never another site."""
    back = request.POST.get("next", "")
    return back if back.startswith("/queue/") and "//" not in back else reverse("funnel:queue")


@require_POST
@role_required(MANAGERS)
def bulk_assign(request: HttpRequest) -> HttpResponse:
    """Hand the checked hand-offs to one rep; each is assigned (and recorded) on its own."""
    lead_ids = [int(v) for v in request.POST.getlist("lead") if v.isascii() and v.isdigit() and len(v) < 12]
    owner = request.POST.get("owner", "")
    try:
        result = handoff.assign_leads(
            lead_ids=lead_ids,
            actor=request.user,
            owner_id=int(owner) if owner.isascii() and owner.isdigit() and len(owner) < 12 else 0,
        )
    except AppError as error:
        messages.error(request, error_text(error))
        return redirect(_back_to_queue(request))
    if result.assigned:
        count = len(result.assigned)
        messages.success(request, f"Assigned {count} hand-off{'s' if count != 1 else ''}.")
    for lead_id, error in result.refused.items():
        messages.error(request, f"Lead {lead_id} not assigned: {error_text(error)}")
    return redirect(_back_to_queue(request))


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
        lost = table.startswith("lost-")
        dimension = "persona" if table.removeprefix("lost-") == "persona" else "campaign"
        pivot = (feedback.lost_tables() if lost else tables)[dimension]
        return csv_response(
            f"{'lost-deals' if lost else 'rejections'}-by-reason-and-{dimension}.csv",
            ["reason", *[label for _, label in pivot.columns], "total"],
            ([row.label, *row.counts, row.total] for row in pivot.rows),
        )
    return render(
        request,
        "funnel/feedback.html",
        {
            "tables": tables,
            "lost": feedback.lost_tables(),
            "rejected": feedback.rejected_rows(limit=FEEDBACK_LIST),
        },
    )


class MoveForm(forms.Form):
    """A move on the board: the target stage, a reason, and the amount Opportunity and Won need."""

    stage = forms.SlugField(max_length=40)
    reason = forms.CharField(max_length=500, required=False)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    lost_reason = forms.SlugField(max_length=60, required=False)


def _board_owner(request: HttpRequest) -> tuple[int | None, str]:
    """Whose leads the board shows: a rep's own by default, everyone's for managers and marketing."""
    rep = request.GET.get("rep", "")
    if is_manager(request.user) or has_role(request.user, MARKETING):
        if is_whole_number(rep):
            return int(rep), rep
        return None, "all"
    if rep == "all":
        return None, "all"
    return request.user.pk, "mine"


@role_required()
@require_GET
def pipeline(request: HttpRequest) -> HttpResponse:
    owner_id, show = _board_owner(request)
    context = {
        "columns": board.build_board(user=request.user, owner_id=owner_id),
        "show": show,
        "owner_id": owner_id,
        "reps": routing.reps_for_assignment(),
        "is_sales": has_role(request.user, SALES) and not is_manager(request.user),
    }
    template = "funnel/_board.html" if request.htmx else "funnel/pipeline.html"
    return render(request, template, context)


@role_required()
@require_POST
def pipeline_move(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for(request.user, lead_id)
    form = MoveForm(request.POST)
    back = request.POST.get("next", "")
    if not (back.startswith("/pipeline/") or back == reverse("leads:detail", args=[lead.pk])):
        back = reverse("funnel:pipeline")
    if not form.is_valid():
        messages.error(request, f"{lead.email}: " + " ".join(m for ms in form.errors.values() for m in ms))
        return redirect(back)
    data = form.cleaned_data
    try:
        transition = moves.move_lead(
            lead_id=lead.pk,
            to_slug=data["stage"],
            actor=request.user,
            reason=data["reason"] or "",
            amount=data["amount"],
            lost_reason=data["lost_reason"] or "",
        )
    except Forbidden as error:
        # The board offers a user only the moves they may make, so this is a forged or stale form: refused
        # with a 403, as the API refuses it, saying why.
        raise PermissionDenied(error_text(error)) from None
    except AppError as error:
        messages.error(request, f"{lead.name or lead.email}: {error_text(error)}")
    else:
        messages.success(request, f"{lead.name or lead.email} moved to {transition.to_stage.name}.")
    return redirect(back)
