"""Each pytest-xdist worker gets a Redis database and a broker folder of its own.

Loaded with ``-p tests.isolation`` (pyproject's addopts), before pytest-django imports the settings: the
settings read ``REDIS_URL`` and ``VAR_DIR`` once, at import. Without it, one worker's ``cache.clear()``
would empty the other's cache mid-test and a Celery worker started by one test could take the other
worker's tasks. PostgreSQL needs nothing here: pytest-django gives every worker its own test database.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # Redis's default number of databases


def worker_number() -> int | None:
    """0 for "gw0", 1 for "gw1", …; None outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker.removeprefix("gw")) if worker.startswith("gw") else None


def redis_url_for(url: str, worker: int) -> str:
    """The same server, counting databases down from the configured one: db 15 → 15 for gw0, 14 for gw1."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base - worker) % REDIS_DATABASES}"))


def isolate(environ: dict[str, str] | os._Environ[str], worker: int) -> None:
    if environ.get("REDIS_URL"):
        environ["REDIS_URL"] = redis_url_for(environ["REDIS_URL"], worker)
    var_dir = Path(environ.get("VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    environ["VAR_DIR"] = str(var_dir / f"test-gw{worker}")


_worker = worker_number()
if _worker is not None:
    isolate(os.environ, _worker)
