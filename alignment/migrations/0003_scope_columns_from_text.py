# Goal and snapshot scopes become a kind plus a foreign key (step 2 of 3: fill the columns from the text).
#
# Set-based: one UPDATE per table and kind, the id looked up by slug (or checked, for reps) in a subquery.
# A scope whose campaign, persona or rep no longer exists was already orphaned: it named nothing, and it
# cannot be stored any more; such snapshots are dropped (the next refresh recomputes what exists) and so
# are such goals. Backwards, the text is written again from the columns.

from django.conf import settings
from django.db import migrations
from django.db.models import BigIntegerField, OuterRef, Subquery
from django.db.models.functions import Cast, Substr

KINDS = ("campaign", "persona", "rep")


def _lookups(apps):
    user = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    return {
        "campaign": lambda prefix: apps.get_model("leads", "Campaign").objects.filter(
            slug=Substr(OuterRef("scope"), len(prefix) + 1)
        ),
        "persona": lambda prefix: apps.get_model("leads", "Persona").objects.filter(
            slug=Substr(OuterRef("scope"), len(prefix) + 1)
        ),
        "rep": lambda prefix: user.objects.filter(
            pk=Cast(Substr(OuterRef("scope"), len(prefix) + 1), BigIntegerField())
        ),
    }


def forwards(apps, schema_editor):
    lookups = _lookups(apps)
    for model_name in ("Goal", "KpiSnapshot"):
        model = apps.get_model("alignment", model_name)
        for kind in KINDS:
            prefix = f"{kind}:"
            rows = model.objects.filter(scope__startswith=prefix)
            if kind == "rep":
                rows = rows.filter(scope__regex=r"^rep:[0-9]{1,18}$")
            rows.update(
                scope_kind=kind,
                **{f"{kind}_id": Subquery(lookups[kind](prefix).values("pk")[:1])},
            )
            model.objects.filter(scope_kind=kind, **{f"{kind}_id": None}).delete()
        model.objects.exclude(scope="all").filter(scope_kind="all").delete()


def backwards(apps, schema_editor):
    for model_name in ("Goal", "KpiSnapshot"):
        model = apps.get_model("alignment", model_name)
        model.objects.filter(scope_kind="all").update(scope="all")
        for kind, column in (("campaign", "campaign__slug"), ("persona", "persona__slug")):
            for pk, slug in model.objects.filter(scope_kind=kind).values_list("pk", column):
                model.objects.filter(pk=pk).update(scope=f"{kind}:{slug}")
        for pk, rep_id in model.objects.filter(scope_kind="rep").values_list("pk", "rep_id"):
            model.objects.filter(pk=pk).update(scope=f"rep:{rep_id}")


class Migration(migrations.Migration):

    dependencies = [
        ('alignment', '0002_scope_columns'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
