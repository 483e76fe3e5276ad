"""Benchmark: the lead search (``?search=``, API and page) at a million leads, rare terms and common ones.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/search.py [--leads 1000000]

The script creates a scratch PostgreSQL database next to the one of ``DATABASE_URL`` (``bench.common``),
migrates it (with the search table and its trigram index, ``leads/migrations/0019``), generates the leads
in SQL (``bench.scoring.generate``: e-mail ``lead<n>@firm<n mod 20000>.example`` or ``@gmail.com``, last name
``Lead<n>``, company ``Firm <n mod 20000>``) with spread scores and grades, and asks the lead list for each
term, alone and combined with the list's filters and orderings, through the API (``GET /api/v1/leads/``) and
the page (``GET /leads/``), in-process (Django's test client: the view, the queries and the rendering, no
network). It prints how many leads match, and p50/p95 over ``--repeat`` requests per case; the target is
p95 <= 100 ms for every case. The physical limit for comparison: the index-only count of the rare term's
matches, measured on the same server. The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile, scratch_database, setup_django
from bench.scoring import generate, vacuum

# (label, search term): found once, never, a few hundred times, a tenth, every lead; and two terms.
TERMS = [
    ("rare", "lead123457"),
    ("absent", "zebra"),
    ("a few hundred", "firm1234"),
    ("a tenth", "gmail"),
    ("every lead", "pat"),
    ("two terms", "pat lead99991"),
]
# The list's filters and orderings combined with the search.
VARIANTS = [
    ("newest first", {}),
    ("grade B, highest score", {"grade": "B", "ordering": "-score"}),
    (
        "stage inquiry, score >= 50, oldest first",
        {"stage": "inquiry", "min_score": "50", "ordering": "created_at"},
    ),
]


def spread_scores() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_lead SET score = (id * 7919) % 120 - 20, "
            "grade = (ARRAY['A', 'B', 'C', 'D'])[1 + (id * 31) % 4]"
        )


def matches(term: str) -> int:
    from leads.filters import LeadFilter
    from leads.models import Lead

    return LeadFilter({"search": term}, queryset=Lead.objects.all()).qs.count()


def timed(client, path: str, params: dict, repeat: int) -> list[float]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, params)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, params, response.status_code)
    return timings


def limit_rare(term: str, repeat: int) -> list[float]:
    """The rare term's matches counted from the trigram index alone: what no list can beat."""
    from django.db import connection

    timings = []
    pattern = f"%{term.upper()}%"
    with connection.cursor() as cursor:
        for _ in range(repeat):
            started = time.perf_counter()
            cursor.execute("SELECT count(*) FROM leads_lead_search WHERE upper(text) LIKE %s", [pattern])
            cursor.fetchone()
            timings.append(time.perf_counter() - started)
    return timings


def run(url: str, args: argparse.Namespace) -> None:
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from core.tokens import issue_token

    started = time.perf_counter()
    generate(leads=args.leads, activities=0)
    spread_scores()
    # As autovacuum would after a bulk load: the search table's statistics tell the planner how common
    # a term is.
    vacuum(url, "leads_lead")
    vacuum(url, "leads_lead_search")
    print(f"generated {args.leads:,} leads in {time.perf_counter() - started:.1f} s")

    user, _ = User.objects.get_or_create(username="bench")
    user.groups.add(Group.objects.get(name="marketing"))
    secret = issue_token(user=user, name="bench", scopes=["read"]).secret
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    page = Client()
    page.force_login(user)

    rare = limit_rare(TERMS[0][1], args.repeat)
    print(
        f"limit: the rare term counted from the indexes alone: p50 {percentile(rare, 0.5) * 1000:.1f} ms, "
        f"p95 {percentile(rare, 0.95) * 1000:.1f} ms"
    )
    worst = 0.0
    for label, term in TERMS:
        print(f"{label} ({term!r}): {matches(term):,} leads match")
        for variant, filters in VARIANTS:
            for name, client, path in (("API ", api, "/api/v1/leads/"), ("page", page, "/leads/")):
                timings = timed(client, path, {"search": term, **filters}, args.repeat)
                p95 = percentile(timings, 0.95)
                worst = max(worst, p95)
                print(
                    f"    {name} {variant:<42} p50 {percentile(timings, 0.5) * 1000:6.1f} ms, "
                    f"p95 {p95 * 1000:6.1f} ms"
                )
    print(f"worst p95 {worst * 1000:.1f} ms (target <= 100 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="requests per case")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    with scratch_database("bench_search", keep=args.keep) as url:
        os.environ.update(ALLOWED_HOSTS="testserver,localhost", LOG_LEVEL="WARNING")
        try:
            setup_django(url)
            run(url, args)
        finally:
            from django.db import connections

            connections.close_all()


if __name__ == "__main__":
    main()
