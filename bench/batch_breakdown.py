"""Where the time of one 1,000-lead batch goes: JSON parse, validation, upsert + transitions, COMMIT, and the
response's serialisation, through the code that ``POST /api/v1/leads/batch/`` runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alignment python bench/batch_breakdown.py [--batches 20]

Each round sends a batch of new leads (all created), then the same batch again (all updated), inside
Django's request signals as a web worker would (so queued messages wait for the end of the "request", as in
production). Prints, for created and for updated batches, the median of each phase in wall and CPU
milliseconds (``time.process_time``: this process only) and its share of the batch, and the CPU that the
database server's backend spent on the batch (its ``/proc`` entry, so PostgreSQL on this machine; the mean,
as the kernel counts it in ticks of 10 ms). Runs in a scratch database next to the configured one and drops
it afterwards.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import process_cpu_seconds, scratch_database, setup_django
from bench.ingest import synthetic_leads

PHASES = ("JSON parse", "validation", "upsert + transitions", "COMMIT", "response")


class Clock:
    """Wall and CPU seconds spent in named phases of one batch."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.reset()

    def reset(self) -> None:
        self.wall = dict.fromkeys(PHASES, 0.0)
        self.cpu = dict.fromkeys(PHASES, 0.0)

    def copy(self) -> Clock:
        copied = Clock()
        copied.wall, copied.cpu = dict(self.wall), dict(self.cpu)
        return copied

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] += time.perf_counter() - wall
            self.cpu[name] += time.process_time() - cpu

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                return function(*args, **kwargs)

        return timed


def one_batch(body: bytes, clock: Clock) -> dict[str, Any]:
    """Run a batch through the parser, ``upsert_leads`` and the renderer, as the view does."""
    from django.core.signals import request_finished, request_started
    from rest_framework.renderers import JSONRenderer

    from core.parsers import StrictJSONParser
    from core.serializers import batch_items
    from leads.api import batch_response
    from leads.ingest import MAX_BATCH, upsert_leads

    request_started.send(sender=one_batch)
    try:
        started = time.perf_counter(), time.process_time()
        with clock.phase("JSON parse"):
            data = StrictJSONParser().parse(io.BytesIO(body))
        items = batch_items(data, key="leads", limit=MAX_BATCH)
        result = upsert_leads(items=items)
        stored = time.perf_counter(), time.process_time()
        with clock.phase("response"):
            rendered = JSONRenderer().render(batch_response(result).data)
    finally:
        request_finished.send(sender=one_batch)
    # What the wrapped validation and COMMIT did not take of the upsert is the statements and their
    # companions (match keys, signals, webhook events).
    inner = ("JSON parse", "validation", "COMMIT")
    clock.wall["upsert + transitions"] = stored[0] - started[0] - sum(clock.wall[p] for p in inner)
    clock.cpu["upsert + transitions"] = stored[1] - started[1] - sum(clock.cpu[p] for p in inner)
    return json.loads(rendered)


def report(title: str, clocks: list[Clock], server: list[float]) -> None:
    wall = {p: statistics.median(c.wall[p] for c in clocks) * 1000 for p in PHASES}
    cpu = {p: statistics.median(c.cpu[p] for c in clocks) * 1000 for p in PHASES}
    # Shares of the sum of the medians, so that they add up to the whole.
    total_wall, total_cpu = sum(wall.values()), sum(cpu.values())
    print(f"{title} ({len(clocks)} batches, medians):")
    print(f"  {'phase':<22}{'wall ms':>9}{'share':>8}{'CPU ms':>9}{'share':>8}")
    for name in PHASES:
        print(
            f"  {name:<22}{wall[name]:>9.1f}{wall[name] / total_wall:>8.0%}"
            f"{cpu[name]:>9.1f}{cpu[name] / total_cpu:>8.0%}"
        )
    print(f"  {'batch':<22}{total_wall:>9.1f}{'':>8}{total_cpu:>9.1f}")
    if server:
        mean = statistics.mean(server) * 1000
        print(f"  database backend CPU  {mean:.1f} ms a batch (mean of {len(server)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20, help="rounds of 1,000 new then updated leads")
    parser.add_argument("--size", type=int, default=1000, help="leads per batch (default 1,000)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    with scratch_database("batch_breakdown", keep=args.keep) as url:
        setup_django(url)
        from django.db import connection

        from leads import ingest

        clock = Clock()
        # The phases inside ``upsert_leads``, timed where the real code calls them.
        ingest.validate_leads = clock.wrap("validation", ingest.validate_leads)
        connection._commit = clock.wrap("COMMIT", connection._commit)  # type: ignore[method-assign]

        leads = synthetic_leads(args.size * (args.batches + 1))
        created: list[Clock] = []
        updated: list[Clock] = []
        server: dict[str, list[float]] = {"created": [], "updated": []}
        print(f"{args.batches} rounds of {args.size:,} leads; PostgreSQL at {url.rsplit('@', 1)[-1]}")
        # The first round warms the caches (statements, validators) and is not counted.
        for round_ in range(args.batches + 1):
            body = json.dumps({"leads": leads[round_ * args.size : (round_ + 1) * args.size]}).encode()
            for runs, status in ((created, "created"), (updated, "updated")):
                clock.reset()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    (pid,) = cursor.fetchone()
                before = process_cpu_seconds(pid)
                answer = one_batch(body, clock)
                after = process_cpu_seconds(pid)
                if round_ and before is not None and after is not None:
                    server[status].append(after - before)
                if answer[status] != args.size:
                    sys.exit(f"expected {args.size} {status}, got {answer}")
                if round_:
                    runs.append(clock.copy())
        report("new leads", created, server["created"])
        report("the same leads again (updates)", updated, server["updated"])


if __name__ == "__main__":
    main()
