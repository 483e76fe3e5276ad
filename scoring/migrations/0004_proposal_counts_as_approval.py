"""A draft's proposal now counts as the proposer's own team's approval: drafts proposed before that get it.

Only where it cannot finish the approval: a draft the other team has approved already would become active
here, without its rescore, so it keeps waiting for the proposer's explicit approval as before.
"""

from __future__ import annotations

from django.db import migrations


def backfill_proposer_approval(apps, schema_editor):
    ScoringModel = apps.get_model("scoring", "ScoringModel")
    drafts = ScoringModel.objects.filter(
        status="draft",
        proposed_by__isnull=False,
        approved_by_marketing__isnull=True,
        approved_by_sales__isnull=True,
    ).select_related("proposed_by")
    for draft in drafts:
        teams = set(draft.proposed_by.groups.values_list("name", flat=True))
        if "marketing" in teams:
            draft.approved_by_marketing_id = draft.proposed_by_id
            draft.marketing_approved_at = draft.created_at
        elif teams & {"sales", "managers"}:
            draft.approved_by_sales_id = draft.proposed_by_id
            draft.sales_approved_at = draft.created_at
        else:
            continue
        draft.save(
            update_fields=[
                "approved_by_marketing",
                "marketing_approved_at",
                "approved_by_sales",
                "sales_approved_at",
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("scoring", "0003_draft_rejection_and_impact"), ("core", "0002_roles")]
    operations = [migrations.RunPython(backfill_proposer_approval, migrations.RunPython.noop)]
