"""Settings of the minimal-create limit (``bench/ingest.py``): the product's settings, another URLconf.

Everything else (middleware, database, cache, DRF's renderer and parser) is the product's, so the only
difference measured is the work of the product's view. Never used by the product: only ``bench/ingest.py``
starts a gunicorn with ``DJANGO_SETTINGS_MODULE=bench.minimal_settings``.
"""

from __future__ import annotations

from alignment.settings import *  # noqa: F403  # the product's settings, unchanged but for the URLconf

ROOT_URLCONF = "bench.minimal_urls"
