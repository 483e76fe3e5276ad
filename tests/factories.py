from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from leads.models import Campaign, Lead, Persona, Stage
from leads.pipeline import record_move


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create:
            self.save()
        for name in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=name)[0])


class PersonaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Persona
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"persona-{n}")
    name = factory.LazyAttribute(lambda p: p.slug.replace("-", " ").title())


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"campaign-{n}")
    name = factory.LazyAttribute(lambda c: c.slug.replace("-", " ").title())
    channel = "paid_search"


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Lead{n}")
    company = "Acme"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        """Tests name a stage by its slug, as clients do: ``LeadFactory(stage="sql")``."""
        if isinstance(kwargs.get("stage"), str):
            kwargs["stage_id"] = kwargs.pop("stage")
        return kwargs


def lead_in_stage(slug: str, *, owner, amount: str | None = None, days_ago: int = 0, **fields) -> Lead:
    """A lead that entered ``slug`` ``days_ago`` days ago, with that move's amount."""
    lead = LeadFactory(owner=owner, **fields)
    record_move(
        lead=lead,
        from_stage=Stage.objects.get(slug="inquiry"),
        to_stage=Stage.objects.get(slug=slug),
        at=timezone.now() - timedelta(days=days_ago),
        amount=Decimal(amount) if amount else None,
        owner=owner,
    )
    return lead
