"""Helpers shared by the benchmarks: a scratch PostgreSQL database, a gunicorn server, memory sampling."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("benchmarks run on PostgreSQL: set DATABASE_URL=postgres://user@host:5432/dbname")
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextmanager
def scratch_database(suffix: str, *, keep: bool = False) -> Iterator[str]:
    """Create an empty database next to the configured one; drop it afterwards."""
    import psycopg

    base = postgres_url()
    name = (urlsplit(base).path.lstrip("/") or "alignment") + "_" + suffix
    admin = with_database(base, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(base, name)
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("HTTPS", "false")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("STATIC_MANIFEST", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stat(entry: Path) -> tuple[str, list[str]] | None:
    """A process's command name and the fields of its ``/proc/<pid>/stat`` after the name (the state is
    ``[0]``, the parent ``[1]``, user and system CPU ticks ``[11]`` and ``[12]``); None once it has exited."""
    try:
        head, _, tail = (entry / "stat").read_text().rpartition(")")
    except OSError:
        return None
    return head.partition("(")[2], tail.split()


def _processes() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command name, stat fields) of every live process."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(entry)) is not None:
            yield int(entry.name), *stat


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) used so far by one process, or None once it has exited."""
    stat = _stat(Path(f"/proc/{pid}"))
    if stat is None:
        return None
    return (int(stat[1][11]) + int(stat[1][12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    return [child for child, _, fields in _processes() if int(fields[1]) == pid]


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children that are alive: on a busy machine
    the web workers' CPU per request is a steadier figure than requests per second."""
    return sum(process_cpu_seconds(each) or 0.0 for each in [pid, *_children(pid)])


def _named_cpu_seconds(names: tuple[str, ...]) -> float:
    """CPU time used so far by the live processes whose command is one of ``names``."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, name, fields in _processes() if name in names)
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuSplit:
    """Where the CPU of a measured block went: the web server (``pid`` and its workers), PostgreSQL's server
    processes, Redis, and this benchmark's own client threads. With the machine's cores as the budget, the
    sum per request is what bounds the rate: ``cores / sum`` requests per second at most.

        with CpuSplit(pid) as split:
            ...
        print(split.line(requests))
    """

    SERVICES = {"PostgreSQL": ("postgres",), "Redis": ("redis-server",)}

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.spent: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        readings = {"web": cpu_seconds(self.pid)}
        readings |= {name: _named_cpu_seconds(commands) for name, commands in self.SERVICES.items()}
        readings["client"] = time.process_time()
        return readings

    def __enter__(self) -> CpuSplit:
        self._start = self._read()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._read()
        self.spent = {name: end[name] - self._start[name] for name in end}

    def per(self, count: int) -> dict[str, float]:
        """Milliseconds of CPU per unit of work (a request, a lead) for each part, and their ``sum``."""
        each = {name: seconds * 1000 / max(1, count) for name, seconds in self.spent.items()}
        return each | {"sum": sum(each.values())}

    def line(self, count: int, unit: str = "request") -> str:
        each = self.per(count)
        parts = ", ".join(f"{name} {ms:.2f}" for name, ms in each.items() if name != "sum")
        ceiling = (os.cpu_count() or 1) * 1000 / each["sum"] if each["sum"] else 0
        return (
            f"     CPU ms per {unit}: {parts}; sum {each['sum']:.2f} "
            f"(so {os.cpu_count()} cores allow at most {ceiling:,.0f} a second)"
        )


class MemorySampler(threading.Thread):
    """Samples the resident memory of a process and its children; ``peak_mib`` is the largest sum seen."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pids = [self.pid, *_children(self.pid)]
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(p) for p in pids))
            self._stop_event.wait(self.interval)

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak_kib / 1024


@contextmanager
def gunicorn(
    database_url: str, *, workers: int = 2, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[int, int]]:
    """Start ``gunicorn alignment.wsgi`` with ``workers`` sync workers; yields (port, master pid)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "API_THROTTLE_RATE": "100000000/min",
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "alignment.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def py_spy(pid: int, output: Path, *, rate: int = 200) -> Iterator[None]:
    """Sample ``pid`` and its children with py-spy (raw collapsed stacks into ``output``) while the block
    runs. py-spy ships with the dev dependencies' virtualenv; without it, nothing is recorded."""
    exe = Path(sys.executable).with_name("py-spy")
    if not exe.exists():
        print(f"  (no py-spy beside {sys.executable}: no profile)")
        yield
        return
    command = [str(exe), "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    command += ["--format", "raw", "--rate", str(rate), "--output", str(output)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def _frame_name(frame: str) -> str:
    """``function (path/to/module.py:123)`` → ``function (to/module.py)``: one name for every line."""
    function, _, where = frame.partition(" (")
    filename = where.rsplit(":", 1)[0].rstrip(")")
    return f"{function} ({'/'.join(Path(filename).parts[-2:])})"


def profile_summary(path: Path, *, top: int = 25) -> list[str]:
    """The functions that cost most in a py-spy raw profile: share of the busy samples in which each one
    is on the stack (inclusive), and the leaf functions (self time)."""
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        total += count
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + count
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total:,} busy samples; on the stack (inclusive):"]
    for name, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {count / total:6.1%}  {name}")
    lines.append("  self time (leaf functions):")
    for name, count in sorted(leaf.items(), key=lambda kv: -kv[1])[: top // 2]:
        lines.append(f"    {count / total:6.1%}  {name}")
    return lines
