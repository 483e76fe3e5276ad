"""Benchmark: full rescore against its physical limit, and the incremental path's latency with a real worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/scoring.py \\
        --leads 1000000 --activities 5000000

The script creates a scratch PostgreSQL database next to the one of ``DATABASE_URL`` (``bench.common``),
migrates it, generates the leads (job titles and personas of the demo data, ``leads.demo``) and activities in
SQL, and measures on the same server in one run:

(a) the physical limit: one hand-written ``UPDATE`` computing the default model's fit part with ``CASE``
    expressions for every lead;
(b) our full rescore (``scoring.rescore.rescore_all``: fit + decayed engagement with the 30-day caps +
    breakdown + history rows), as the nightly job runs it;

and prints rows/s for both, the ratio (b)/(a) and the wall time of (b). Then the nightly run, a day later
(scores decay), against the job's true limit on the same data:

(c) computing every score and seeing which changed: the scoring statement's SELECT alone
    (``scoring.scoring_sql.changed_scores_statement``), in the job's id ranges on as many connections;
(d) writing only the changed rows: the new numbers (computed beforehand) written to the leads, with their
    history rows, in the same ranges on as many connections;
(b') our nightly full rescore (``rescore_all``) at the same moment;

and prints (c) + (d), (b') and the ratio ((c) + (d)) / (b'). Then it starts two Celery workers against Redis
(``BENCH_REDIS``, default ``redis://127.0.0.1:6379/12``), one per queue as in production, queues a full
rescore on the bulk queue, and while it runs records activities through the API one at a time and measures
the time from the API call returning to the lead's new score being visible: p50 and p95. The database is
dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, scratch_database, setup_django

REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")

# (type, cumulative share): page views and e-mail opens are common, demo requests rare.
TYPE_MIX = [
    ("page_view", 0.40),
    ("email_open", 0.65),
    ("email_click", 0.73),
    ("content_download", 0.80),
    ("pricing_page_view", 0.85),
    ("form_submit", 0.89),
    ("webinar_attended", 0.92),
    ("event_visit", 0.94),
    ("demo_request", 0.96),
    ("call", 0.98),
    ("meeting", 1.01),
]


def generate(*, leads: int, activities: int) -> None:
    from django.db import connection

    from leads.demo import PERSONAS, TITLES

    type_case = " ".join(f"WHEN r < {share} THEN '{name}'" for name, share in TYPE_MIX)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        for slug, name, description in PERSONAS:
            cursor.execute(
                "INSERT INTO leads_persona (slug, name, description) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                [slug, name, description],
            )
        cursor.execute("SELECT array_agg(id ORDER BY id) FROM leads_persona")
        personas = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO leads_lead (email, first_name, last_name, company, job_title, seniority,
                is_decision_maker, company_size, industry, country, phone, persona_id, source, utm_source,
                utm_medium, utm_campaign, external_id, consent, attributes, score, fit_score,
                engagement_score, grade, score_breakdown, stage, created_at, updated_at, name_key,
                phone_e164)
            SELECT 'lead' || g || '@' || CASE WHEN r_mail < 0.1 THEN 'gmail.com'
                                              ELSE 'firm' || mod(g, 20000) || '.example' END,
                   'Pat', 'Lead' || g, 'Firm ' || mod(g, 20000),
                   (%(titles)s::text[])[t], (%(seniorities)s::text[])[t],
                   CASE WHEN r_dm < 0.85 THEN (%(deciders)s::bool[])[t] END,
                   (ARRAY[8, 25, 60, 120, 250, 600, 1500, 5000, 20000])[1 + floor(r_size * 9)::int],
                   (ARRAY['software', 'logistics', 'retail', 'banking', 'energy'])[1 + floor(r_ind * 5)::int],
                   (ARRAY['DE', 'GB', 'US', 'FR', 'SE', 'IN', 'BR', 'CA'])[1 + floor(r_cty * 8)::int],
                   '',
                   CASE WHEN r_per < 0.9
                        THEN (%(personas)s::bigint[])[1 + floor(r_per / 0.9 * %(n_personas)s)::int] END,
                   'web', '', '', '', '', true, '{}'::jsonb, 0, 0, 0, 'D', '[]'::jsonb, 'inquiry',
                   now() - r_age * interval '365 days', now() - r_age * interval '365 days', '', ''
            FROM (
                SELECT g, 1 + floor(random() * %(n_titles)s)::int AS t,
                       random() AS r_mail, random() AS r_dm, random() AS r_size, random() AS r_ind,
                       random() AS r_cty, random() AS r_per, random() AS r_age
                FROM generate_series(1, %(n)s) AS g
            ) AS s
            """,
            {
                "n": leads,
                "personas": personas,
                "n_personas": len(personas),
                "titles": [title for title, _, _ in TITLES],
                "seniorities": [seniority for _, seniority, _ in TITLES],
                "deciders": [decides for _, _, decides in TITLES],
                "n_titles": len(TITLES),
            },
        )
        cursor.execute("SELECT min(id), max(id) FROM leads_lead")
        lo, hi = cursor.fetchone()
        # Skewed engagement: a few leads do a lot (power law), spread over the id range by a multiplier.
        cursor.execute(
            f"""
            INSERT INTO leads_activity (lead_id, type, occurred_at, external_id, metadata, created_at)
            SELECT %(lo)s + (floor(%(n)s * power(random(), 3))::bigint * 7919) %% %(n)s,
                   CASE {type_case} END,
                   now() - power(random(), 2) * interval '365 days', '', '{{}}'::jsonb,
                   now() - interval '1 day'
            FROM (SELECT random() AS r FROM generate_series(1, %(m)s)) AS s
            """,
            {"lo": lo, "n": hi - lo + 1, "m": activities},
        )
        cursor.execute("UPDATE leads_lead SET updated_at = now() - interval '2 days'")


def vacuum(url: str, table: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {table}")


def physical_limit(url: str) -> tuple[int, float]:
    """(a) One hand-written UPDATE computing the default model's fit part with CASE for every lead."""
    fit = """(
        CASE WHEN seniority IN ('c_level', 'vp', 'director') THEN 20 ELSE 0 END
      + CASE WHEN seniority = 'manager' THEN 10 ELSE 0 END
      + CASE WHEN is_decision_maker THEN 15 ELSE 0 END
      + CASE WHEN company_size >= 200 THEN 10 ELSE 0 END
      + CASE WHEN company_size <= 10 THEN -5 ELSE 0 END
      + CASE WHEN persona_id = ANY(%(target)s) THEN 10 ELSE 0 END
      + CASE WHEN country IN ('DE','AT','CH','SE','NO','DK','FI','GB','IE','US','CA') THEN 5 ELSE 0 END
      + CASE WHEN strpos(lower(job_title), 'student') > 0 THEN -30 ELSE 0 END
      + CASE WHEN strpos(lower(job_title), 'intern') > 0 THEN -20 ELSE 0 END
      + CASE WHEN split_part(email, '@', 2) IN ('gmail.com', 'gmx.de', 'web.de') THEN -15 ELSE 0 END)"""
    with psycopg.connect(url, autocommit=True) as conn:
        target = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM leads_persona WHERE slug IN ('ops-leader', 'it-director', 'finance-head')"
            )
        ]
        started = time.perf_counter()
        cursor = conn.execute(
            f"""UPDATE leads_lead SET fit_score = {fit},
                grade = CASE WHEN {fit} >= 40 THEN 'A' WHEN {fit} >= 25 THEN 'B' WHEN {fit} >= 10 THEN 'C'
                             ELSE 'D' END""",
            {"target": target},
        )
        return cursor.rowcount, time.perf_counter() - started


def full_rescore(reason: str, now: datetime | None = None) -> tuple[int, float]:
    from scoring.rescore import rescore_all

    started = time.perf_counter()
    run = rescore_all(reason=reason, now=now)
    return run.done, time.perf_counter() - started


def _ranges() -> list[tuple[int, int]]:
    from django.db import connection

    from scoring.rescore import FULL_RUN_ID_SPAN

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM leads_lead")
        lo, hi = cursor.fetchone()
    return [(start, start + FULL_RUN_ID_SPAN - 1) for start in range(lo, hi + 1, FULL_RUN_ID_SPAN)]


def _in_ranges(url: str, statement: str, params: dict, *, workers: int) -> tuple[int, float]:
    """Run ``statement`` once per id range of the full run, ``workers`` connections at a time, each range
    in its own transaction with the scoring statement's settings; (sum of the first column, seconds)."""

    def one(lo: int, hi: int) -> int:
        connect = psycopg.connect(url, cursor_factory=psycopg.ClientCursor, autocommit=True)
        with connect as conn, conn.transaction():
            conn.execute("SET LOCAL work_mem = '128MB'")
            conn.execute("SET LOCAL jit = off")
            cursor = conn.execute(statement, {**params, "lo": lo, "hi": hi})
            row = cursor.fetchone() if cursor.description else (cursor.rowcount,)
        return int(row[0] or 0) if row else 0

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        total = sum(pool.map(lambda r: one(*r), _ranges()))
    return total, time.perf_counter() - started


def true_limit_compute(url: str, *, now: datetime, workers: int) -> tuple[int, float]:
    """(c) Every lead's new score computed and compared, nothing written; (changed rows, seconds).

    Also keeps the changed rows in ``bench_changed`` (untimed) for ``true_limit_write``."""
    from scoring import scoring_sql
    from scoring.qualification import active_scoring_model
    from scoring.rules import compile_model

    sql, params = scoring_sql.changed_scores_statement(compile_model(active_scoring_model()), by="range")
    params["now"] = now
    changed, seconds = _in_ranges(url, f"SELECT count(*) FROM ({sql}) AS s", params, workers=workers)
    with psycopg.connect(url, cursor_factory=psycopg.ClientCursor, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_changed")
        conn.execute(
            f"CREATE UNLOGGED TABLE bench_changed AS {sql} WITH NO DATA", {**params, "lo": 0, "hi": 0}
        )
    _in_ranges(url, f"INSERT INTO bench_changed {sql}", params, workers=workers)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE bench_changed ADD PRIMARY KEY (id)")
        conn.execute("ANALYZE bench_changed")
    return changed, seconds


def true_limit_write(url: str, *, now: datetime, version: int, workers: int) -> tuple[int, float]:
    """(d) Only the changed rows written, with their history rows; (rows, seconds)."""
    statement = """
        WITH history AS (
            INSERT INTO scoring_scorechange (lead_id, at, model_version, score, grade, previous_score,
                                             previous_grade, reason)
            SELECT id, %(now)s, %(version)s, score, grade,
                   CASE WHEN old_scored_at IS NULL THEN NULL ELSE old_score END,
                   CASE WHEN old_scored_at IS NULL THEN '' ELSE old_grade END, 'bench: limit'
            FROM bench_changed
            WHERE id BETWEEN %(lo)s AND %(hi)s
              AND (old_scored_at IS NULL OR score <> old_score OR grade <> old_grade)
        ), written AS (
            UPDATE leads_lead l
            SET score = c.score, fit_score = c.fit, engagement_score = c.engagement, grade = c.grade,
                score_breakdown = c.breakdown, scored_at = %(now)s, scoring_version = %(version)s
            FROM bench_changed c
            WHERE l.id = c.id AND c.id BETWEEN %(lo)s AND %(hi)s AND l.id BETWEEN %(lo)s AND %(hi)s
            RETURNING 1
        )
        SELECT count(*) FROM written
    """
    return _in_ranges(url, statement, {"now": now, "version": version}, workers=workers)


def _worker(queue: str) -> subprocess.Popen:
    celery = Path(sys.executable).with_name("celery")
    return subprocess.Popen(
        [
            str(celery),
            "-A",
            "alignment",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{queue}@bench",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "alignment.settings"},
    )


def incremental_latency(*, samples: int) -> tuple[list[float], int]:
    """Seconds from the activity API call returning to the lead's new score being visible, measured while a
    full rescore runs on the bulk worker; also how many samples were taken while it was running."""
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from alignment.celery import app
    from core.queue import enqueue
    from core.tokens import issue_token
    from leads.models import SCORE_WRITE_MARGIN, Lead
    from scoring.models import ScoringRun, ScoringRunStatus

    user, _ = User.objects.get_or_create(username="bench")
    user.groups.add(Group.objects.get(name="marketing"))
    secret = issue_token(user=user, name="bench", scopes=["ingest"]).secret
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    app.loader.import_default_modules()
    with app.connection_for_write() as conn:
        for queue in (settings.CELERY_INTERACTIVE_QUEUE, settings.CELERY_BULK_QUEUE):
            conn.default_channel.queue_purge(queue)
    workers = [_worker(settings.CELERY_INTERACTIVE_QUEUE), _worker(settings.CELERY_BULK_QUEUE)]
    lead_ids = list(Lead.objects.order_by("?").values_list("id", flat=True)[: samples + 3])
    timings: list[float] = []
    during = 0
    try:
        before = ScoringRun.objects.count()
        enqueue("scoring.tasks.rescore_all_task", reason="bench: concurrent")
        deadline = time.perf_counter() + 120
        while ScoringRun.objects.count() == before:
            if time.perf_counter() > deadline:
                raise RuntimeError("the bulk worker did not start the full rescore within 120 s")
            time.sleep(0.05)
        for n, lead_id in enumerate(lead_ids):
            running = ScoringRun.objects.filter(status=ScoringRunStatus.RUNNING).exists()
            response = client.post(
                "/api/v1/activities/",
                {"lead": lead_id, "type": "demo_request"},
                content_type="application/json",
            )
            returned = time.perf_counter()
            assert response.status_code == 201, response.content
            recorded = response.json()["created_at"]
            deadline = returned + 60
            while True:
                with connection.cursor() as cursor:
                    cursor.execute(
                        # Scores are stamped SCORE_WRITE_MARGIN early: computed at scored_at + margin.
                        "SELECT scored_at + %s >= %s::timestamptz FROM leads_lead WHERE id = %s",
                        [SCORE_WRITE_MARGIN, recorded, lead_id],
                    )
                    if cursor.fetchone()[0]:
                        break
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"lead {lead_id} was not rescored within 60 s")
                time.sleep(0.01)
            if n >= 3:  # the first few warm the worker up
                timings.append(time.perf_counter() - returned)
                during += running and ScoringRun.objects.filter(status=ScoringRunStatus.RUNNING).exists()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a warm shutdown waits for the full rescore it is running
                worker.kill()
                worker.wait()
    return timings, during


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=5_000_000)
    parser.add_argument("--samples", type=int, default=40, help="incremental latency samples")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    with scratch_database("bench_scoring", keep=args.keep) as url:
        os.environ.update(REDIS_URL=REDIS, ALLOWED_HOSTS="testserver,localhost", LOG_LEVEL="WARNING")
        try:
            setup_django(url)
            run(url, args)
        finally:
            from django.db import connections

            connections.close_all()


def run(url: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    generate(leads=args.leads, activities=args.activities)
    vacuum(url, "leads_lead")
    vacuum(url, "leads_activity")
    print(
        f"generated {args.leads:,} leads and {args.activities:,} activities in "
        f"{time.perf_counter() - started:.1f} s"
    )

    rows_a, seconds_a = physical_limit(url)
    vacuum(url, "leads_lead")
    rows_b, seconds_b = full_rescore("bench: first run")
    rate_a, rate_b = rows_a / seconds_a, rows_b / seconds_b
    print(
        f"(a) physical limit, one UPDATE with CASE (fit only): {rows_a:,} rows in {seconds_a:.1f} s "
        f"= {rate_a:,.0f} rows/s"
    )
    print(
        f"(b) full rescore, first run (fit + decayed engagement + breakdown + history, every row written): "
        f"{rows_b:,} rows in {seconds_b:.1f} s = {rate_b:,.0f} rows/s; ratio (b)/(a) = {rate_b / rate_a:.2f}"
    )

    from django.conf import settings

    from scoring.qualification import active_scoring_model

    workers = getattr(settings, "SCORING_FULL_RUN_WORKERS", 2)
    nightly = datetime.now().astimezone() + timedelta(days=1)  # a day later: scores have decayed
    vacuum(url, "leads_lead")
    changed, seconds_c = true_limit_compute(url, now=nightly, workers=workers)
    vacuum(url, "leads_lead")
    rows_n, seconds_n = full_rescore("bench: nightly", now=nightly)
    vacuum(url, "leads_lead")
    written, seconds_d = true_limit_write(
        url, now=nightly, version=active_scoring_model().version, workers=workers
    )
    limit = seconds_c + seconds_d
    print(
        f"(c) true limit, compute: every score computed and compared, nothing written, {workers} "
        "connections: "
        f"{rows_n:,} leads in {seconds_c:.1f} s ({changed:,} changed)"
    )
    print(
        f"(d) true limit, write: only the changed rows + history, {workers} connections: {written:,} rows in "
        f"{seconds_d:.1f} s"
    )
    print(
        f"(b') full rescore, nightly (a day later): {rows_n:,} leads in {seconds_n:.1f} s; "
        f"true limit (c)+(d) = {limit:.1f} s; ratio limit/(b') = {limit / seconds_n:.2f} (target >= 0.5), "
        f"wall time {seconds_n:.1f} s (target <= 20 s)"
    )

    timings, during = incremental_latency(samples=args.samples)
    p50 = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) >= 2 else timings[0]
    print(
        f"incremental while a full rescore runs on the bulk queue: API call returned -> new score visible, "
        f"{len(timings)} samples ({during} with the full run going), interactive worker: "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (target p95 <= 1 s)"
    )


if __name__ == "__main__":
    main()
