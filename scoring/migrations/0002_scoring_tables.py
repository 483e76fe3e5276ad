"""The scoring tables take the scoring app's names."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0001_initial"),
        ("leads", "0008_scoring_to_its_own_app"),
    ]

    operations = [
        migrations.AlterModelTable(name="scoringmodel", table=None),
        migrations.AlterModelTable(name="scorechange", table=None),
        migrations.AlterModelTable(name="scoringrun", table=None),
    ]
