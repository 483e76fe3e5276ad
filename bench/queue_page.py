"""Benchmark: the manager's hand-off queue page (/queue/) with thousands of hand-offs waiting.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/queue_page.py [--waiting N]

The script creates its own PostgreSQL database next to the one of DATABASE_URL, migrates it, loads
``--waiting`` open hand-offs (a third overdue, spread over 20 reps and the unassigned queue), starts gunicorn
(2 sync workers) and signs a manager in. ``--clients`` threads then load queue pages as a manager would: the
first page, the pages after it (by the "next" cursor), one rep's queue and the overdue filter. It prints the
p50/p95/max latency and the page size against the target (p95 ≤ 300 ms), and, as the physical limit, the
time of the page's SQL (the keyset scan and the page's rows) run directly. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import gunicorn, percentile, scratch_database, setup_django

TARGET_P95_MS = 300
PASSWORD = "bench-manager-password-42"


def load(*, waiting: int, reps: int) -> None:
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from funnel.models import Handoff
    from leads.models import Lead

    manager = User.objects.create_user("manager", password=PASSWORD, first_name="Max", last_name="Manager")
    manager.groups.add(Group.objects.get(name="managers"))
    sales = Group.objects.get(name="sales")
    rep_users = [User.objects.create_user(f"rep{i}", first_name="Rep", last_name=str(i)) for i in range(reps)]
    for user in rep_users:
        user.groups.add(sales)
    now = timezone.now()
    breakdown = [{"rule": "VP title", "points": 30}, {"rule": "Pricing page", "points": 12}]
    leads = Lead.objects.bulk_create(
        [
            Lead(
                email=f"lead{i}@example.com",
                first_name="Lead",
                last_name=str(i),
                company=f"Company {i % 400}",
                job_title="VP Sales",
                stage_id="mql",
                score=70 + i % 30,
                grade="A",
                score_breakdown=breakdown,
                created_at=now,
                updated_at=now,
            )
            for i in range(waiting)
        ],
        batch_size=2000,
    )
    handoffs = []
    for i, lead in enumerate(leads):
        rep = rep_users[i % (reps + 1)] if i % (reps + 1) < reps else None
        due = now - timedelta(hours=1 + i % 7) if i % 3 == 0 else now + timedelta(hours=1 + i % 20)
        handoffs.append(Handoff(lead=lead, rep=rep, assigned_at=now - timedelta(days=1), sla_due_at=due))
        lead.owner = rep
    Handoff.objects.bulk_create(handoffs, batch_size=2000)
    Lead.objects.bulk_update(leads, ["owner"], batch_size=2000)


def sign_in(base: str) -> dict[str, str]:
    import httpx

    with httpx.Client(base_url=base) as client:
        client.get("/accounts/login/")
        response = client.post(
            "/accounts/login/",
            data={
                "username": "manager",
                "password": PASSWORD,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/accounts/login/"},
        )
        assert response.status_code == 302, f"login failed: {response.status_code}"
        return dict(client.cookies)


NEXT = re.compile(r'rel="next" href="([^"]+)"')


def client_run(
    base: str, cookies: dict[str, str], rep_id: int, requests: int, out: list[tuple[float, int]]
) -> None:
    import httpx

    paths = ["/queue/", f"/queue/?rep={rep_id}", "/queue/?overdue=1", "/queue/?rep=unassigned"]
    with httpx.Client(base_url=base, cookies=cookies, timeout=30) as http:
        done, following = 0, None
        while done < requests:
            path = following or paths[done % len(paths)]
            started = time.perf_counter()
            response = http.get(path)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (path, response.status_code)
            out.append((elapsed, len(response.content)))
            match = NEXT.search(response.text)
            # walk a few pages deep now and then, as someone working through the queue would
            link = match.group(1).replace("&amp;", "&") if match and done % 3 else None
            following = "/queue/" + link if link and link.startswith("?") else link
            done += 1


def physical_limit() -> float:
    """The first page's SQL alone (the keyset scan, then the page's hand-offs with lead, campaign and rep),
    best of five: the time the database spends, without turning rows into a page."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from funnel.queue import QueueFilter, queue_page

    manager = User.objects.get(username="manager")
    best = float("inf")
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            queue_page(user=manager, show=QueueFilter(), cursor=None, now=timezone.now())
        best = min(best, sum(float(query["time"]) for query in queries.captured_queries))
    connection.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--waiting", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=40, help="per client")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    with scratch_database("bench_queue") as url:
        setup_django(url)
        from django.contrib.auth.models import User
        from django.db import connections

        started = time.perf_counter()
        load(waiting=args.waiting, reps=args.reps)
        print(f"loaded {args.waiting} waiting hand-offs in {time.perf_counter() - started:.1f} s")
        limit = physical_limit()
        rep_id = User.objects.get(username="rep0").pk
        connections.close_all()
        with gunicorn(url, workers=2) as (port, _pid):
            base = f"http://127.0.0.1:{port}"
            cookies = sign_in(base)
            warm: list[tuple[float, int]] = []
            client_run(base, cookies, rep_id, 4, warm)
            results: list[tuple[float, int]] = []
            threads = [
                threading.Thread(target=client_run, args=(base, cookies, rep_id, args.requests, results))
                for _ in range(args.clients)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        times = [t * 1000 for t, _ in results]
        sizes = [size for _, size in results]
        p95 = percentile(times, 0.95)
        print(
            f"/queue/ as a manager, {args.waiting} waiting, {args.clients} clients, {len(times)} requests "
            f"in {wall:.1f} s ({len(times) / wall:.0f} req/s)"
        )
        print(
            f"  latency p50 {percentile(times, 0.5):.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms "
            f"(target p95 ≤ {TARGET_P95_MS} ms: {'met' if p95 <= TARGET_P95_MS else 'MISSED'})"
        )
        print(f"  page size: median {percentile(sizes, 0.5) / 1024:.0f} KiB, max {max(sizes) / 1024:.0f} KiB")
        print(
            f"  physical limit: the page's SQL alone {limit * 1000:.1f} ms; p50 / limit = "
            f"{percentile(times, 0.5) / (limit * 1000):.0f}x"
        )


if __name__ == "__main__":
    main()
