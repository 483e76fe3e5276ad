"""A lead's transitions: the lead and the stage reached are indexed by the composite indexes that start
with them, the nullable foreign keys only where set (a new lead's first transition sets none of them). The
constraints stay as they are."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0020_lead_fk_indexes_where_set'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='transition',
            index=models.Index(condition=models.Q(('from_stage__isnull', False)), fields=['from_stage'], name='transition_from_stage_idx'),
        ),
        migrations.AddIndex(
            model_name='transition',
            index=models.Index(condition=models.Q(('actor__isnull', False)), fields=['actor'], name='transition_actor_idx'),
        ),
        migrations.AddIndex(
            model_name='transition',
            index=models.Index(condition=models.Q(('reject_reason__isnull', False)), fields=['reject_reason'], name='transition_reject_reason_idx'),
        ),
        migrations.AddIndex(
            model_name='transition',
            index=models.Index(condition=models.Q(('lost_reason__isnull', False)), fields=['lost_reason'], name='transition_lost_reason_idx'),
        ),
            DropForeignKeyIndex(
            model_name='transition',
            name='actor',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        DropForeignKeyIndex(
            model_name='transition',
            name='from_stage',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leads.stage'),
        ),
        DropForeignKeyIndex(
            model_name='transition',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='transitions', to='leads.lead'),
        ),
        DropForeignKeyIndex(
            model_name='transition',
            name='lost_reason',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transitions', to='leads.lostreason'),
        ),
        DropForeignKeyIndex(
            model_name='transition',
            name='reject_reason',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transitions', to='leads.rejectreason'),
        ),
        DropForeignKeyIndex(
            model_name='transition',
            name='to_stage',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leads.stage'),
        ),
    ]
