from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
application = get_wsgi_application()
# Import every view now, while the worker boots, rather than in its first request (Django loads the URLconf
# lazily): the first request of each worker would otherwise wait for a few hundred milliseconds of imports.
get_resolver().url_patterns  # noqa: B018
