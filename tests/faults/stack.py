"""A real deployment in miniature for the fault and scale-out tests: redis-server, gunicorn, Celery.

Every process runs in its own process group, with the code of this checkout, against the test database
(``transactional_db``: what the test writes is committed, so the servers see it) and a Redis of its own on
a free port: the shared Redis and PostgreSQL are never restarted. ``Stack.close`` kills every group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from django.db import connection

from alignment.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    condition: Callable[[], Any], *, timeout: float, interval: float = 0.25, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(interval)


def test_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's ``test_…`` database)."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def terminate_database_connections() -> int:
    """``pg_terminate_backend`` every other connection to this test's database (no one else's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


class Process:
    """One child process (and its children) in a process group of its own, logging to a file."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.expected_exit = False  # set when the test stops it, so the supervisor leaves it dead
        self.popen = subprocess.Popen(  # noqa: S603
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group: the process and every child it forked."""
        self.expected_exit = True
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=30)
        self._log.close()

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL whatever is left of the group."""
        self.expected_exit = True
        if self.alive:
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        self.kill()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_log(self, text: str, *, timeout: float) -> None:
        wait_until(lambda: text in self.log_text(), timeout=timeout, what=f"{self.name} to log {text!r}")

    def running_tasks(self) -> int:
        """Tasks a Celery worker has taken and not finished, from its log (received minus finished)."""
        text = self.log_text()
        finished = sum(text.count(word) for word in ("] succeeded in", "] retry:", "] raised unexpected"))
        return text.count("] received") - finished

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Stack:
    """redis-server, gunicorns, Celery workers and beat for one test; ``close`` ends them all."""

    def __init__(self, tmp: Path, *, sweep_seconds: int = 5) -> None:
        self.tmp = tmp
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.processes: list[Process] = []
        self.redis: Process | None = None
        self.workers: list[Process] = []
        # Workers that died on their own and were started again, as the deployment's restart policy does.
        self.crashed: list[str] = []
        self._closing = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "alignment.settings",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "fault-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "DEBUG": "false",
            "HTTPS": "false",
            "STATIC_MANIFEST": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "VAR_DIR": str(tmp / "var"),
            "SWEEP_SECONDS": str(sweep_seconds),
            "REDIS_SOCKET_TIMEOUT": "2",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }

    # --- Redis -------------------------------------------------------------------------------------------
    def start_redis(self) -> None:
        """A Redis that forgets everything when it stops: a restart loses every queued message."""
        self.redis = self._spawn(
            f"redis-{len(self.processes)}",
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
        )
        wait_until(self._redis_answers, timeout=30, what="redis-server to answer")

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.kill()
        self.redis = None

    # --- Web and workers ---------------------------------------------------------------------------------
    def start_gunicorn(self, name: str, *, workers: int = 2) -> str:
        port = free_port()
        self._spawn(
            name,
            [
                str(BIN / "gunicorn"),
                "alignment.wsgi:application",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
                "--graceful-timeout",
                "5",
            ],
        )
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: self._answers(base), timeout=90, interval=0.5, what=f"{name} to answer")
        return base

    @staticmethod
    def _answers(base: str) -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=5).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    def start_worker(self, name: str, *, concurrency: int = 2) -> Process:
        """A Celery worker, once it is consuming."""
        worker = self._spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "alignment",
                "worker",
                "-Q",
                "interactive,bulk",  # both queues, as one worker of a small deployment does
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
        )
        worker.wait_for_log(" ready.", timeout=120)
        self.workers.append(worker)
        if not self._supervisor.is_alive() and not self._closing.is_set():
            self._supervisor.start()
        return worker

    def live_worker(self) -> Process:
        return [w for w in self.workers if w.alive][-1]

    def _supervise(self) -> None:
        """Start a worker again when it exits on its own (``restart: unless-stopped`` in docker-compose).

        TRICKY: kombu 5.7 can crash a worker that holds an unacknowledged message when Redis goes away
        ("Unrecoverable error: AttributeError … 'hostname'" while restoring it); production relies on the
        restart policy, so the test does the same and reports how often it happened.
        """
        while not self._closing.wait(0.5):
            for worker in list(self.workers):
                if not worker.alive and not worker.expected_exit:
                    worker.expected_exit = True
                    self.crashed.append(worker.name)
                    self.start_worker(f"{worker.name}-restarted")

    def start_beat(self) -> Process:
        return self._spawn(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "alignment",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.tmp / "celerybeat-schedule"),
            ],
        )

    def send_task(self, name: str, **kwargs: Any) -> None:
        """Queue a task on this stack's broker (the test process's own settings point elsewhere)."""
        with celery_app.connection_for_write(self.redis_url) as conn:
            celery_app.send_task(name, kwargs=kwargs, connection=conn)

    def _spawn(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, env=self.env, log_dir=self.tmp)
        self.processes.append(process)
        return process

    def close(self) -> None:
        self._closing.set()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=150)
        for process in reversed(self.processes):
            if process.alive:
                process.stop(timeout=10)

    def logs(self, lines: int = 30) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail(lines)}" for p in self.processes)
