# Goal and snapshot scopes become a kind plus a foreign key (step 1 of 3: the new columns, still empty).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alignment', '0001_initial'),
        ('leads', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The text scope's unique constraint and index go first, so that backwards they return only once the
    # text is written again (0003 backwards).
    operations = [
        migrations.RemoveConstraint(
            model_name='kpisnapshot',
            name='kpi_snapshot_unique',
        ),
        migrations.RemoveIndex(
            model_name='kpisnapshot',
            name='kpi_period_scope_idx',
        ),
        migrations.AddField(
            model_name='goal',
            name='scope_kind',
            field=models.CharField(choices=[('all', 'All leads'), ('campaign', 'Campaign'), ('persona', 'Persona'), ('rep', 'Rep')], default='all', max_length=10),
        ),
        migrations.AddField(
            model_name='goal',
            name='campaign',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leads.campaign'),
        ),
        migrations.AddField(
            model_name='goal',
            name='persona',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leads.persona'),
        ),
        migrations.AddField(
            model_name='goal',
            name='rep',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='kpisnapshot',
            name='scope_kind',
            field=models.CharField(choices=[('all', 'All leads'), ('campaign', 'Campaign'), ('persona', 'Persona'), ('rep', 'Rep')], default='all', max_length=10),
        ),
        migrations.AddField(
            model_name='kpisnapshot',
            name='campaign',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='leads.campaign'),
        ),
        migrations.AddField(
            model_name='kpisnapshot',
            name='persona',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='leads.persona'),
        ),
        migrations.AddField(
            model_name='kpisnapshot',
            name='rep',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
    ]
