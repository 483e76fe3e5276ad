"""The sensible default scoring model, v1, active from the start.

Decision-makers and senior titles score high, students and free-mail addresses low; demo requests and
pricing-page views weigh more than e-mail opens. Both teams change it later through drafts and approvals.
"""

from django.db import migrations
from django.utils import timezone

TARGET_COUNTRIES = ["DE", "AT", "CH", "SE", "NO", "DK", "FI", "GB", "IE", "US", "CA"]

DEFAULT_MODEL = {
    "mql_threshold": 60,
    "min_grade": "B",
    "engagement_half_life_days": 30.0,
    "fit_rules": [
        {"field": "seniority", "operator": "in", "value": ["c_level", "vp", "director"], "points": 20,
         "label": "Director or above"},
        {"field": "seniority", "operator": "eq", "value": "manager", "points": 10, "label": "Manager"},
        {"field": "is_decision_maker", "operator": "is_true", "value": True, "points": 15,
         "label": "Decision-maker"},
        {"field": "company_size", "operator": "gte", "value": 200, "points": 10,
         "label": "Company of 200 or more employees"},
        {"field": "company_size", "operator": "lte", "value": 10, "points": -5,
         "label": "Company of 10 or fewer employees"},
        {"field": "persona", "operator": "in", "value": ["ops-leader", "it-director", "finance-head"],
         "points": 10, "label": "Target persona"},
        {"field": "country", "operator": "in", "value": TARGET_COUNTRIES, "points": 5,
         "label": "In a target market"},
        {"field": "job_title", "operator": "contains", "value": "student", "points": -30, "label": "Student"},
        {"field": "job_title", "operator": "contains", "value": "intern", "points": -20, "label": "Intern"},
        {"field": "free_mail", "operator": "is_true", "value": True, "points": -15,
         "label": "Free-mail address"},
    ],
    "engagement_rules": [
        {"activity_type": "demo_request", "points": 30, "max_per_30_days": 2},
        {"activity_type": "meeting", "points": 20, "max_per_30_days": 2},
        {"activity_type": "pricing_page_view", "points": 10, "max_per_30_days": 3},
        {"activity_type": "call", "points": 10, "max_per_30_days": 3},
        {"activity_type": "webinar_attended", "points": 10, "max_per_30_days": 2},
        {"activity_type": "event_visit", "points": 10, "max_per_30_days": 2},
        {"activity_type": "form_submit", "points": 8, "max_per_30_days": 3},
        {"activity_type": "content_download", "points": 5, "max_per_30_days": 3},
        {"activity_type": "email_click", "points": 3, "max_per_30_days": 5},
        {"activity_type": "page_view", "points": 1, "max_per_30_days": 10},
        {"activity_type": "email_open", "points": 1, "max_per_30_days": 5},
    ],
    "grade_bands": {"A": 40, "B": 25, "C": 10},
}


def create_default_model(apps, schema_editor):
    ScoringModel = apps.get_model("leads", "ScoringModel")
    if ScoringModel.objects.exists():
        return
    now = timezone.now()
    ScoringModel.objects.create(
        version=1,
        status="active",
        note="The default model: a starting point for both teams to refine.",
        activated_at=now,
        **DEFAULT_MODEL,
    )


class Migration(migrations.Migration):
    dependencies = [("leads", "0003_scoring_history_and_runs")]

    operations = [migrations.RunPython(create_default_model, migrations.RunPython.noop)]
