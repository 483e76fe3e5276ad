"""The scoring page: the active model in plain words, distribution, calibration, drafts with their impact,
approvals and rejections, and the full rescore's progress (polled with htmx)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import AppError, NotFound
from core.pages import role_required, show_error
from scoring.describe import describe_fit_rule, engagement_rule_sentence, fit_rule_sentence, model_diff
from scoring.forms import (
    EngagementRuleFormSet,
    FitRuleFormSet,
    ModelNumbersForm,
    changes_from_forms,
    initial_from,
)
from scoring.models import ScoringModel, ScoringModelStatus
from scoring.qualification import active_scoring_model
from scoring.report import calibration, rescore_progress, score_distribution
from scoring.versions import (
    approval_side,
    approve_scoring_model,
    can_reject,
    propose_scoring_model,
    reject_scoring_model,
)


def _scoring_context(request: HttpRequest, *, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    people = ("proposed_by", "approved_by_marketing", "approved_by_sales", "rejected_by")
    versions = list(ScoringModel.objects.select_related(*people).order_by("-version"))
    active = next((v for v in versions if v.status == ScoringModelStatus.ACTIVE), None)
    drafts = [
        {
            "model": model,
            "changes": model_diff(old=active, new=model),
            "can_approve_as": approval_side(request.user, model),
            "can_reject": can_reject(request.user, model),
        }
        for model in versions
        if model.status == ScoringModelStatus.DRAFT
    ]
    rejected = [model for model in versions if model.status == ScoringModelStatus.REJECTED]
    if forms is None:
        initial = initial_from(active)
        forms = {
            "numbers": ModelNumbersForm(initial=initial["numbers"]),
            "fit": FitRuleFormSet(initial=initial["fit"], prefix="fit"),
            "engagement": EngagementRuleFormSet(initial=initial["engagement"], prefix="engagement"),
        }
    return {
        "active": active,
        "fit_rules": [
            {**rule, "sentence": fit_rule_sentence(rule), "reading": describe_fit_rule(rule)}
            for rule in (active.fit_rules if active else [])
        ],
        "engagement_rules": [
            engagement_rule_sentence(rule, active.engagement_half_life_days)
            for rule in (active.engagement_rules if active else [])
        ],
        "versions": versions,
        "drafts": drafts,
        "rejected": rejected,
        "distribution": score_distribution(),
        "calibration": calibration(),
        "progress": rescore_progress(active=active),
        "forms": forms,
    }


@role_required()
def scoring_page(request: HttpRequest) -> HttpResponse:
    return render(request, "scoring/scoring.html", _scoring_context(request))


@role_required()
def scoring_run_progress(request: HttpRequest) -> HttpResponse:
    """The full rescore's panel alone: htmx polls it every two seconds while a rescore runs or is queued."""
    progress = rescore_progress(active=active_scoring_model())
    return render(request, "scoring/scoring_run.html", {"progress": progress})


@role_required()
def scoring_draft_impact(request: HttpRequest, version: int) -> HttpResponse:
    """A draft's impact alone: htmx polls it while it is being computed."""
    model = get_object_or_404(ScoringModel, version=version)
    return render(request, "scoring/draft_impact.html", {"model": model})


@require_POST
@role_required()
def scoring_propose(request: HttpRequest) -> HttpResponse:
    forms = {
        "numbers": ModelNumbersForm(request.POST),
        "fit": FitRuleFormSet(request.POST, prefix="fit"),
        "engagement": EngagementRuleFormSet(request.POST, prefix="engagement"),
    }
    problems: list[str] = []
    if all(form.is_valid() for form in forms.values()):
        try:
            changes = changes_from_forms(forms["numbers"], forms["fit"], forms["engagement"])
            draft = propose_scoring_model(actor=request.user, changes=changes)
        except AppError as error:
            fields = (error.errors or {}).items()
            problems = [f"{field}: {' '.join(texts)}" for field, texts in fields] or [error.detail]
        else:
            messages.success(
                request,
                f"Draft v{draft.version} proposed; your proposal counts as your team's approval, the other "
                "team is next.",
            )
            return redirect(f"{reverse('scoring:model')}#draft-{draft.version}")
    context = _scoring_context(request, forms=forms)
    context["problems"] = problems or ["Please correct the fields marked below."]
    return render(request, "scoring/scoring.html", context, status=400)


@require_POST
@role_required()
def scoring_approve(request: HttpRequest, version: int) -> HttpResponse:
    try:
        approval = approve_scoring_model(actor=request.user, version=version)
    except NotFound:
        raise  # an unknown version is the 404 page (core.middleware.AppErrorMiddleware)
    except AppError as error:
        show_error(request, error)
    else:
        if approval.activated:
            messages.success(request, f"v{version} is now active; every lead is being rescored.")
            return redirect(f"{reverse('scoring:model')}#scoring-run")
        messages.success(request, f"You approved v{version} for {approval.side}; the other team is next.")
    return redirect(f"{reverse('scoring:model')}#draft-{version}")


@require_POST
@role_required()
def scoring_reject(request: HttpRequest, version: int) -> HttpResponse:
    try:
        reject_scoring_model(actor=request.user, version=version, comment=request.POST.get("comment", ""))
    except NotFound:
        raise
    except AppError as error:
        show_error(request, error)
        return redirect(f"{reverse('scoring:model')}#draft-{version}")
    messages.success(request, f"You rejected v{version}.")
    return redirect(f"{reverse('scoring:model')}#rejected-{version}")
