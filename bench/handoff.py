"""Benchmark: promote and route newly qualified leads across sales reps with capacities and territories.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/handoff.py [--leads N] [--reps N]
        [--webhook]

The script creates its own PostgreSQL database on the server of DATABASE_URL, migrates it, loads the leads
(all meeting the MQL bar, in Inquiry) and reps, times ``funnel.handoff.promote_qualified_leads`` (the same
code the Celery sweep runs), checks every lead was handed exactly once, and prints hand-offs per second and
the fairness of the rotation: max - min leads per rep among reps with the same eligibility (same territory,
capacity not reached). For comparison it times the physical limit on the same PostgreSQL: the same rows
written by three raw set-based statements (INSERT … SELECT, UPDATE) with no routing. The database is dropped
at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=5000, help="leads per routing transaction")
    parser.add_argument(
        "--webhook", action="store_true", help="one endpoint subscribed to every event: time the outbox too"
    )
    args = parser.parse_args()

    with scratch_database("bench_handoff") as url:
        os.environ["DATABASE_URL"] = url
        os.environ.pop("REDIS_URL", None)
        os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
        import django

        django.setup()
        try:
            run(leads=args.leads, reps=args.reps, batch=args.batch, webhook=args.webhook)
        finally:
            from django.db import connections

            connections.close_all()


def run(*, leads: int, reps: int, batch: int, webhook: bool) -> None:
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection, transaction

    from alignment.celery import load_urlconf
    from core.models import WebhookDelivery, WebhookEndpoint, WebhookEventType
    from funnel.models import Handoff, RepProfile
    from funnel.promotion import promote_qualified_leads
    from leads.models import Lead, Stage, Transition
    from scoring.models import ScoringModel

    call_command("migrate", verbosity=0)
    ScoringModel.objects.update_or_create(
        version=1, defaults={"status": "active", "mql_threshold": 60, "min_grade": "B"}
    )
    sales = Group.objects.get(name="sales")
    # A quarter of the reps cover DACH only; the rest take any country. Two generalists have a small capacity
    # that fills up during the run; everyone else has room to spare.
    territory_reps = max(1, reps // 4)
    small = 2 if reps - territory_reps > 2 else 0
    per_rep = leads // reps
    profiles = []
    for i in range(reps):
        user = User.objects.create(username=f"rep{i:02d}", email=f"rep{i:02d}@example.com")
        user.groups.add(sales)
        territory = ["DE", "AT", "CH"] if i < territory_reps else []
        capacity = per_rep // 2 if territory_reps <= i < territory_reps + small else per_rep * 3
        profiles.append(RepProfile(user=user, countries=territory, capacity=capacity))
    RepProfile.objects.bulk_create(profiles)

    dach_share = territory_reps / reps
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Lead._meta.db_table} (email, first_name, last_name, company, job_title, seniority,
                industry, country, phone, source, utm_source, utm_medium, utm_campaign, external_id,
                attributes, score, fit_score, engagement_score, grade, score_breakdown, stage,
                created_at, updated_at, name_key, phone_e164)
            SELECT 'lead' || g || '@bench.example', 'Lead', g::text, 'Acme', 'VP', 'vp', 'software',
                CASE WHEN g %% 1000 < %s THEN (ARRAY['DE','AT','CH'])[1 + g %% 3]
                     ELSE (ARRAY['US','GB','FR','SE','NL'])[1 + g %% 5] END,
                '', 'web', '', '', '', '', '{{}}', 80, 50, 30, 'A', '[]', 'inquiry', now(), now(), '', ''
            FROM generate_series(1, %s) AS g
            """,
            [int(dach_share * 1000), leads],
        )
        cursor.execute(f"ANALYZE {Lead._meta.db_table}")
    print(
        f"{leads:,} qualified leads in Inquiry, {reps} reps "
        f"({territory_reps} DACH-only, {small} with a small capacity)"
    )

    if webhook:
        WebhookEndpoint.objects.create(
            url="https://hooks.example.com/in", events=list(WebhookEventType.values), secret="whsec_bench"
        )
        print("one webhook endpoint subscribed to every event")

    load_urlconf()  # as a worker process does when it starts (the alerts write links)
    started = time.perf_counter()
    made = promote_qualified_leads(batch_size=batch)
    elapsed = time.perf_counter() - started

    handed = Handoff.objects.count()
    assert made == handed == leads, (made, handed, leads)
    assert Handoff.objects.values("lead_id").distinct().count() == leads, "a lead was handed twice"
    assert Transition.objects.filter(to_stage__slug="mql").count() == leads
    assert not Lead.objects.exclude(stage="mql").exists()
    if webhook:  # lead.qualified, handoff.assigned and lead.stage_changed for every lead
        assert WebhookDelivery.objects.count() == 3 * leads
    owners = Counter(Lead.objects.values_list("owner_id", flat=True))
    handoff_owners = Counter(Handoff.objects.values_list("rep_id", flat=True))
    assert owners == handoff_owners, "Lead.owner disagrees with the hand-offs"
    unassigned = owners.pop(None, 0)

    groups: dict[tuple, list[int]] = defaultdict(list)
    capped = []
    for profile in RepProfile.objects.all():
        count = owners.get(profile.user_id, 0)
        if profile.capacity is not None and count >= profile.capacity:
            capped.append((profile.user.username, count, profile.capacity))
            continue
        groups[(tuple(sorted(profile.countries)),)].append(count)

    print(
        f"promoted and routed {made:,} leads in {elapsed:.2f} s: "
        f"{made / elapsed:,.0f} hand-offs/s (target >= 5,000)"
    )
    print(f"unassigned: {unassigned}")
    worst = 0
    for (territory,), counts in sorted(groups.items()):
        spread = max(counts) - min(counts)
        worst = max(worst, spread)
        label = "/".join(territory) or "any country"
        print(
            f"  reps for {label}: {len(counts)} reps, "
            f"{min(counts):,} to {max(counts):,} leads each, max - min = {spread}"
        )
    for username, count, capacity in capped:
        print(f"  {username}: at capacity ({count:,} of {capacity:,}), skipped afterwards")
    print(f"fairness: max - min = {worst} among reps with the same eligibility (target <= 1)")

    # The physical limit: the same rows with three set-based statements and no routing, then rolled back.
    mql = Stage.objects.get(slug="mql").pk
    inquiry = Stage.objects.get(slug="inquiry").pk
    rep_ids = [p.user_id for p in RepProfile.objects.order_by("user_id")]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Lead._meta.db_table} SET stage = 'inquiry', owner_id = NULL, sla_due_at = NULL"
        )
        started = time.perf_counter()
        cursor.execute(
            f"INSERT INTO {Transition._meta.db_table} "
            "(lead_id, from_stage_id, to_stage_id, at, rule, reason) "
            f"SELECT id, %s, %s, now(), 'raw', '' FROM {Lead._meta.db_table}",
            [inquiry, mql],
        )
        cursor.execute(
            f"INSERT INTO {Handoff._meta.db_table} "
            "(lead_id, rep_id, assigned_at, sla_due_at, status, late, note) "
            f"SELECT id, (%s::int[])[1 + id %% %s], now(), now() + interval '24 hours', 'raw', false, '' "
            f"FROM {Lead._meta.db_table}",
            [rep_ids, len(rep_ids)],
        )
        cursor.execute(
            f"UPDATE {Lead._meta.db_table} SET stage = 'mql', owner_id = (%s::int[])[1 + id %% %s], "
            f"sla_due_at = now() + interval '24 hours', updated_at = now()",
            [rep_ids, len(rep_ids)],
        )
        raw = time.perf_counter() - started
        transaction.set_rollback(True)
    print(
        f"physical limit (raw INSERT … SELECT x2 + UPDATE, no routing): {leads / raw:,.0f} rows/s; "
        f"routing runs at {raw / elapsed:.0%} of it"
    )


if __name__ == "__main__":
    main()
