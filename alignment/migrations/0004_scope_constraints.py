# Goal and snapshot scopes become a kind plus a foreign key (step 3 of 3: drop the text, add the rules).

import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alignment', '0003_scope_columns_from_text'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='goal',
            name='scope',
        ),
        migrations.RemoveField(
            model_name='kpisnapshot',
            name='scope',
        ),
        migrations.AddField(
            model_name='kpisnapshot',
            name='scope_ref',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.comparison.Coalesce('campaign', 'persona', 'rep', models.Value(0), output_field=models.BigIntegerField()), output_field=models.BigIntegerField()),
        ),
        migrations.AddConstraint(
            model_name='goal',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('campaign__isnull', True), ('persona__isnull', True), ('rep__isnull', True), ('scope_kind', 'all')), models.Q(('campaign__isnull', False), ('persona__isnull', True), ('rep__isnull', True), ('scope_kind', 'campaign')), models.Q(('campaign__isnull', True), ('persona__isnull', False), ('rep__isnull', True), ('scope_kind', 'persona')), models.Q(('campaign__isnull', True), ('persona__isnull', True), ('rep__isnull', False), ('scope_kind', 'rep')), _connector='OR'), name='goal_scope_fits_kind'),
        ),
        migrations.AddConstraint(
            model_name='kpisnapshot',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('campaign__isnull', True), ('persona__isnull', True), ('rep__isnull', True), ('scope_kind', 'all')), models.Q(('campaign__isnull', False), ('persona__isnull', True), ('rep__isnull', True), ('scope_kind', 'campaign')), models.Q(('campaign__isnull', True), ('persona__isnull', False), ('rep__isnull', True), ('scope_kind', 'persona')), models.Q(('campaign__isnull', True), ('persona__isnull', True), ('rep__isnull', False), ('scope_kind', 'rep')), _connector='OR'), name='kpi_snapshot_scope_fits_kind'),
        ),
        migrations.AddConstraint(
            model_name='kpisnapshot',
            constraint=models.UniqueConstraint(fields=('period', 'scope_kind', 'scope_ref', 'metric'), name='kpi_snapshot_unique_scope'),
        ),
    ]
