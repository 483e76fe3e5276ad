"""Ingestion benchmark: our batch API against the physical limits of the same PostgreSQL, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alignment python bench/ingest.py [--n 100000]

(a) raw COPY into a scratch table; (b) a raw upsert (COPY into a temp table + INSERT … SELECT … ON CONFLICT);
(c) the same leads through POST /api/v1/leads/batch/ (1000 a request, 4 client connections) to a gunicorn
with 2 workers that this script starts; (d) single-lead POSTs for 20 s at concurrency 4. Prints leads/s for
each, the ratio (c)/(b), p50/p95 latency of (d), and the server's peak memory. Runs in a scratch database
next to the configured one and drops it afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MemorySampler, gunicorn, percentile, scratch_database, setup_django

SENIORITY = ["c_level", "vp", "director", "manager", "individual", "other"]
SOURCES = [
    "web",
    "paid_search",
    "paid_social",
    "email",
    "event",
    "webinar",
    "referral",
    "partner",
    "outbound",
]
COUNTRIES = ["DE", "US", "GB", "FR", "SE", "NL", "CH", "AT", "CA", "IE"]


def synthetic_leads(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "email": f"bench.lead.{i}@company{i % 5000}.example",
            "first_name": rng.choice(["Anna", "Ben", "Chloe", "David", "Emma", "Farid"]),
            "last_name": rng.choice(["Muller", "Smith", "Rossi", "Novak", "Jensen", "Khan"]),
            "company": f"Company {i % 5000}",
            "job_title": rng.choice(["CEO", "VP Operations", "IT Manager", "Analyst", "Student"]),
            "seniority": rng.choice(SENIORITY),
            "is_decision_maker": rng.random() < 0.4,
            "company_size": rng.choice([10, 50, 200, 1000, 5000]),
            "industry": rng.choice(["software", "retail", "logistics", "banking"]),
            "country": rng.choice(COUNTRIES),
            "source": rng.choice(SOURCES),
        }
        for i in range(n)
    ]


def _columns(leads: list[dict]) -> list[str]:
    """The lead columns the synthetic leads fill (each is a writable lead field, as ``leads.fields`` says)."""
    from leads.ingest_sql import WRITABLE_COLUMNS

    columns = list(leads[0])
    unknown = set(columns) - set(WRITABLE_COLUMNS)
    if unknown:
        raise ValueError(f"synthetic leads fill columns clients cannot write: {sorted(unknown)}")
    return columns


def raw_copy(leads: list[dict]) -> float:
    from django.db import connection

    from leads.models import Lead

    columns = _columns(leads)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute(f"CREATE TABLE bench_copy AS SELECT * FROM {Lead._meta.db_table} WITH NO DATA")
        started = time.perf_counter()
        with cursor.cursor.copy(
            f"COPY bench_copy ({', '.join(columns)}, created_at, updated_at) FROM STDIN"
        ) as copy:
            for lead in leads:
                copy.write_row([lead[c] for c in columns] + ["now()", "now()"])
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
    return elapsed


def raw_upsert(leads: list[dict]) -> float:
    from django.db import connection, transaction

    from leads.ingest_sql import JSON_COLUMNS, NEW_LEAD_DEFAULTS
    from leads.models import Lead

    table = Lead._meta.db_table
    columns = _columns(leads)
    others = [c for c in NEW_LEAD_DEFAULTS if c not in columns]
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(f"CREATE TEMP TABLE bench_stage ON COMMIT DROP AS SELECT * FROM {table} WITH NO DATA")
        with cursor.cursor.copy(f"COPY bench_stage ({', '.join(columns)}) FROM STDIN") as copy:
            for lead in leads:
                copy.write_row([lead[c] for c in columns])
        defaults = ", ".join("%s::jsonb" if c in JSON_COLUMNS else "%s" for c in others)
        values = [
            json.dumps(NEW_LEAD_DEFAULTS[c]) if c in JSON_COLUMNS else NEW_LEAD_DEFAULTS[c] for c in others
        ]
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}, {', '.join(others)}, created_at, updated_at) "
            f"SELECT {', '.join(columns)}, {defaults}, now(), now() FROM bench_stage "
            f"ON CONFLICT (lower(email)) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "email")
            + ", updated_at = EXCLUDED.updated_at",
            values,
        )
        elapsed = time.perf_counter() - started
    return elapsed


def truncate_leads() -> None:
    from django.db import connection

    from leads.models import Lead

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Lead._meta.db_table} CASCADE")


def post(conn: http.client.HTTPConnection, path: str, body: bytes, token: str) -> tuple[int, bytes]:
    conn.request(
        "POST",
        path,
        body=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Connection": "keep-alive",
        },
    )
    response = conn.getresponse()
    return response.status, response.read()


def api_batches(
    port: int, token: str, leads: list[dict], clients: int = 4, size: int = 1000
) -> tuple[float, int]:
    bodies = [json.dumps({"leads": leads[i : i + size]}).encode() for i in range(0, len(leads), size)]
    queue = list(enumerate(bodies))
    lock = threading.Lock()
    failures: list[str] = []
    stored = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop()
            status, content = post(conn, "/api/v1/leads/batch/", body, token)
            if status != 200:
                failures.append(f"{status}: {content[:200]!r}")
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                continue
            result = json.loads(content)
            with lock:
                stored[0] += result["created"] + result["updated"]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        print(f"  {len(failures)} failed batches, first: {failures[0]}")
    return elapsed, stored[0]


def api_singles(port: int, token: str, seconds: float, clients: int = 4) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(worker_id: int) -> None:
        n = 0
        mine: list[float] = []
        while time.perf_counter() < deadline:
            body = json.dumps(
                {
                    "email": f"single.{worker_id}.{n}@example.com",
                    "first_name": "Single",
                    "company": "Acme",
                    "seniority": "director",
                    "country": "DE",
                }
            ).encode()
            n += 1
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            started = time.perf_counter()
            status, _ = post(conn, "/api/v1/leads/", body, token)
            mine.append(time.perf_counter() - started)
            conn.close()
            if status not in (200, 201):
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), latencies, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="synthetic leads (default 100,000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the single-lead run")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    with scratch_database("bench_ingest", keep=args.keep) as url:
        setup_django(url)
        from django.contrib.auth.models import Group, User

        from core.tokens import issue_token

        user = User.objects.create(username="bench")
        user.groups.add(Group.objects.get(name="marketing"))
        token = issue_token(user=user, name="bench", scopes=["ingest"]).secret
        leads = synthetic_leads(args.n)
        print(f"{args.n:,} synthetic leads; PostgreSQL at {url.rsplit('@', 1)[-1]}")

        copy_s = raw_copy(leads)
        print(f"(a) raw COPY into a scratch table     {args.n / copy_s:>10,.0f} leads/s  ({copy_s:.2f} s)")
        truncate_leads()
        upsert_s = raw_upsert(leads)
        print(
            f"(b) raw upsert (COPY + ON CONFLICT)   {args.n / upsert_s:>10,.0f} leads/s  ({upsert_s:.2f} s)"
        )
        truncate_leads()

        from django.db import connection

        connection.close()
        with gunicorn(url, workers=2) as (port, pid):
            sampler = MemorySampler(pid)
            sampler.start()
            api_s, stored = api_batches(port, token, leads)
            print(
                f"(c) POST /leads/batch/ (1000 x 4)      {stored / api_s:>10,.0f} leads/s  ({api_s:.2f} s, "
                f"{stored:,} stored)"
            )
            count, latencies, errors = api_singles(port, token, args.seconds)
            peak = sampler.stop()
        rate = count / args.seconds
        print(
            f"(d) single POST /leads/ at 4 clients  {rate:>10,.0f} requests/s  "
            f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms  p95 {percentile(latencies, 0.95) * 1000:.1f} ms"
            f"  ({errors} errors)"
        )
        ratio = (stored / api_s) / (args.n / upsert_s)
        print(f"ratio (c)/(b) = {ratio:.2f}   (target ≥ 0.15)")
        met = rate >= 400 and percentile(latencies, 0.95) <= 0.02
        print(f"(d) target ≥ 400 requests/s with p95 ≤ 20 ms: {'met' if met else 'NOT met'}")
        print(f"server peak memory (gunicorn master + 2 workers): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
