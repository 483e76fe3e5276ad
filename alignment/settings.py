"""Settings for alignment, read from the environment (twelve-factor).

With nothing set, the app runs on an embedded SQLite database and an embedded Celery broker (kombu's
filesystem transport) under ``var/``. With ``DATABASE_URL`` and ``REDIS_URL`` it runs on PostgreSQL and
Redis. ``.env.example`` lists every variable.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import dj_email_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from alignment.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

# ``./run.sh`` keeps a generated key in var/secret_key (mode 0600), so that the same key serves its web server
# and any ``manage.py`` command run beside it without DEBUG (the README's ``create_api_token`` example).
# SECRET_KEY in the environment, as production sets it, always wins.
SECRET_KEY_FILE = VAR_DIR / "secret_key"
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    SECRET_KEY = SECRET_KEY_FILE.read_text(encoding="utf-8").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY is required when DEBUG is off (set it, or keep one in {SECRET_KEY_FILE})"
        )
    SECRET_KEY = "development-only-secret-key-never-use-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "core",
    "leads",
    "scoring",
    "funnel",
    "alignment",
]

MIDDLEWARE = [
    "core.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.AppErrorMiddleware",
]

ROOT_URLCONF = "alignment.urls"
WSGI_APPLICATION = "alignment.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
    {
        # The SVG charts only (core/templatetags/charts.py says why): escaped like every template.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        # core.postgresql: Django's backend with a health check that needs no round trip while idle.
        "default": dj_database_url.parse(
            DATABASE_URL,
            engine="core.postgresql",
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "alignment.sqlite3",
            # TRICKY: IMMEDIATE makes every transaction take the write lock up front, so two upserts of the
            # same email serialise instead of failing with "database is locked" half-way through.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
# SQLite builds the activity index without its INCLUDE column (a covering index is a PostgreSQL gain only);
# the warning that it says so on every start is not news.
SILENCED_SYSTEM_CHECKS = [] if IS_POSTGRES else ["models.W040"]

# --- Cache and broker -----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Redis answers in well under a millisecond; past this many seconds it is taken to be down.
REDIS_SOCKET_TIMEOUT = env_int("REDIS_SOCKET_TIMEOUT", 2)
if REDIS_URL:
    # Fails open (core.cache): with Redis down, token look-ups go to the database and throttles allow.
    CACHES = {
        "default": {
            "BACKEND": "core.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Rendered template fragments (the ``{% cache %}`` tag: the dashboard's charts and lists), in each process's
# memory: they are keyed by their content, so no process can serve another's stale copy, and a hit costs no
# round trip. A few thousand fragments of some ten kilobytes each at most.
CACHES["template_fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "template-fragments",
    "OPTIONS": {"MAX_ENTRIES": 2000},
}

CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    _queue_dir = VAR_DIR / "celery" / "queue"
    _done_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"
    for _folder in (_queue_dir, _done_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_done_dir),
        "store_processed": False,
        "control_folder": str(_control_dir),
    }
else:
    # A message not acknowledged within an hour is delivered again (acks_late + a killed worker). Short
    # socket timeouts: a publish after commit must never hang a request on a broker that does not answer.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
        # Publishing (core.queue) tries a down broker twice, then gives up: the sweeps redo the work.
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 660)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Seconds between the sweeps that redo work whose broker message was lost (tests make it short).
SWEEP_SECONDS = env_int("SWEEP_SECONDS", 60)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "purge-idempotency-keys": {
        "task": "core.tasks.purge_idempotency_keys_task",
        "schedule": crontab(minute=17),
    },
    # A CSV import whose message was lost or whose worker died is queued again.
    "resume-stalled-csv-imports": {
        "task": "leads.tasks.resume_stalled_imports_task",
        "schedule": crontab(minute="*/5"),
    },
    # Scores decay even without new activity: rescore every lead each night.
    "rescore-all-leads": {
        "task": "scoring.tasks.rescore_all_task",
        "schedule": crontab(hour=2, minute=30),
        "kwargs": {"reason": "nightly"},
    },
    # A lost broker message delays a score or a promotion by one sweep, never loses it (cheap: the sweeps
    # read indexes only).
    # A sweep still queued when the next one is due is dropped (expires): sweeps never pile up behind a
    # backlog.
    "sweep-stale-scores": {
        "task": "scoring.tasks.sweep_stale_scores_task",
        "schedule": float(SWEEP_SECONDS),
        "options": {"expires": float(SWEEP_SECONDS)},
    },
    # A draft's impact count whose message was lost is queued again.
    "sweep-draft-impacts": {
        "task": "scoring.tasks.sweep_draft_impacts_task",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 300.0},
    },
    "funnel-sweep-promotions": {
        "task": "funnel.tasks.sweep_promotions_task",
        "schedule": float(SWEEP_SECONDS),
        "options": {"expires": float(SWEEP_SECONDS)},
    },
    # Floods of API writes leave the planner's statistics behind autovacuum's schedule.
    "analyze-busy-tables": {
        "task": "core.tasks.analyze_busy_tables_task",
        "schedule": 60.0,
    },
    "funnel-mark-sla-breaches": {
        "task": "funnel.tasks.mark_sla_breaches_task",
        "schedule": 60.0,
    },
    "refresh-kpis": {
        "task": "alignment.tasks.refresh_kpis_task",
        "schedule": crontab(minute="*/5"),
    },
    # Alerts for users who chose a daily e-mail digest.
    "send-notification-digests": {
        "task": "core.tasks.send_notification_digests_task",
        "schedule": crontab(hour=7, minute=0),
    },
    # Webhook deliveries that are due again (backoff) or whose message or worker was lost.
    "sweep-webhook-deliveries": {
        "task": "core.tasks.sweep_webhook_deliveries_task",
        "schedule": 60.0,
    },
}

# Interactive work never waits behind bulk work: each kind has its own queue and its own worker
# (``celery -A alignment worker -Q interactive`` and ``-Q bulk``; run.sh and docker-compose start both).
# Interactive: what a person or an API client is waiting to see (a new score, a hand-off, an alert e-mail).
# Bulk: full rescores, imports, KPI refreshes and every periodic sweep.
CELERY_INTERACTIVE_QUEUE = "interactive"
CELERY_BULK_QUEUE = "bulk"
CELERY_TASK_DEFAULT_QUEUE = CELERY_INTERACTIVE_QUEUE
CELERY_INTERACTIVE_TASKS = [
    "scoring.tasks.score_leads_task",
    "funnel.tasks.promote_leads_task",
    "core.tasks.email_notifications_task",
    "core.tasks.deliver_webhooks_task",
]
CELERY_BULK_TASKS = [
    "scoring.tasks.rescore_all_task",
    "scoring.tasks.compute_draft_impact_task",
    "scoring.tasks.sweep_draft_impacts_task",
    "scoring.tasks.sweep_stale_scores_task",
    "leads.tasks.import_csv_task",
    "leads.tasks.resume_stalled_imports_task",
    "alignment.tasks.refresh_kpis_task",
    "funnel.tasks.sweep_promotions_task",
    "funnel.tasks.mark_sla_breaches_task",
    "core.tasks.purge_idempotency_keys_task",
    "core.tasks.send_notification_digests_task",
    "core.tasks.sweep_webhook_deliveries_task",
    "core.tasks.analyze_busy_tables_task",
]
CELERY_TASK_ROUTES = {
    **{name: {"queue": CELERY_INTERACTIVE_QUEUE} for name in CELERY_INTERACTIVE_TASKS},
    **{name: {"queue": CELERY_BULK_QUEUE} for name in CELERY_BULK_TASKS},
}

# --- Auth -----------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Internationalisation -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up if it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- E-mail ---------------------------------------------------------------------------------------------
_email = dj_email_url.parse(env_str("EMAIL_URL", "console:"))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "alignment@localhost")

# --- Security -------------------------------------------------------------------------------------------
HTTPS = env_bool("HTTPS", not DEBUG)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Inline scripts are never allowed; styles come from our own stylesheet only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Request bodies over this size are answered with 413 (core.middleware).
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# --- REST framework -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.BearerTokenAuthentication",
        "core.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env_str("API_THROTTLE_RATE", "60000/min")},
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "alignment API",
    "DESCRIPTION": "One lead pipeline for marketing and sales: ingestion, scoring, funnel, goals and KPIs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: the request bodies come from pydantic models, whose optional fields are JSON Schema `null` unions.
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.document_problems",
    ],
    "ENUM_NAME_OVERRIDES": {
        "GradeEnum": "leads.models.Grade",
        "ActivityTypeEnum": "leads.models.ActivityType",
        "ScoringModelStatusEnum": "scoring.models.ScoringModelStatus",
        "ItemResultStatusEnum": ["created", "updated", "error"],
        "WebhookEventEnum": "core.models.WebhookEventType",
    },
}

IDEMPOTENCY_KEY_TTL_HOURS = 24
# A key whose first request has been running longer than this is taken to be abandoned (a killed worker).
IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS = 300

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"forbidden_without_traceback": {"()": "core.log_filters.ForbiddenWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["forbidden_without_traceback"]},
    },
}

# Submissions one address may send to the public web forms (/f/<key>/) per minute.
WEBFORM_SUBMISSIONS_PER_MINUTE = env_int("WEBFORM_SUBMISSIONS_PER_MINUTE", 10)
# Webhook endpoints on loopback, private or link-local addresses are refused (SSRF) unless this is on (the
# tests turn it on to run a receiver on 127.0.0.1).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
