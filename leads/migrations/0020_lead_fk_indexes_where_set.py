"""The lead's nullable foreign keys (persona, campaign, owner) are indexed only where set: a new lead, which
usually has none of them, adds no index entry for them. The constraints stay as they are."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0019_lead_search_table'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('persona__isnull', False)), fields=['persona'], name='lead_persona_idx'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('campaign__isnull', False)), fields=['campaign'], name='lead_campaign_idx'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('owner__isnull', False)), fields=['owner'], name='lead_owner_idx'),
        ),
        DropForeignKeyIndex(
            model_name='lead',
            name='campaign',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='leads', to='leads.campaign'),
        ),
        DropForeignKeyIndex(
            model_name='lead',
            name='owner',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='owned_leads', to=settings.AUTH_USER_MODEL),
        ),
        DropForeignKeyIndex(
            model_name='lead',
            name='persona',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='leads', to='leads.persona'),
        ),
    ]
