"""Demo data for the leads app: personas, markets, campaigns with costs and ~5,000 leads over 12 months."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from leads.models import Activity, Campaign, CampaignCost, Lead, Market, Persona

PERSONAS = [
    (
        "ops-leader",
        "Operations leader",
        "Runs operations at a mid-size company; owns the budget for tooling.",
    ),
    ("it-director", "IT director", "Signs off on integrations and security."),
    ("finance-head", "Head of finance", "Cares about cost per seat and payback."),
    ("practitioner", "Practitioner", "Uses the product every day; influences, rarely decides."),
    ("student", "Student", "Researching the field; not a buyer."),
]
MARKETS = [
    ("dach", "DACH", ["DE", "AT", "CH"], []),
    ("nordics", "Nordics", ["SE", "NO", "DK", "FI"], []),
    ("uk-ie", "UK & Ireland", ["GB", "IE"], []),
    ("north-america", "North America", ["US", "CA"], []),
]
CAMPAIGNS = [
    ("spring-webinar", "Spring webinar series", "webinar", 4_000),
    ("search-brand", "Brand search", "paid_search", 9_000),
    ("linkedin-ops", "LinkedIn: ops leaders", "paid_social", 7_500),
    ("ebook-playbook", "E-book: the RevOps playbook", "web", 2_500),
    ("trade-fair", "Trade fair Hannover", "event", 15_000),
    ("partner-intro", "Partner introductions", "partner", 1_500),
    ("newsletter", "Monthly newsletter", "email", 800),
]
FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Emma",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Lars",
    "Mona",
    "Nils",
    "Olga",
    "Paul",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wim",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Aiko",
    "Bruno",
    "Carla",
    "Dmitri",
    "Elena",
    "Felix",
    "Hana",
    "Ivan",
    "Julia",
    "Kofi",
]
LAST = [
    "Müller",
    "Schmidt",
    "Johansson",
    "Smith",
    "Brown",
    "Garcia",
    "Rossi",
    "Novak",
    "Kowalski",
    "Dubois",
    "Jensen",
    "Nielsen",
    "Murphy",
    "O'Brien",
    "Fischer",
    "Weber",
    "Larsen",
    "Berg",
    "Khan",
    "Tanaka",
    "Silva",
    "Meyer",
    "Wagner",
    "Hansen",
    "Andersen",
    "Clarke",
    "Walsh",
    "Lindqvist",
    "Virtanen",
    "Keller",
]
COMPANIES = [
    "Nordwind Logistics",
    "Brightpath Health",
    "Kessler Maschinenbau",
    "Fjord Analytics",
    "Atlas Retail",
    "Bluebird Insurance",
    "Cobalt Energy",
    "Delta Foods",
    "Evergreen Pharma",
    "Falcon Freight",
    "Granite Bank",
    "Harbor Media",
    "Ivy Education",
    "Juniper Telecom",
    "Keystone Construction",
    "Lumen Software",
    "Maple Hotels",
    "Nimbus Cloud",
    "Orbit Aerospace",
    "Pioneer Automotive",
    "Quartz Labs",
    "Riverstone Legal",
    "Summit Consulting",
    "Tidewater Shipping",
    "Umbra Security",
]
INDUSTRIES = [
    "logistics",
    "healthcare",
    "manufacturing",
    "software",
    "retail",
    "insurance",
    "energy",
    "food",
    "pharma",
    "banking",
    "media",
    "education",
    "telecom",
    "construction",
    "hospitality",
]
TITLES = [
    ("Chief Operating Officer", "c_level", True),
    ("CFO", "c_level", True),
    ("CIO", "c_level", True),
    ("VP Operations", "vp", True),
    ("VP Sales", "vp", True),
    ("Director of IT", "director", True),
    ("Director Finance", "director", True),
    ("Head of Operations", "director", True),
    ("Operations Manager", "manager", False),
    ("IT Manager", "manager", True),
    ("Team Lead", "manager", False),
    ("Business Analyst", "individual", False),
    ("Data Engineer", "individual", False),
    ("Operations Specialist", "individual", False),
    ("Intern", "other", False),
    ("Student", "other", False),
]
COUNTRIES = [
    "DE",
    "DE",
    "DE",
    "AT",
    "CH",
    "SE",
    "NO",
    "DK",
    "FI",
    "GB",
    "GB",
    "IE",
    "US",
    "US",
    "US",
    "CA",
    "FR",
    "NL",
    "ES",
    "IT",
    "PL",
    "IN",
    "BR",
]
SOURCES = [
    "web",
    "web",
    "paid_search",
    "paid_search",
    "paid_social",
    "email",
    "event",
    "webinar",
    "referral",
    "partner",
    "outbound",
    "outbound",
    "other",
]
FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com", "gmx.de", "web.de"]


def month_starts(today: date, months: int) -> list[date]:
    first = today.replace(day=1)
    out = []
    for back in range(months - 1, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        out.append(date(year, month + 1, 1))
    return out


@transaction.atomic
def seed_catalogue(*, rng: random.Random, now: datetime) -> None:
    for slug, name, description in PERSONAS:
        Persona.objects.update_or_create(slug=slug, defaults={"name": name, "description": description})
    for slug, name, countries, industries in MARKETS:
        Market.objects.update_or_create(
            slug=slug, defaults={"name": name, "countries": countries, "industries": industries}
        )
    months = month_starts(now.date(), 12)
    for slug, name, channel, monthly in CAMPAIGNS:
        campaign, _ = Campaign.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "channel": channel,
                "utm_campaign": slug.replace("-", "_"),
                "starts_on": months[0],
                "ends_on": None,
            },
        )
        for month in months:
            amount = Decimal(round(monthly * rng.uniform(0.7, 1.3), 2)).quantize(Decimal("0.01"))
            CampaignCost.objects.update_or_create(campaign=campaign, month=month, defaults={"amount": amount})


def _persona_for(title: str, seniority: str, rng: random.Random) -> str:
    if title in ("Student", "Intern"):
        return "student"
    if "IT" in title or title == "CIO" or "Data" in title:
        return "it-director" if seniority in ("c_level", "vp", "director", "manager") else "practitioner"
    if "Finance" in title or title == "CFO":
        return "finance-head"
    if seniority in ("individual", "other"):
        return "practitioner"
    return "ops-leader"


def build_leads(*, count: int, rng: random.Random, now: datetime) -> list[Lead]:
    personas = dict(Persona.objects.values_list("slug", "id"))
    campaigns = list(Campaign.objects.values_list("id", flat=True))
    leads = []
    start = now - timedelta(days=365)
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        title, seniority, decides = rng.choice(TITLES)
        company = rng.choice(COMPANIES)
        free_mail = title in ("Student", "Intern") or rng.random() < 0.08
        domain = rng.choice(FREE_MAIL) if free_mail else company.lower().replace(" ", "") + ".example"
        local = f"{first}.{last}".lower().replace("'", "").replace("é", "e").replace("ü", "u")
        # Growth: later months bring more leads.
        created = start + timedelta(days=365 * (rng.random() ** 0.8))
        source = rng.choice(SOURCES)
        campaign_id = None
        if source not in ("outbound", "referral") and rng.random() < 0.8:
            campaign_id = rng.choice(campaigns)
        leads.append(
            Lead(
                email=f"{local}.{n}@{domain}",
                first_name=first,
                last_name=last,
                company="" if free_mail and rng.random() < 0.5 else company,
                job_title=title,
                seniority=seniority,
                is_decision_maker=decides if rng.random() < 0.85 else None,
                company_size=rng.choice([8, 25, 60, 120, 250, 600, 1500, 5000, 20000]),
                industry=rng.choice(INDUSTRIES),
                country=rng.choice(COUNTRIES),
                phone=f"+49 30 {rng.randint(1000000, 9999999)}" if rng.random() < 0.6 else "",
                persona_id=personas.get(_persona_for(title, seniority, rng)),
                campaign_id=campaign_id,
                source=source,
                utm_source=source if campaign_id else "",
                utm_medium="cpc" if "paid" in source else "",
                consent=rng.random() < 0.9,
                created_at=created,
                updated_at=created,
            )
        )
    return leads


def seed_leads(*, count: int, rng: random.Random, now: datetime | None = None) -> int:
    now = now or timezone.now()
    seed_catalogue(rng=rng, now=now)
    leads = build_leads(count=count, rng=rng, now=now)
    Lead.objects.bulk_create(leads, batch_size=1000, ignore_conflicts=True)
    return len(leads)


# Activity mix: (type, weight for anyone, extra weight for a lead that is close to buying).
ACTIVITY_MIX = [
    ("page_view", 40, 10),
    ("email_open", 25, 2),
    ("email_click", 8, 3),
    ("content_download", 7, 3),
    ("pricing_page_view", 4, 10),
    ("form_submit", 4, 3),
    ("webinar_attended", 3, 3),
    ("event_visit", 2, 2),
    ("demo_request", 1, 6),
    ("call", 2, 5),
    ("meeting", 1, 5),
]


def seed_activities(*, rng: random.Random, now: datetime) -> int:
    """Give every lead an engagement history: a few to a few hundred activities, skewed like real traffic.

    Most leads did a handful of things; a few did a lot. Senior decision-makers lean towards pricing
    views, demo requests and meetings. Inserted in bulk.
    """
    rows = Lead.objects.values_list("id", "created_at", "is_decision_maker", "seniority")
    types = [t for t, _, _ in ACTIVITY_MIX]
    casual = [w for _, w, _ in ACTIVITY_MIX]
    keen = [w + extra for _, w, extra in ACTIVITY_MIX]
    batch: list[Activity] = []
    total = 0
    for lead_id, created_at, decides, seniority in rows.iterator(chunk_size=2000):
        count = min(300, int(rng.paretovariate(1.1) * 2.5))
        buying = bool(decides) and seniority in ("c_level", "vp", "director") and rng.random() < 0.5
        weights = keen if buying else casual
        span = max(1.0, (now - created_at).total_seconds())
        for activity_type in rng.choices(types, weights=weights, k=count):
            # Recent activity is more common than old: skew towards now.
            occurred_at = now - timedelta(seconds=span * (rng.random() ** 2.2))
            batch.append(Activity(lead_id=lead_id, type=activity_type, occurred_at=occurred_at))
        if len(batch) >= 5000:
            Activity.objects.bulk_create(batch, batch_size=5000)
            total += len(batch)
            batch = []
    Activity.objects.bulk_create(batch, batch_size=5000)
    return total + len(batch)
