"""Taking a web form's submission: keep bots out, then store the lead and its ``form_submit`` activity.

The public endpoint has no login and no CSRF cookie (any website may post to it), so three guards stand in:
a honeypot input people never see, a signed time the form was handed out (a form sent back faster than a
person can fill it is a bot's), and a per-address rate limit in the cache. A bot caught by the first two is
answered as if it had succeeded and nothing is stored, so it learns nothing.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction

from core.errors import ValidationProblem
from leads.activities import record_activities
from leads.ingest import upsert_leads
from leads.models import ActivityType, WebForm
from leads.schemas import validate_lead

logger = logging.getLogger(__name__)

# The hidden input carrying the signed time the form was handed out.
STARTED_FIELD = "form_started"
# The checkbox shown with the form's consent text.
CONSENT_FIELD = "consent"
# A person needs longer than this to fill in even a one-field form.
MIN_FILL_SECONDS = 3
RATE_WINDOW_SECONDS = 60


class Outcome(enum.Enum):
    STORED = "stored"
    DISCARDED = "discarded"  # a bot's: answered like a success, nothing stored


def _signer(form: WebForm) -> signing.Signer:
    return signing.Signer(salt=f"leads.webforms.started:{form.key}")


def started_token(*, form: WebForm, at: float | None = None) -> str:
    """The value of the form's hidden ``form_started`` input: the time it was handed out, signed.

    TRICKY: a snippet pasted into a website keeps the time it was rendered, so there the fill-time guard
    only proves the form came from us (a bot posting a made-up form has no valid value); on the hosted
    page, rendered afresh for each visitor, it also catches forms sent back too fast.
    """
    return _signer(form).sign(str(int(time.time() if at is None else at)))


def _started_at(form: WebForm, token: Any) -> int | None:
    if not isinstance(token, str):
        return None
    try:
        return int(_signer(form).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def take_submission_slot(*, address: str) -> int | None:
    """Count one submission from ``address``: None if allowed, else the seconds until it may send again.

    A fixed window per address in the cache. TRICKY: when the cache is down the form still takes
    submissions (fails open): losing leads would cost more than letting a burst through.
    """
    limit: int = settings.WEBFORM_SUBMISSIONS_PER_MINUTE
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    key = f"webform-rate:{address}:{window}"
    try:
        cache.add(key, 0, timeout=RATE_WINDOW_SECONDS + 5)
        count = cache.incr(key)
    except Exception:
        logger.warning("Web form rate limit skipped: the cache is not answering", exc_info=True)
        return None
    if count > limit:
        return max(1, int((window + 1) * RATE_WINDOW_SECONDS - now))
    return None


def accepted_names(form: WebForm) -> list[str]:
    """The lead fields a submission of ``form`` may carry."""
    names = [item["name"] for item in form.fields]
    if form.consent_text and CONSENT_FIELD not in names:
        names.append(CONSENT_FIELD)
    return names


def _lead_item(form: WebForm, data: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
    """The lead payload of a submission; ``ValidationProblem`` for missing and (strict) unknown fields."""
    names = accepted_names(form)
    errors: dict[str, list[str]] = {}
    if strict:
        reserved = {STARTED_FIELD, form.honeypot_field, *names}
        for key in data:
            if key not in reserved:
                errors[str(key)] = ["Unknown field."]
    item: dict[str, Any] = {}
    for name in names:
        value = data.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        item[name] = value
    for field in form.fields:
        if field["required"] and field["name"] not in item:
            errors.setdefault(field["name"], []).append("This field is required.")
    # The lead's own rules too, so a person sees every problem of the form at once.
    _, invalid = validate_lead(item)
    for name, messages in invalid.items():
        errors.setdefault(name, messages)
    if errors:
        raise ValidationProblem(errors, detail="The form is not filled in correctly.")
    if form.campaign_id:
        item["campaign"] = form.campaign.slug  # type: ignore[union-attr]
    if form.persona_id:
        item["persona"] = form.persona.slug  # type: ignore[union-attr]
    return item


def submit_web_form(*, form: WebForm, data: Mapping[str, Any], strict: bool) -> Outcome:
    """Store a submission: upsert the lead by e-mail, record a ``form_submit`` activity with the form's key.

    ``strict`` (JSON bodies) refuses fields the form does not ask for; a posted HTML form may carry inputs
    of the page around it, which are ignored. Raises ``ValidationProblem`` for bad input. The activity
    rescores the lead (``leads_changed``). Call with ``form.campaign`` and ``form.persona`` loaded.
    """
    if data.get(form.honeypot_field):
        return Outcome.DISCARDED
    started = _started_at(form, data.get(STARTED_FIELD))
    if started is None:
        raise ValidationProblem(
            {STARTED_FIELD: ["This form is out of date or was not loaded from us; please send it again."]},
            detail="The form is out of date.",
        )
    if time.time() - started < MIN_FILL_SECONDS:
        return Outcome.DISCARDED
    item = _lead_item(form, data, strict=strict)
    with transaction.atomic():
        result = upsert_leads(items=[item]).results[0]
        if result.status == "error":
            raise ValidationProblem(result.errors, detail="The form is not filled in correctly.")
        record_activities(
            items=[
                {"lead": result.id, "type": ActivityType.FORM_SUBMIT.value, "metadata": {"form": form.key}}
            ]
        )
    return Outcome.STORED
