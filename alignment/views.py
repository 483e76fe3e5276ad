"""Pages: the shared dashboard, the goals review and the manager's goal form. They read snapshots only."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from alignment.dashboard import build_dashboard
from alignment.dashboard_csv import dashboard_csv, goals_csv
from alignment.dashboard_filters import filter_options, read_filters
from alignment.forms import GoalForm
from alignment.goals import create_goal, delete_goal, update_goal
from alignment.goals_page import build_goals_page
from alignment.kpi_format import target_input
from alignment.models import Goal, KpiSnapshot
from alignment.periods import InvalidPeriod, parse_period
from alignment.refresh import request_refresh
from alignment.scopes import ALL
from core.csv_export import csv_response, wants_csv
from core.errors import ValidationProblem
from core.inputs import datetime_param
from core.pages import error_text, role_required
from core.roles import MANAGERS, is_manager


@require_GET
@role_required()
def dashboard(request: HttpRequest) -> HttpResponse:
    filters = read_filters(request.GET)
    dashboard = build_dashboard(filters)
    if wants_csv(request):
        table = request.GET.get("table", "kpis")
        exported = dashboard_csv(dashboard, table)
        if exported is not None:
            header, rows = exported
            return csv_response(f"{table}-{filters.period.key}.csv", header, rows)
        filters.errors.append(f"No table {table!r} to export.")
    context = {**vars(dashboard), "can_manage": is_manager(request.user)}
    return render(request, "alignment/dashboard.html", context, status=400 if filters.errors else 200)


@require_POST
@role_required(MANAGERS)
def refresh(request: HttpRequest) -> HttpResponse:
    """Queue a recomputation of the shown period (htmx answers with a status that polls for the result)."""
    try:
        period = parse_period(request.POST.get("period", ""))
    except InvalidPeriod as exc:
        return HttpResponse(str(exc), status=400)
    request_refresh(actor=request.user, periods=[period])
    if request.htmx:
        return render(
            request,
            "alignment/_refresh_status.html",
            {"period": period, "since": timezone.now().isoformat(), "done": False},
            status=202,
        )
    messages.success(request, f"Refresh of {period.label} queued; the numbers update within a minute.")
    return redirect(f"{reverse('dashboard')}?period={period.key}")


@require_GET
@role_required(MANAGERS)
def refresh_status(request: HttpRequest) -> HttpResponse:
    """Whether snapshots of the period were computed after ``since`` (polled by the refresh control)."""
    try:
        period = parse_period(request.GET.get("period", ""))
    except InvalidPeriod as exc:
        return HttpResponse(str(exc), status=400)
    try:
        since = datetime_param(request.GET.get("since"), name="since")
    except ValidationProblem as exc:
        return HttpResponse(error_text(exc), status=400)
    latest = (
        KpiSnapshot.objects.filter(period=period.key, scope_kind=ALL.kind, scope_ref=ALL.ref)
        .order_by("-computed_at")
        .values_list("computed_at", flat=True)
        .first()
    )
    done = bool(since and latest and latest > since)
    return render(
        request,
        "alignment/_refresh_status.html",
        {"period": period, "since": request.GET.get("since", ""), "done": done, "latest": latest},
    )


@require_GET
@role_required()
def goals(request: HttpRequest) -> HttpResponse:
    page = build_goals_page(options=filter_options())
    if wants_csv(request):
        header, rows = goals_csv(page.rows)
        return csv_response("goals.csv", header, rows)
    return render(request, "alignment/goals.html", {**vars(page), "can_manage": is_manager(request.user)})


@role_required(MANAGERS)
def goal_edit(request: HttpRequest, goal_id: int | None = None) -> HttpResponse:
    goal = get_object_or_404(Goal.objects.with_scope(), pk=goal_id) if goal_id else None
    initial = {f: getattr(goal, f) for f in ("name", "metric", "period", "scope")} if goal else {}
    if goal:
        initial["target"] = target_input(goal.metric, goal.target)
    else:
        initial = {"period": timezone.localdate().strftime("%Y-%m"), "scope": "all"}
    form = GoalForm(
        request.POST or None,
        initial=initial,
        scope_choices=filter_options().scope_choices(),
        today=timezone.localdate(),
        keep_period=goal.period if goal else "",
    )
    if request.method == "POST" and form.is_valid():
        if goal:
            update_goal(goal=goal, actor=request.user, fields=form.cleaned_data)
            messages.success(request, f"Goal “{goal.name}” saved.")
        else:
            goal = create_goal(actor=request.user, fields=form.cleaned_data)
            messages.success(request, f"Goal “{goal.name}” created.")
        return redirect("goals")
    status = 400 if request.method == "POST" else 200
    return render(request, "alignment/goal_form.html", {"form": form, "goal": goal}, status=status)


@require_POST
@role_required(MANAGERS)
def goal_delete(request: HttpRequest, goal_id: int) -> HttpResponse:
    goal = get_object_or_404(Goal, pk=goal_id)
    delete_goal(goal=goal, actor=request.user)
    messages.success(request, f"Goal “{goal.name}” deleted.")
    return redirect("goals")
