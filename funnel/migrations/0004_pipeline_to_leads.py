"""Stage, RejectReason and Transition now belong to the leads app (see leads 0006); state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("funnel", "0003_routing_and_settings"),
        ("leads", "0006_pipeline_from_funnel"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="handoff",
                    name="reject_reason",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="handoffs", to="leads.rejectreason"),
                ),
                migrations.DeleteModel(name="Transition"),
                migrations.DeleteModel(name="RejectReason"),
                migrations.DeleteModel(name="Stage"),
            ],
            database_operations=[],
        ),
    ]
