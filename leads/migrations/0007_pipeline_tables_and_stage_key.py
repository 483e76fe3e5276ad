"""The pipeline's tables take the leads app's names, and ``Lead.stage`` becomes a real foreign key.

The column keeps its name and its slug values (``to_field="slug"``): raw SQL, CSV and the API are unchanged,
and the database now refuses a stage that does not exist.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0006_pipeline_from_funnel"),
        ("funnel", "0004_pipeline_to_leads"),
    ]

    operations = [
        migrations.AlterModelTable(name="stage", table=None),
        migrations.AlterModelTable(name="rejectreason", table=None),
        migrations.AlterModelTable(name="transition", table=None),
        migrations.AlterField(
            model_name="lead",
            name="stage",
            field=models.ForeignKey(db_column="stage", db_index=False, default="inquiry", on_delete=django.db.models.deletion.PROTECT, related_name="+", to="leads.stage", to_field="slug"),
        ),
    ]
