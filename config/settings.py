"""Settings for SSR Rewards, read from the environment with django-environ.

With nothing set the app runs on SQLite with Celery tasks run eagerly, so a newcomer
needs nothing but Python. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and a
Redis broker; ``DJANGO_PRODUCTION=1`` turns on the production hardening.
"""

import datetime as dt
import re
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from config.database import pool_connection_check

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PRODUCTION = env.bool("DJANGO_PRODUCTION", default=False)
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    # DEBUG shows settings, SQL and tracebacks to anyone and turns the secret checks below off.
    raise ImproperlyConfigured("DJANGO_DEBUG is on with DJANGO_PRODUCTION=1: production runs with DEBUG off.")
# Secrets that were ever written down in this repository (defaults, the old compose file):
# anyone can read them, so they sign nothing outside a developer's machine.
PUBLIC_SECRETS = frozenset(
    {
        "change-me-in-production",
        "dev-only-insecure-key-do-not-use-in-production",
        "dev-only-order-events-secret",
    }
)


def secret_required(name: str, value: str, *, min_length: int) -> str:
    """In production and whenever DEBUG is off (``DJANGO_DEBUG=0``) a secret must be set, not
    one of the public ones, and long enough to resist guessing; the app refuses to start
    otherwise. A developer's machine (DEBUG, the default without ``DJANGO_PRODUCTION``) and the
    test suite run with the public defaults."""
    if DEBUG and not PRODUCTION:
        return value
    # Judged without its whitespace: a public default padded with spaces to 50 characters is
    # still the public default, and spaces are not random characters.
    core = "".join(value.split())
    if not core:
        raise ImproperlyConfigured(f"Set the {name} environment variable (DEBUG is off).")
    if core in PUBLIC_SECRETS or core.startswith(("dev-only", "django-insecure")):
        raise ImproperlyConfigured(f"{name} is a public default value: set a random secret (DEBUG is off).")
    if len(core) < min_length or len(set(core)) < 5:
        raise ImproperlyConfigured(
            f"{name} is too short or too simple: use at least {min_length} random characters (spaces do not count)."
        )
    return value


if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")
else:
    SECRET_KEY = env.str(
        "DJANGO_SECRET_KEY", default="" if not DEBUG else "dev-only-insecure-key-do-not-use-in-production"
    )
# Django's own deployment check asks for 50 characters.
SECRET_KEY = secret_required("DJANGO_SECRET_KEY", SECRET_KEY, min_length=50)
if PRODUCTION:
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
else:
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# A refused form gets a page in the member layout (or the admin's), in Japanese (config/errors.py).
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"

INSTALLED_APPS = [
    # First, so that its templates (backoffice/templates/admin/…) override the admin's own.
    "backoffice",
    "backoffice.apps.SSRAdminConfig",  # django.contrib.admin with the back-office site (docs/admin.md)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # pg_trgm indexes of the member search; harmless on SQLite
    "subscriptions",
    "ssr_points",
    "exchange",
    "fulfilment",
    "jobs",
    "order_events",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A 404 is the member's Japanese page also with DEBUG on (the demo), config/errors.py.
    "config.errors.NotFoundPageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# Database: SQLite by default, PostgreSQL (psycopg 3 with Django's pool) from DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    # Parameters sent apart from the SQL text, so the same query is the same statement, and
    # psycopg prepares a statement on a connection once it has run it 5 times: PostgreSQL
    # stops parsing and planning it again (docs/performance.md). DATABASE_PREPARE_THRESHOLD=
    # (empty) turns preparing off, for a pooler that cannot keep prepared statements.
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
    prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = int(prepare_threshold) if prepare_threshold else None
    # A database that accepts connections and never answers (a hung server, dropped packets)
    # must not hold a connection attempt for ever (libpq's default): the pool has few workers
    # to reconnect with (tests/faults/test_database_down.py, docs/faults.md).
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
            # How long a request waits for a connection before it is answered 503.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10),
            # Every connection is checked before use; one dead: all idle ones are (config/database.py).
            "check": pool_connection_check,
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Serialise writers at BEGIN instead of failing mid-transaction with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A connection is checked before use (the pool: psycopg's check_connection on every checkout;
# without the pool: at the start of each request), so after a failover or pg_terminate_backend
# no request is handed a dead connection (docs/faults.md). One empty round trip per checkout.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id first (config/passwords.py, docs/security.md); a hash of any other listed hasher
# still verifies and is re-hashed with Argon2id at that user's next login. Django's own
# Argon2PasswordHasher is left out: it shares the algorithm name ``argon2`` with ours.
PASSWORD_HASHERS = [
    "config.passwords.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Members sign in with their member number or email (issue 3); staff with their username.
AUTHENTICATION_BACKENDS = [
    "subscriptions.backends.MemberNumberOrEmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
# One way to write a moment: 「2026年12月8日 3:57」 (config/formats/ja/formats.py; docs/member-site.md).
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (product images). Served by Django itself only outside production
# (SERVE_MEDIA); production serves MEDIA_ROOT from the web server or object storage
# (docs/member-site.md, "Product images").
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
SERVE_MEDIA = env.bool("DJANGO_SERVE_MEDIA", default=not PRODUCTION)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

MAILERS = {
    "default": {
        "BACKEND": env.str(
            "EMAIL_BACKEND",
            default=(
                "django.core.mail.backends.smtp.EmailBackend"
                if PRODUCTION
                else "django.core.mail.backends.console.EmailBackend"
            ),
        ),
        "OPTIONS": env.json("EMAIL_OPTIONS", default={}),
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SSRリワード <no-reply@ssr-rewards.example>")
# The absolute address of the site, for the links in emails (a reminder, an exchange's page).
# Production has no default and refuses anything but https://host…: an empty SITE_URL made every
# link in the emails relative, which no mail client can open.
SITE_URL = env.str("SITE_URL") if PRODUCTION else env.str("SITE_URL", default="http://127.0.0.1:8000")
site_url_scheme = "https" if PRODUCTION else "https?"
if not re.fullmatch(site_url_scheme + r"://[^/\s]+(/\S*)?", SITE_URL):
    raise ImproperlyConfigured(f"SITE_URL must be the site's absolute {site_url_scheme}:// address, not {SITE_URL!r}.")

# Celery: eager with no broker configured, Redis otherwise.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Asia/Tokyo"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A queue of one's own: several stacks (the fault tests' gunicorn and worker) share one Redis.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Redis as broker and result store: a request that sends a task waits at most ~2 s on a Redis
# that is down or silent (docs/faults.md), never the 19 s of the defaults. Blocking commands
# only (a publish): the worker's BRPOP is read by its event loop.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
CELERY_REDIS_SOCKET_TIMEOUT = 2
# The scheduled jobs (issue 4, docs/jobs.md): times are Asia/Tokyo (CELERY_TIMEZONE).
JOBS_GRANT_SWEEP_MINUTES = env.int("JOBS_GRANT_SWEEP_MINUTES", default=5)
CELERY_BEAT_SCHEDULE: dict = {
    "expire-points": {"task": "jobs.tasks.expire_points_task", "schedule": crontab(hour=0, minute=5)},
    "run-subscriptions": {"task": "jobs.tasks.run_subscriptions_task", "schedule": crontab(hour=1, minute=0)},
    # The outbox of the grants: every pending grant, however old (fulfilment.grants). A message
    # not taken within the interval is dropped: the next one does the same work.
    "sweep-grants": {
        "task": "jobs.tasks.sweep_grants_task",
        "schedule": crontab(minute=f"*/{JOBS_GRANT_SWEEP_MINUTES}"),
        "options": {"expires": JOBS_GRANT_SWEEP_MINUTES * 60},
    },
    "send-expiry-reminders": {"task": "jobs.tasks.send_expiry_reminders_task", "schedule": crontab(hour=9, minute=0)},
    # Sessions live in the database: delete the expired ones.
    "clear-sessions": {"task": "jobs.tasks.clear_sessions_task", "schedule": crontab(hour=4, minute=15)},
}
JOBS_REMINDER_DAYS = env.int("JOBS_REMINDER_DAYS", default=30)
# The sweep leaves a grant this young to its task (sent on commit), which is likely running.
JOBS_GRANT_SWEEP_GRACE_SECONDS = env.int("JOBS_GRANT_SWEEP_GRACE_SECONDS", default=60)
# A running job stamps its heartbeat this often; a running row whose heartbeat is older than
# the second figure belongs to a process that stopped (docs/jobs.md, "A dead worker").
JOBS_HEARTBEAT_SECONDS = env.int("JOBS_HEARTBEAT_SECONDS", default=30)
JOBS_HEARTBEAT_STALE_SECONDS = env.int("JOBS_HEARTBEAT_STALE_SECONDS", default=120)
# The longest task (jobs.tasks); Redis hands an unacknowledged message to another worker after
# the visibility timeout, so it must be longer, or a long run would be started twice.
JOBS_TASK_TIME_LIMIT = 2 * 60 * 60
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = JOBS_TASK_TIME_LIMIT + 30 * 60
# Nothing reads a task's result (the jobs record JobRuns), so none is stored, and sending a task
# never subscribes to the result store: with Redis down that subscription retried for 19 s.
CELERY_TASK_IGNORE_RESULT = True
# Every task is idempotent: acknowledged when it ends, handed back when its worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# After the broker refused a grant task's message, this process leaves grants to the sweep for this long.
FULFILMENT_BROKER_BACKOFF_SECONDS = env.int("FULFILMENT_BROKER_BACKOFF_SECONDS", default=30)
# Order events from the commerce system (order_events/): HMAC-SHA256 shared secret, clock skew.
if PRODUCTION:
    ORDER_EVENTS_SECRET = env.str("ORDER_EVENTS_SECRET")
else:
    ORDER_EVENTS_SECRET = env.str("ORDER_EVENTS_SECRET", default="dev-only-order-events-secret" if DEBUG else "")
ORDER_EVENTS_SECRET = secret_required("ORDER_EVENTS_SECRET", ORDER_EVENTS_SECRET, min_length=32)
ORDER_EVENTS_MAX_SKEW_SECONDS = env.int("ORDER_EVENTS_MAX_SKEW_SECONDS", default=300)

# The points program.
# ~0.5 s of locks per batch on a small server (bench/expiry.py); the budget is 1 s.
SSR_POINTS_EXPIRY_BATCH_SIZE = env.int("SSR_POINTS_EXPIRY_BATCH_SIZE", default=10_000)
SSR_POINTS_GRANT_BATCH_SIZE = env.int("SSR_POINTS_GRANT_BATCH_SIZE", default=10_000)
# Batches shrink when one held its locks longer than this, and grow back to the sizes above.
SSR_POINTS_BATCH_LOCK_TARGET_SECONDS = env.float("SSR_POINTS_BATCH_LOCK_TARGET_SECONDS", default=0.5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Axes logs every login at INFO; its records (AccessAttempt, AccessLog) are in the admin.
        "axes": {"level": "WARNING"},
        # runserver's request lines; ./dev demo sets WARNING: 4xx/5xx still show.
        "django.server": {"level": env.str("DJANGO_SERVER_LOG_LEVEL", default="INFO")},
        "django.utils.autoreload": {"level": "WARNING"},  # "Watching for file changes" per start
    },
}
if CELERY_TASK_ALWAYS_EAGER:
    # Tasks run inside the web process: no "Task … succeeded" line per task (failures still show).
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}
if not REDIS_URL:
    # The in-memory broker has no host; kombu says so once per process.
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}

# Back office (docs/admin.md): CX agents adjust up to this many points either way; above it
# needs ssr_points.adjust_points_unlimited (cx_supervisor).
SSR_CX_ADJUSTMENT_LIMIT = env.int("SSR_CX_ADJUSTMENT_LIMIT", default=1000)

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# -- Security: CSP, login brute force, session lifetime (docs/security.md) ---------------------
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.csp.ContentSecurityPolicyMiddleware") + 1,
    "config.request_guard.RejectNulBytesMiddleware",  # PostgreSQL text cannot hold NUL
)
# No inline script anywhere ('self' only). Inline <style> only with the per-response nonce,
# which the admin's change list uses; style="" attributes are refused.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# django-axes: lock out an (account, IP) pair after repeated failures. Keyed by the pair, an
# attacker elsewhere cannot lock a member out by typing their member number.
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
# First: refuses locked-out pairs before any backend checks a password.
AUTHENTICATION_BACKENDS = ["config.login_protection.AxesHttpLoginBackend", *AUTHENTICATION_BACKENDS]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_VERBOSE = False  # no banner on every start of the app
# The lockout page: Japanese, in the site's layout, with when to try again, Customer
# Experience and the password reset (config/login_protection.py).
AXES_LOCKOUT_CALLABLE = "config.login_protection.lockout_response"
# The login page warns on the attempt before the lock (wrong passwords left for this pair).
LOGIN_FAILURES_LEFT = "config.login_protection.failures_left"
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "config.login_protection.login_identifier"
AXES_CLIENT_IP_CALLABLE = "config.login_protection.client_ip"
# Password reset by email (config/password_reset.py): requests per client IP and emails per
# account, each per hour.
PASSWORD_RESET_IP_LIMIT = env.int("PASSWORD_RESET_IP_LIMIT", default=10)
PASSWORD_RESET_ACCOUNT_LIMIT = env.int("PASSWORD_RESET_ACCOUNT_LIMIT", default=3)
PASSWORD_RESET_TIMEOUT = 60 * 60  # a reset link works for an hour
# Reverse proxies in front of gunicorn that append X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)

# Sessions: 30 minutes after the last request (sliding), then log in again. The session is
# saved again at most once a minute (config/session_refresh.py), not on every request.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
SESSION_REFRESH_SECONDS = 60
INSTALLED_APPS.append("config.apps.ProjectConfig")  # stamps the session at login
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
    "config.session_refresh.SessionRefreshMiddleware",
)

# Sessions live in the database and nowhere else (Django's ``db`` engine, one indexed query per
# request): a session deleted there (logout, expiry, a password change) is gone for every process,
# whatever Redis holds or held, and a Redis outage signs nobody out (docs/security.md).
# Expired sessions are deleted daily (jobs.tasks.clear_sessions_task).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
if REDIS_URL:
    # The password-reset counters; degrades to "no cache" while Redis is unreachable (config/cache.py).
    CACHES = {
        "default": {
            "BACKEND": "config.cache.DegradingRedisCache",
            "LOCATION": env.str("CACHE_REDIS_URL", default=REDIS_URL),
            "OPTIONS": {
                "socket_connect_timeout": 1,
                "socket_timeout": 1,
            },
        }
    }
