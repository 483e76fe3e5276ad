from __future__ import annotations

from django.db import migrations

# The demand waterfall; the seeded stages' slugs are their kinds.
STAGES = [
    ("inquiry", "Inquiry", 10, "marketing", None),
    ("mql", "MQL", 20, "marketing", 24),
    ("sal", "SAL", 30, "sales", None),
    ("sql", "SQL", 40, "sales", None),
    ("opportunity", "Opportunity", 50, "sales", None),
    ("won", "Won", 60, "sales", None),
    ("lost", "Lost", 70, "sales", None),
    ("nurture", "Nurture", 80, "marketing", None),
]

REASONS = [
    ("not-a-decision-maker", "Not a decision-maker"),
    ("no-budget", "No budget"),
    ("no-need", "No need"),
    ("bad-contact-data", "Bad contact data"),
    ("outside-target-market", "Outside target market"),
    ("duplicate", "Duplicate"),
    ("competitor", "Competitor"),
    ("other", "Other"),
]


def seed(apps, schema_editor):
    Stage = apps.get_model("funnel", "Stage")
    RejectReason = apps.get_model("funnel", "RejectReason")
    for slug, name, order, team, sla_hours in STAGES:
        Stage.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": slug, "order": order, "team": team, "sla_hours": sla_hours}
        )
    for order, (slug, label) in enumerate(REASONS, start=1):
        RejectReason.objects.get_or_create(slug=slug, defaults={"label": label, "order": order})


class Migration(migrations.Migration):
    dependencies = [("funnel", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
