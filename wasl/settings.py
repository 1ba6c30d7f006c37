"""Django settings for Wasl.

All configuration comes from ``WASL_*`` environment variables, read through the typed
helpers in :mod:`wasl.env` and documented in ``docs/configuration.md``. Outside the demo
mode there is no default secret: start-up fails with a clear message instead.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.conf.locale import LANG_INFO
from django.utils.csp import CSP

from wasl.demo_secret import demo_secret, read_demo_secret
from wasl.env import (
    ConfigurationError,
    env_bool,
    env_flag,
    env_int,
    env_list,
    env_proxies,
    env_rate,
    env_size,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("WASL_DEBUG", False)
DATA_DIR = Path(env_str("WASL_DATA_DIR", str(BASE_DIR / "var"))).resolve()

# Demo mode: WASL_DEMO=true (make run sets it), or a data directory that make run made a demo
# (its demo.json) when neither WASL_DEMO nor WASL_SECRET_KEY is given, so that the README's
# `manage.py` commands run as they are written. The demo's secret key is generated for its data
# directory and kept in that file (mode 0600). Outside the demo there is no default secret.
SECRET_KEY = env_str("WASL_SECRET_KEY")
_demo_said = env_flag("WASL_DEMO")
DEMO = bool(_demo_said)
if not SECRET_KEY:
    if DEMO:
        SECRET_KEY = demo_secret(DATA_DIR)
    elif _demo_said is None and (_found := read_demo_secret(DATA_DIR)) is not None:
        DEMO, SECRET_KEY = True, _found
    else:
        raise ConfigurationError(
            "WASL_SECRET_KEY is not set. Set it to a long random value, "
            "or set WASL_DEMO=true for a local demonstration"
            + (f" ({DATA_DIR} is not a demo's data directory)." if _demo_said is None else ".")
        )

ALLOWED_HOSTS = env_list("WASL_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEMO else [])
CSRF_TRUSTED_ORIGINS = env_list("WASL_CSRF_TRUSTED_ORIGINS", [])
# Receipts' QR codes and every link sent by e-mail point under it. Outside the demo it must be
# set: a system check (core.checks) refuses to start without it rather than print QR codes that
# point at the loopback address.
_public_url = env_str("WASL_PUBLIC_URL")
PUBLIC_URL_CONFIGURED = bool(_public_url)
PUBLIC_URL = (_public_url or "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "wasl.apps.TasksConfig",  # django_tasks_db, its name translated
    # django-ninja's own copy of Swagger UI (static files), so the API docs load nothing from
    # a CDN and run under the site's Content-Security-Policy.
    "ninja",
    # Domain apps, in dependency order: each depends only on apps above it.
    "core",
    "audit",
    "tenancy",
    "trust",
    "documents",
    "registry",
    "workflow",
    "parapheur",
    # The starter catalogue a commune loads (services, procedures, templates, a circuit, rules).
    "starter",
    "exchange",
    "search",
    # Presentation layers.
    "portal",
    "desk",
    "api",
    "operations",
]

MIDDLEWARE = [
    # First: the request's scheme (HTTPS or not) as a trusted proxy says, before anything reads it.
    "core.proxies.ProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenancy.middleware.KnownDeviceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.NotFoundMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last: its refusal (a page) passes through all of the above (user, messages, security
    # headers); no middleware reads the body before views do, so it is still unread here.
    "core.middleware.RequestSizeLimitMiddleware",
]

ROOT_URLCONF = "wasl.urls"
WSGI_APPLICATION = "wasl.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.wasl",
            ],
            # The filters that isolate what people typed (bdi, isolate), in every template.
            "builtins": ["core.templatetags.usertext"],
        },
    },
]

# Database: SQLite in WAL mode under DATA_DIR by default, PostgreSQL via WASL_DATABASE_URL.
DATABASE_URL = env_str("WASL_DATABASE_URL", f"sqlite:///{DATA_DIR / 'wasl.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("WASL_DB_CONN_MAX_AGE", 60))}
SILENCED_SYSTEM_CHECKS: list[str] = []
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so two writers never
        # both read a register counter and then fight over upgrading their lock.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
    # Covering indexes (INCLUDE columns, for PostgreSQL's index-only scans) are plain indexes here.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The pages run many short queries at once; a query that starts parallel workers for a
    # few milliseconds of work costs more (worker start-up, CPU taken from other requests)
    # than it saves on a machine of a few cores. Raise it for reporting databases.
    parallel = env_int("WASL_DB_PARALLEL_WORKERS", 0)
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c max_parallel_workers_per_gather={parallel}"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = ["tenancy.backends.ThrottledModelBackend"]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages: Arabic by default (right to left), French, and Standard Moroccan Amazigh in Tifinagh.
LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", "العربية"), ("fr", "Français"), ("zgh", "ⵜⴰⵎⴰⵣⵉⵖⵜ")]
LANGUAGES_BIDI = ["ar"]
# Date and time formats Django lacks for Arabic (dates with a time) and Amazigh (all): wasl/formats.
FORMAT_MODULE_PATH = ["wasl.formats"]
# Django knows no "zgh"; describe it so get_language_info() works for it too.
LANG_INFO.setdefault(
    "zgh", {"bidi": False, "code": "zgh", "name": "Standard Moroccan Tamazight", "name_local": "ⵜⴰⵎⴰⵣⵉⵖⵜ"}
)
# Wasl's catalogue (makemessages), then the Django strings the admin shows that Django has no
# translation for: all of them in Amazigh, a few in Arabic (locale_django/, kept by hand).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_django"]
USE_I18N = True
TIME_ZONE = "Africa/Casablanca"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static", ("fonts", BASE_DIR / "documents" / "fonts")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "media"}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG or DEMO
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing

# Where content-addressed files (attachments, sealed receipts) are kept.
FILES_DIR = Path(env_str("WASL_FILES_DIR", str(DATA_DIR / "files"))).resolve()
# How often (minutes) the worker seals a checkpoint of a register log that moved. The log's
# newest entries are witnessed by receipts; a checkpoint also anchors them outside the database.
CHECKPOINT_MINUTES = env_int("WASL_CHECKPOINT_MINUTES", 60, minimum=1)
# The installation PKI: root CA, timestamping unit, one seal per administration.
PKI_DIR = Path(env_str("WASL_PKI_DIR", str(DATA_DIR / "pki"))).resolve()
# Where the scanned files named by a legacy register's import are read from (paths in the
# imported file are relative to it and may not leave it).
IMPORT_DIR = Path(env_str("WASL_IMPORT_DIR", str(DATA_DIR / "import"))).resolve()
# Where `manage.py backup` writes its archives unless told otherwise.
BACKUP_DIR = Path(env_str("WASL_BACKUP_DIR", str(DATA_DIR / "backups"))).resolve()
# Outside the demo the PKI must be supplied (or created on purpose with `manage.py pki_init`).
PKI_AUTOCREATE = env_bool("WASL_PKI_AUTOCREATE", DEMO)
# The name the installation's root certificate carries.
INSTALLATION_NAME = env_str("WASL_INSTALLATION_NAME", "Wasl demo" if DEMO else "Wasl")
# An external RFC 3161 timestamping authority; empty: the installation's own timestamping unit.
TSA_URL = env_str("WASL_TSA_URL")

# Uploads: limits per file and per deposit; bigger bodies are refused before parsing.
MAX_FILE_SIZE = env_size("WASL_MAX_FILE_SIZE", "20MB")
# Converts office documents to PDF for the parapheur (soffice on the PATH when empty).
OFFICE_CONVERTER = env_str("WASL_OFFICE_CONVERTER", "")
MAX_DEPOSIT_SIZE = env_size("WASL_MAX_DEPOSIT_SIZE", "50MB")
MAX_FILES = env_int("WASL_MAX_FILES", 10, minimum=0)
# Work per file (documents.intake): a picture's pixels and frames and a PDF's pages are read from
# their headers before anything is decoded; a PDF's compressed streams may not inflate past a
# total; decoding runs in a reader process with a memory and a time limit (documents.sandbox).
MAX_PIXELS = env_int("WASL_MAX_MEGAPIXELS", 50, minimum=1) * 1_000_000
MAX_PAGES = env_int("WASL_MAX_PAGES", 500, minimum=1)
MAX_PDF_INFLATED = env_size("WASL_MAX_PDF_INFLATED", "256MB")
FILE_WORK_MEMORY = env_size("WASL_FILE_WORK_MEMORY", "1GB")
FILE_WORK_SECONDS = env_int("WASL_FILE_WORK_SECONDS", 60, minimum=1)
# Envelopes posted at once to other installations by the worker.
EXCHANGE_CONNECTIONS = env_int("WASL_EXCHANGE_CONNECTIONS", 4, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = MAX_FILES + 1
FILE_UPLOAD_TEMP_DIR = None

# Rate limits, as (count, seconds).
RATE_DEPOSIT = env_rate("WASL_RATE_DEPOSIT", "30/h")
# Failed sign-ins per client address (and sign-ups per client address).
RATE_LOGIN = env_rate("WASL_RATE_LOGIN", "20/15m")
# After this many failed sign-ins in a row, an account (or one of its known devices) is slowed
# down: the next attempt waits 30 s, then twice as long after each failure, at most LOGIN_MAX_DELAY.
LOGIN_FREE_FAILURES = env_int("WASL_LOGIN_FREE_FAILURES", 5, minimum=1)
LOGIN_MAX_DELAY = env_int("WASL_LOGIN_MAX_DELAY", 900, minimum=1)
# Password-reset requests per e-mail address asked about, and per client address.
RATE_RESET_ACCOUNT = env_rate("WASL_RATE_RESET_ACCOUNT", "3/h")
RATE_RESET_ADDRESS = env_rate("WASL_RATE_RESET_ADDRESS", "10/h")
# Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (addresses or
# networks, and `unix` for a Unix socket): core.proxies.
TRUSTED_PROXIES, TRUSTED_UNIX_SOCKET = env_proxies("WASL_TRUSTED_PROXIES")
RATE_VERIFY = env_rate("WASL_RATE_VERIFY", "60/m")
API_TOKEN_TTL_HOURS = env_int("WASL_API_TOKEN_TTL_HOURS", 24, minimum=1)
# How long an API Idempotency-Key (and the answer kept with it) is remembered.
IDEMPOTENCY_KEY_HOURS = env_int("WASL_IDEMPOTENCY_KEY_HOURS", 24, minimum=1)
RATE_TRACK = env_rate("WASL_RATE_TRACK", "20/h")

# Processing desk: when the people in charge of a request are reminded of its due date.
# `half` (half the delay gone), a number N (N working days before the due date), `overdue`.
REMINDERS = env_list("WASL_REMINDERS", ["half", "5", "overdue"])
for _point in REMINDERS:
    if _point not in ("half", "overdue") and not (_point.isdigit() and 0 < int(_point) <= 60):
        raise ConfigurationError(f"WASL_REMINDERS: {_point!r} is not half, overdue or a number of days (1-60)")
# A request is "due soon" on the desk when at most this many working days are left.
DUE_SOON_DAYS = env_int("WASL_DUE_SOON_DAYS", 5, minimum=1)
# A visa or signature waiting this many days reminds its people, then again every as many days.
FOLDER_REMIND_DAYS = env_int("WASL_FOLDER_REMIND_DAYS", 2, minimum=1)

# The cache holds rate-limit counters; processes share it unless it is in-process memory.
CACHE_URL = env_str("WASL_CACHE_URL", f"file://{DATA_DIR / 'cache'}")
if CACHE_URL.startswith("file://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": CACHE_URL[7:]}}
elif CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL in ("locmem://", "memory://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ConfigurationError(f"WASL_CACHE_URL={CACHE_URL!r}: use file:///path, redis://host:port/db or locmem://")

# Tasks: a database-backed queue drained by `manage.py db_worker`.
TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend"
        if env_str("WASL_TASKS", "database") == "immediate"
        else "django_tasks_db.DatabaseBackend",
    }
}

# E-mail: SMTP when WASL_EMAIL_HOST is set. Without it, every message is kept whole in the outbox
# (EMAIL_OUTBOX_DIR, one .eml file each), which platform administrators read in /admin/; the demo
# also prints each message on the console (without the attachments' bytes, see core.mail).
_email_host = env_str("WASL_EMAIL_HOST")
_email_ssl = env_bool("WASL_EMAIL_USE_SSL", False)
_email_tls = env_bool("WASL_EMAIL_USE_TLS", not _email_ssl)
if _email_ssl and _email_tls:
    raise ConfigurationError(
        "WASL_EMAIL_USE_SSL and WASL_EMAIL_USE_TLS are both true: use one (SSL on port 465, or STARTTLS on 587)."
    )
EMAIL_OUTBOX_DIR = Path(env_str("WASL_EMAIL_OUTBOX_DIR", str(DATA_DIR / "outbox"))).resolve()
# Messages older than this many days are removed from the outbox by the worker (hourly).
EMAIL_OUTBOX_DAYS = env_int("WASL_EMAIL_OUTBOX_DAYS", 30, minimum=1)
MAILERS = {
    "default": {
        "BACKEND": "core.mail.SmtpEmailBackend",
        "OPTIONS": {
            "host": _email_host,
            "port": env_int("WASL_EMAIL_PORT", 465 if _email_ssl else 587),
            "username": env_str("WASL_EMAIL_USER"),
            "password": env_str("WASL_EMAIL_PASSWORD"),
            "use_tls": _email_tls,
            "use_ssl": _email_ssl,
            "timeout": 20,
        },
    }
    if _email_host
    else {"BACKEND": "core.mail.OutboxEmailBackend", "OPTIONS": {"echo": DEMO}}
}
DEFAULT_FROM_EMAIL = env_str("WASL_EMAIL_FROM", "Wasl <no-reply@wasl.localhost>")

# Security. Served over HTTPS (WASL_PUBLIC_URL https://…), cookies travel only over HTTPS and
# browsers are told to use nothing else for a year (HSTS); served over plain HTTP, neither, or
# no form could be posted (a browser keeps no secure cookie from a plain HTTP page). Whether a
# request came over HTTPS is the connection's own scheme, or what a trusted proxy says in
# X-Forwarded-Proto (core.proxies.ProxyHeadersMiddleware): not Django's SECURE_PROXY_SSL_HEADER,
# which believes the header from any client. CSRF failures get a page naming the likely cause.
_https = PUBLIC_URL.lower().startswith("https://")
SECURE_COOKIES = env_bool("WASL_SECURE_COOKIES", _https)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_HSTS_SECONDS = env_int("WASL_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
# Deliberate, so `check --deploy` does not ask for them: HSTS covers this host name only (other
# sites of the domain may still be on plain HTTP) and is not preloaded (a commitment for the
# domain's owner to make); the reverse proxy redirects http:// to https:// (Wasl redirecting
# would loop behind a proxy left out of WASL_TRUSTED_PROXIES).
SILENCED_SYSTEM_CHECKS += ["security.W005", "security.W021", "security.W008"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("WASL_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
