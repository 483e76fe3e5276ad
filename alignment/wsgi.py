from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
application = get_wsgi_application()
# Import every view now, while the worker boots, rather than in its first request (Django loads the URLconf
# lazily): the first request of each worker would otherwise wait for a few hundred milliseconds of imports.
get_resolver().url_patterns  # noqa: B018
# Everything loaded so far lives as long as the worker: move it out of the collector's generations, so that
# the full collections that a large request's allocations trigger do not walk the whole loaded application
# each time (and, with gunicorn's --preload, do not touch, and so copy, the pages the workers share).
gc.freeze()
