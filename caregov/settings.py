"""Settings for caregov, driven by the environment (see .env.example).

With no DATABASE_URL the database is a SQLite file under var/; with no CELERY_BROKER_URL Celery
uses kombu's filesystem transport under var/, so a newcomer's machine needs no servers.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CAREGOV_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
VAR_DIR.mkdir(parents=True, exist_ok=True)
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off caregov refuses to start without one: "
            "set SECRET_KEY in the environment (see .env.example)."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "caregov.apps.CaregovConfig",
    "workflows.apps.WorkflowsConfig",
    "assurance.apps.AssuranceConfig",
    "champions.apps.ChampionsConfig",
    "roadmap.apps.RoadmapConfig",
    "reporting.apps.ReportingConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "caregov.middleware.SessionLifetimeMiddleware",
    "caregov.mfa.SecondFactorMiddleware",
    "caregov.middleware.ReadOnlyRoleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "caregov.middleware.SecurityHeadersMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "caregov.urls"
WSGI_APPLICATION = "caregov.wsgi.application"

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
                "caregov.context_processors.navigation",
            ],
            "builtins": ["caregov.templatetags.caregov_tags"],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'caregov.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Each server thread keeps its connection for a minute rather than opening one a request:
# a new PostgreSQL connection is a new backend process, and with 50 team leaders submitting at
# once that cost alone doubled the time to answer them (bench/audit_submission.py). Checked
# before reuse, so a restarted database costs one failed query, not an error page.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, worker and beat share the file without "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"].setdefault("TEST", {"NAME": str(VAR_DIR / "test.sqlite3")})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "caregov.User"
AUTHENTICATION_BACKENDS = ["caregov.security.ThrottledModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24 * 3)

# Sessions: an inactivity timeout and an absolute lifetime, both in minutes.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_ABSOLUTE_MINUTES = env.int("SESSION_ABSOLUTE_MINUTES", default=12 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Login throttling. An account locks after LOGIN_FAILURE_LIMIT failures in the window. An address
# (a care home behind one router) locks only when it fails for LOGIN_ADDRESS_ACCOUNT_LIMIT
# different accounts, or LOGIN_ADDRESS_FAILURE_LIMIT times in all, in the window: a password spray,
# not one person's typos. Limits in the spirit of django-axes' per-(account, address) lockout.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
LOGIN_ADDRESS_ACCOUNT_LIMIT = env.int("LOGIN_ADDRESS_ACCOUNT_LIMIT", default=20)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=100)
# Password reset emails: at most this many an hour for one account, and from one address.
PASSWORD_RESET_ACCOUNT_LIMIT = env.int("PASSWORD_RESET_ACCOUNT_LIMIT", default=3)
PASSWORD_RESET_ADDRESS_LIMIT = env.int("PASSWORD_RESET_ADDRESS_LIMIT", default=10)
# The same refusal for the same person and page within this many minutes is one security event
# with a count, not thousands of rows.
SECURITY_EVENT_COALESCE_MINUTES = env.int("SECURITY_EVENT_COALESCE_MINUTES", default=10)
# Second factor. A sign-off or a change to people's roles needs the password or a second factor
# given within this many minutes; the authenticator app shows caregov under this name.
FRESH_IDENTITY_MINUTES = env.int("FRESH_IDENTITY_MINUTES", default=15)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="caregov")
# Passkeys belong to the site's domain: by default the host the browser used (without the port).
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="")
# How many proxies in front of the app append to X-Forwarded-For; 0 trusts only REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# The address people reach caregov at, for links in emails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The UK hour from which the daily digest of reminders goes to those who chose it.
REMINDER_DIGEST_HOUR = env.int("REMINDER_DIGEST_HOUR", default=7)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["caregov.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# plotly.js is served from the installed plotly package, never a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/plotly", Path(__import__("plotly").__file__).parent / "package_data"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
#: Uploaded ECM exports wait here for the worker (ecm-imports/) and built board packs are kept
#: here (packs/): the web server and the worker must share it (docker-compose.yml mounts one
#: volume at this path in both). The database names these files relative to it (caregov.media).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
# Board packs are asked for by the scheduler once each quarter has ended (built by the worker).
REPORTING_PACKS_ON_SCHEDULE = env.bool("REPORTING_PACKS_ON_SCHEDULE", default=True)
ECM_IMPORT_MAX_BYTES = env.int("ECM_IMPORT_MAX_BYTES", default=512 * 1024 * 1024)
# Long work on the worker (imports, pack builds), in seconds. The soft limit stops a run and marks
# it failed with the reason; the hard limit kills a run that does not stop. A run that has said
# nothing for its stale time is taken to have died with its worker: the scheduler's sweeper sends
# it back to the queue, and after LONG_TASK_ATTEMPTS runs marks it failed, to be tried again.
# A million-row import takes about 3 s on PostgreSQL; a board pack about 12 s.
ECM_IMPORT_SOFT_TIME_LIMIT = env.int("ECM_IMPORT_SOFT_TIME_LIMIT", default=30 * 60)
ECM_IMPORT_TIME_LIMIT = env.int("ECM_IMPORT_TIME_LIMIT", default=35 * 60)
#: An import reports progress many times a second while it reads (to the cache).
ECM_IMPORT_STALE_SECONDS = env.int("ECM_IMPORT_STALE_SECONDS", default=5 * 60)
PACK_SOFT_TIME_LIMIT = env.int("PACK_SOFT_TIME_LIMIT", default=10 * 60)
PACK_TIME_LIMIT = env.int("PACK_TIME_LIMIT", default=12 * 60)
#: Longer than a build may run (the hard limit), so a live build is never taken over.
PACK_STALE_SECONDS = env.int("PACK_STALE_SECONDS", default=15 * 60)
LONG_TASK_ATTEMPTS = env.int("LONG_TASK_ATTEMPTS", default=3)

# Email: console in development; EMAIL_URL (smtp+tls://user:pass@host:587) in production.
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="caregov <no-reply@caregov.localhost>")

# Security headers and cookies. Production defaults are strict; each can be relaxed by env.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Everything is served by caregov itself (no CDN), so nothing needs another origin. Why styles
# allow 'unsafe-inline' is said in caregov.middleware.SecurityHeadersMiddleware.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Celery: Redis when CELERY_BROKER_URL is set, else a filesystem broker under var/.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
# The cache carries progress from the worker to the browser, so both must see the same one:
# Redis beside a Redis broker, else files under var/.
if CELERY_BROKER_URL.startswith("redis://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("CACHE_URL", default=CELERY_BROKER_URL),
            "KEY_PREFIX": "caregov",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("queue", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Redis hands a message nobody acknowledged to another worker after the visibility timeout.
    # Tasks are acknowledged when they finish (acks_late), so it must be longer than the longest
    # task may run (its hard time limit) or a live task would run twice; and no longer than
    # needed, since a message whose whole worker died waits this long (the sweeper usually
    # re-queues its work sooner). The longest task is the import: 35 minutes, so 40.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": max(ECM_IMPORT_TIME_LIMIT, PACK_TIME_LIMIT) + 5 * 60
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# A task that raised or hit its time limit is acknowledged (it said what happened, or the sweeper
# will); one whose worker process was killed is put back on the queue, to run again: every task
# is idempotent, and the long ones claim their record and count their attempts.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The queue tasks go to unless sent elsewhere (the workers' -Q); one queue in production.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "caregov.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # Pack building: WeasyPrint logs each step, kaleido and its browser driver each chart.
        "weasyprint.progress": {"level": "WARNING"},
        "kaleido": {"level": "WARNING"},
        "choreographer": {"level": "WARNING"},
    },
}

FILTERS_EMPTY_CHOICE_LABEL = "Any"

DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="Caregov-demo-2026")

# One scheduler entry: every 15 minutes open due cycles, evaluate triggers, escalate overdue.
CELERY_BEAT_SCHEDULE = {
    "governance-scheduler": {
        "task": "caregov.run_governance_scheduler",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    }
}
