"""The pipeline aggregate moves into the leads app: Stage, RejectReason and Transition.

The tables exist already (made by the funnel's migrations): this only moves the models in Django's state,
then ``0007`` renames the tables and turns ``Lead.stage`` into a foreign key to the stage's slug.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

STAGE_KINDS = [
    ("inquiry", "Inquiry"),
    ("mql", "MQL"),
    ("sal", "SAL"),
    ("sql", "SQL"),
    ("opportunity", "Opportunity"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("nurture", "Nurture"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0005_csv_import"),
        ("funnel", "0003_routing_and_settings"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RejectReason",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("slug", models.SlugField(max_length=60, unique=True)),
                        ("label", models.CharField(max_length=120)),
                        ("active", models.BooleanField(default=True)),
                        ("order", models.PositiveSmallIntegerField(default=0)),
                    ],
                    options={"ordering": ["order", "label"], "db_table": "funnel_rejectreason"},
                ),
                migrations.CreateModel(
                    name="Stage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("slug", models.SlugField(max_length=40, unique=True)),
                        ("name", models.CharField(max_length=80)),
                        ("kind", models.CharField(choices=STAGE_KINDS, max_length=20)),
                        ("order", models.PositiveSmallIntegerField()),
                        ("team", models.CharField(choices=[("marketing", "Marketing"), ("sales", "Sales")], max_length=20)),
                        ("sla_hours", models.PositiveIntegerField(blank=True, null=True)),
                    ],
                    options={"ordering": ["order", "id"], "db_table": "funnel_stage"},
                ),
                migrations.CreateModel(
                    name="Transition",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("at", models.DateTimeField()),
                        ("rule", models.CharField(blank=True, help_text="The system rule that moved the lead.", max_length=100)),
                        ("reason", models.CharField(blank=True, max_length=500)),
                        ("amount", models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True)),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("from_stage", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="leads.stage")),
                        ("to_stage", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="leads.stage")),
                        ("lead", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="transitions", to="leads.lead")),
                        ("reject_reason", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="transitions", to="leads.rejectreason")),
                    ],
                    options={
                        "ordering": ["-at", "-id"],
                        "db_table": "funnel_transition",
                        "indexes": [
                            models.Index(fields=["lead", "-at"], name="transition_lead_time_idx"),
                            models.Index(fields=["to_stage", "at"], name="transition_to_time_idx"),
                            models.Index(fields=["at"], name="transition_time_idx"),
                        ],
                        "constraints": [
                            models.CheckConstraint(condition=models.Q(("amount__gte", 0), ("amount", None), _connector="OR"), name="transition_amount_ok"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
