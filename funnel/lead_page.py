"""One lead's page: profile, score breakdown, hand-off and SLA, stage history, the shared timeline, notes.

It lives in the funnel because it shows every layer below it (the lead, its pipeline, its score, its
hand-off); the leads app keeps the list.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_countries import countries

from core.pages import role_required
from core.roles import is_manager
from funnel.board import move_targets
from funnel.models import Handoff, HandoffStatus
from leads.duplicates import duplicates_of
from leads.forms import NoteForm
from leads.models import Lead, Note, Transition
from leads.notes import add_note, suggest_mentions
from leads.pipeline import Stages, time_in_stages
from leads.selectors import can_edit_lead, get_lead_for, leads_visible_to
from leads.timeline import lead_timeline

RECENT_NOTES = 20
TIMELINE_ITEMS = 30
DUPLICATES_SHOWN = 10


def duration_text(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _context(lead: Lead, note_form: NoteForm, *, user: Any) -> dict[str, Any]:
    now = timezone.now()
    transitions = list(
        Transition.objects.filter(lead=lead).select_related(
            "from_stage", "to_stage", "actor", "reject_reason"
        )
    )
    handoff = (
        Handoff.objects.filter(lead=lead)
        .select_related("rep", "reject_reason", "closed_by")
        .order_by("-assigned_at", "-pk")
        .first()
    )
    timeline = lead_timeline(lead=lead, limit=TIMELINE_ITEMS)
    stays = time_in_stages(transitions=transitions, now=now)
    for stay in stays:
        stay["duration_text"] = duration_text(stay["duration"])
    return {
        "lead": lead,
        "stage_name": lead.stage.name,
        "country_name": countries.name(lead.country) if lead.country else "",
        "breakdown": [line for line in lead.score_breakdown or [] if isinstance(line, dict)],
        "stays": list(reversed(stays)),
        "handoff": handoff,
        "overdue": bool(handoff and handoff.status == HandoffStatus.OPEN and handoff.sla_due_at <= now),
        "timeline": timeline.items,
        "more": timeline.next_cursor is not None,
        "notes": Note.objects.filter(lead=lead).select_related("author")[:RECENT_NOTES],
        "note_form": note_form,
        "targets": move_targets(user=user, lead=lead, stages=Stages.load()),
        "can_edit": can_edit_lead(user, lead),
        "duplicates": duplicates_of(lead=lead, leads=leads_visible_to(user), limit=DUPLICATES_SHOWN),
        "can_merge": is_manager(user),
    }


@role_required()
@require_GET
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for(request.user, lead_id)
    return render(request, "leads/detail.html", _context(lead, NoteForm(), user=request.user))


@role_required()
@require_GET
def mention_suggestions(request: HttpRequest) -> JsonResponse:
    """Team members for the note form's @ completion: ``?q=prefix`` → ``{"users": [{username, name}]}``."""
    return JsonResponse({"users": suggest_mentions(request.GET.get("q", ""))})


@role_required()
@require_POST
def lead_add_note(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_lead_for(request.user, lead_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return render(request, "leads/detail.html", _context(lead, form, user=request.user), status=400)
    add_note(lead=lead, author=request.user, body=form.cleaned_data["body"])
    messages.success(request, "Note added.")
    return redirect("leads:detail", lead_id=lead.pk)
