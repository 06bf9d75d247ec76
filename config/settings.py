"""The one settings module. Everything that differs between the demo, tests and production is
read from the environment; there is no separate production.py.

The zero-setup demo runs with no environment at all: SQLite, Celery in-process, the Xero sandbox
in-process and email to the console. Tests and production set DATABASE_URL (PostgreSQL via
psycopg 3) and CELERY_BROKER_URL/REDIS_URL.
"""

import os
from pathlib import Path

import csp.constants
import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    # NAME_FILE wins over NAME, so secrets can come from mounted files (Docker/Kubernetes).
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = env(name, "")
    if value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def envint(name: str, default: int) -> int:
    value = env(name, "")
    return int(value) if value else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)
# Off only for the local demo and the test client; production always serves HTTPS.
SECURE = envbool("SECURE", not DEBUG)

_DEMO_SECRET = "demo-only-insecure-key-do-not-use-in-production-0123456789abcdef"
# Without DEBUG there is no default: Django refuses to sign anything (sessions, tokens) while
# SECRET_KEY is empty, and check --deploy fails. Settings still load, so commands that need no
# secret (makemigrations, collectstatic) run anywhere.
SECRET_KEY = env("SECRET_KEY", _DEMO_SECRET if DEBUG else "")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://localhost:8000").rstrip("/")
SITE_NAME = env("SITE_NAME", "Ledgerline Budgets")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "template_partials",
    "simple_history",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "tenants",
    "integrations",
    "budgeting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files stay cacheable): nothing a view makes is stored.
    "core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who and from where, for the security events services record (tenants/security_events.py).
    "tenants.security_events.SecurityEventRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "core.middleware.ClearSiteDataMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Before every view: a NUL byte in a field is a clear 400, never a 500.
    "tenants.middleware.RefuseNullCharactersMiddleware",
    "tenants.middleware.UserTimezoneMiddleware",
    # Records request.user as the acting user on every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "tenants.context_processors.firm_context",
            ],
        },
    },
]

# SQLite only for the zero-setup demo; tests and production use PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'demo.sqlite3'}"),
        # Keep a worker's connection between requests (a new PostgreSQL connection per request
        # cost the 200-client dashboard a good part of its time); checked before each reuse.
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Money exact on SQLite too: decimals stored as whole cents, not floats (core/sqlite).
    DATABASES["default"]["ENGINE"] = "core.sqlite"
    # The demo runs a Celery worker in a thread beside the web server, so several syncs and
    # forecast runs write at once. WAL lets pages read while one writes; the busy timeout makes
    # a writer wait for the lock (seconds) rather than fail with "database is locked"; and
    # IMMEDIATE transactions take the write lock when they begin: a deferred one that read
    # first and then tried to write would fail at once, without waiting, when another writer
    # had come in between (SQLite cannot upgrade its read lock then).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=60,
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "ll"),
        }
    }
    # Every page reads the session: from Redis, written through to the database so a Redis
    # restart signs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # OWASP ASVS 2.1.1: at least 12 characters (Django's default is 8); no composition rules.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: the email address is the login; it must be verified; TOTP with recovery codes.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# OWASP ASVS 2.2.3 and 2.5.5: a changed or reset password, a changed email address and a
# two-factor change are emailed to the account, so a takeover does not go unnoticed.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_ADAPTER = "tenants.adapters.AccountAdapter"
# Encrypts two-factor secrets at rest (tenants/adapters.py: MFAAdapter).
MFA_ADAPTER = "tenants.adapters.MFAAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SECURE else "http"
ACCOUNT_RATE_LIMITS = {
    # Failed logins per IP and per account; allauth keys these in the cache.
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
MFA_RECOVERY_CODE_COUNT = 10

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if envbool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Email: console for the demo; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env("EMAIL_HOST", "")
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
# Seconds. Approval emails are sent holding the draft's row lock (budgeting/approvals/services.py): a mail
# server that hangs must fail the send (to be retried) rather than hold the lock for good.
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
# For the file backend (bench/alerts.py counts the emails its worker wrote).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", "") or None
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", f"{SITE_NAME} <budgets@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# How long an emailed approval sign-off link works (budgeting/approvals/services.py).
APPROVAL_LINK_DAYS = envint("APPROVAL_LINK_DAYS", 7)
# How long a department manager's link works (budgeting.departments): reassigning or withdrawing
# the department ends it sooner.
DEPARTMENT_LINK_DAYS = envint("DEPARTMENT_LINK_DAYS", 14)
# A step still open this many days after its email (or its last reminder) is reminded, at most
# APPROVAL_REMINDERS_MAX times; the daily digest goes out at APPROVAL_DIGEST_HOUR (TIME_ZONE).
APPROVAL_REMINDER_DAYS = envint("APPROVAL_REMINDER_DAYS", 2)
APPROVAL_REMINDERS_MAX = envint("APPROVAL_REMINDERS_MAX", 3)
APPROVAL_DIGEST_HOUR = envint("APPROVAL_DIGEST_HOUR", 7)

# Security: on whenever SECURE is (production). check --deploy must print no warnings.
SECURE_SSL_REDIRECT = SECURE
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
# How many reverse proxies of ours stand in front of the app (0: none, clients connect
# directly). Rate limits by client address take the address that many hops from the right of
# X-Forwarded-For (tenants/http.py); anything further left is the client's to forge.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# OWASP ASVS 3.4.4: in production the cookies carry the __Host- prefix, which browsers accept only
# with Secure, Path=/ and no Domain, so a sibling subdomain or plain-HTTP page cannot plant or
# overwrite them. (Changing the names signs everyone out once.) Development and tests over plain
# HTTP keep Django's names, which a __Host- cookie without Secure would not be.
SESSION_COOKIE_NAME = "__Host-sessionid" if SECURE else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if SECURE else "csrftoken"
# OWASP ASVS 3.3.2 (level 2): sign in again at least every 12 hours (Django's default is two
# weeks). "Remember me" keeps a session that long at most; without it, until the browser closes.
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 12 * 60 * 60)
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every response (django-csp). Our pages load only our own files:
# htmx is vendored, the charts are inline SVG built on the server, and no template has an inline
# script or style (htmx's own indicator style is turned off in base.html and lives in app.css).
# A page that needs an inline block gets a nonce (`{{ request.csp_nonce }}`), never
# 'unsafe-inline'. img-src allows data: for the MFA enrolment QR code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.constants.SELF],
        "script-src": [csp.constants.SELF, csp.constants.NONCE],
        "style-src": [csp.constants.SELF, csp.constants.NONCE],
        "img-src": [csp.constants.SELF, "data:"],
        "font-src": [csp.constants.SELF],
        "connect-src": [csp.constants.SELF],
        "object-src": [csp.constants.NONE],
        "base-uri": [csp.constants.NONE],
        "frame-ancestors": [csp.constants.NONE],
    },
}
# Powerful browser features no page of ours uses, off for every page and anything it embeds.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "midi=(), magnetometer=(), gyroscope=(), accelerometer=(), display-capture=(), "
    "interest-cohort=()"
)

# Encrypts Xero tokens at rest. A comma-separated list of Fernet keys: the first encrypts,
# all decrypt, so a key can be rotated without losing stored tokens.
# Demo only: a fixed key so the demo database stays readable between runs. Without DEBUG there
# is no default: integrations.crypto refuses to encrypt or decrypt until a key is set.
FIELD_ENCRYPTION_KEY = env(
    "FIELD_ENCRYPTION_KEY", "ZGVtby1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA=" if DEBUG else ""
)

# Celery: Redis as the broker; no broker means tasks run in-process (the demo).
# The demo (DEBUG, no Redis) uses kombu's in-memory transport with a worker thread started by
# `manage.py demo`; with no broker at all, tasks run inline.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or ("memory://" if DEBUG else ""))
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# What makes a fault lose nothing (bench/faults.py kills workers, restarts Redis and drops
# database connections while a month close runs):
# - A message is acknowledged when its task ends, not when it starts: a worker killed mid-task
#   leaves it unacknowledged, and Redis gives it to another worker (see the visibility timeout).
CELERY_TASK_ACKS_LATE = True
# - A prefork child that dies (OOM killer, segfault) has its message requeued at once rather
#   than acknowledged as failed. Only the prefork pool knows its children died: a thread pool,
#   or a whole worker killed, relies on the visibility timeout and the stale-run beat job.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# - Prefork: the pool whose lost children the option above can see; `--pool threads` (the demo,
#   the browser tests) works too, with the beat job as its safety net.
CELERY_WORKER_POOL = env("CELERY_WORKER_POOL", "prefork")
# - One message reserved at a time per process: a killed worker strands only what it was running.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# - Redis hands an unacknowledged message to another worker after this long. Longer than the
#   longest task (a full sync of a 300-account organisation at Xero's 60 calls a minute, about
#   20 minutes), or a slow task would be run twice at once; the claim of a run (a conditional
#   update) would make the second one return at once anyway. The stale-run beat job requeues
#   a lost sync well before this.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 45 * 60)
}
# - A restarted Redis is reconnected to, at start-up too, rather than the worker exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")
ALERTS_POLL_MINUTES = envint("ALERTS_POLL_MINUTES", 5)
CELERY_BEAT_SCHEDULE = {
    # Xero has no webhook for month close: poll each organisation's PeriodLockDate.
    "xero-poll-period-lock-dates": {
        "task": "integrations.xero.tasks.xero_poll_period_lock_dates",
        "schedule": crontab(minute=17),
    },
    # Syncs and forecast runs whose worker was lost are marked interrupted and queued again,
    # and a pipeline whose message was lost is sent again, with no click.
    "work-recover": {
        "task": "budgeting.tasks.work_recover_task",
        "schedule": crontab(minute="*/2"),
    },
    # Bank transactions and manual journals have no webhook: poll them for alerts.
    "alerts-poll": {
        "task": "budgeting.tasks.alerts_poll_task",
        "schedule": crontab(minute=f"*/{ALERTS_POLL_MINUTES}"),
    },
    # Alert deliveries held by quiet hours, a snooze or a retry's wait.
    "alert-deliveries-due": {
        "task": "budgeting.tasks.alert_deliveries_due_task",
        "schedule": crontab(minute="*"),
    },
    "approval-reminders": {
        "task": "budgeting.tasks.approval_reminders_task",
        "schedule": crontab(minute=41),
    },
    # Report packs on each organisation's schedule (its own send day, in its time zone).
    "report-packs-due": {
        "task": "budgeting.tasks.report_packs_due_task",
        "schedule": crontab(minute=23),
    },
    "approval-digests": {
        "task": "budgeting.tasks.approval_digests_task",
        "schedule": crontab(minute=5, hour=APPROVAL_DIGEST_HOUR),
    },
    # A Slack message whose task was lost (a Redis restart, a worker killed mid-send) is
    # queued again: the outbox row is never lost.
    "slack-messages-recover": {
        "task": "integrations.slack.tasks.slack_messages_recover_task",
        "schedule": crontab(minute="*/2"),
    },
}

# Xero: production and the sandbox differ only by these base URLs.
# "inprocess" serves the Xero sandbox inside this process (the zero-setup demo).
XERO_TRANSPORT = env("XERO_TRANSPORT", "inprocess" if DEBUG else "http")
# Point every Xero URL at a sandbox (`manage.py xero_sandbox serve`) by setting only this.
XERO_SANDBOX_URL = env(
    "XERO_SANDBOX_URL", f"{SITE_URL}/xero-sandbox" if XERO_TRANSPORT == "inprocess" else ""
).rstrip("/")
# Xero's identity paths (identity.xero.com/connect/...) sit under /identity/ in the sandbox.
_identity = f"{XERO_SANDBOX_URL}/identity" if XERO_SANDBOX_URL else "https://identity.xero.com"
_api = XERO_SANDBOX_URL or "https://api.xero.com"
XERO_CLIENT_ID = env("XERO_CLIENT_ID", "sandbox-client-id")
XERO_CLIENT_SECRET = env("XERO_CLIENT_SECRET", "sandbox-client-secret")
XERO_AUTHORIZE_URL = env(
    "XERO_AUTHORIZE_URL",
    f"{XERO_SANDBOX_URL or 'https://login.xero.com'}/identity/connect/authorize",
)
XERO_TOKEN_URL = env("XERO_TOKEN_URL", f"{_identity}/connect/token")
XERO_REVOCATION_URL = env("XERO_REVOCATION_URL", f"{_identity}/connect/revocation")
XERO_CONNECTIONS_URL = env("XERO_CONNECTIONS_URL", f"{_api}/connections")
XERO_API_URL = env("XERO_API_URL", f"{_api}/api.xro/2.0")
XERO_WEBHOOK_KEY = env("XERO_WEBHOOK_KEY", "")
XERO_SCOPES = env(
    "XERO_SCOPES",
    "openid profile email offline_access accounting.settings.read accounting.budgets.read "
    "accounting.reports.profitandloss.read accounting.reports.trialbalance.read "
    "accounting.reports.balancesheet.read accounting.reports.budgetsummary.read "
    "accounting.invoices.read accounting.banktransactions.read accounting.manualjournals.read",
)
# How much history a sync keeps: monthly actuals, and the transaction lines behind variances
# (six months, so a narrative can tell a one-off from a recurring cost in the latest month).
XERO_ACTUALS_MONTHS = envint("XERO_ACTUALS_MONTHS", 36)
XERO_TRANSACTION_MONTHS = envint("XERO_TRANSACTION_MONTHS", 6)
# A running sync with no progress for this long is taken to have lost its worker.
XERO_SYNC_STALE_SECONDS = envint("XERO_SYNC_STALE_SECONDS", 300)
# A queued sync no worker took for this long lost its message (a Redis restart without
# persistence): the stale-run beat job queues it again.
XERO_SYNC_QUEUED_SECONDS = envint("XERO_SYNC_QUEUED_SECONDS", 600)
# The same for forecast runs, and for the post-close pipeline a finished sync queues.
FORECAST_RUN_STALE_SECONDS = envint("FORECAST_RUN_STALE_SECONDS", 300)
FORECAST_RUN_QUEUED_SECONDS = envint("FORECAST_RUN_QUEUED_SECONDS", 600)
# A step whose first sign-off email has not gone out this long after it opened lost its task.
APPROVAL_NOTIFY_RESEND_SECONDS = envint("APPROVAL_NOTIFY_RESEND_SECONDS", 600)
# Xero's limits per organisation; the window is configurable so tests can speed the clock up.
XERO_RATE_LIMIT_PER_MINUTE = envint("XERO_RATE_LIMIT_PER_MINUTE", 60)
XERO_RATE_LIMIT_CONCURRENT = envint("XERO_RATE_LIMIT_CONCURRENT", 5)
XERO_RATE_LIMIT_PER_DAY = envint("XERO_RATE_LIMIT_PER_DAY", 5000)
XERO_RATE_LIMIT_WINDOW_SECONDS = float(env("XERO_RATE_LIMIT_WINDOW_SECONDS", "60"))
XERO_RATE_LIMIT_PREFIX = env("XERO_RATE_LIMIT_PREFIX", "xero:rl")

# Slack (integrations/slack/): production and the imitation differ only by these, and by the
# firm's webhook URL. "inprocess" serves the Slack imitation inside this process (the demo).
SLACK_TRANSPORT = env("SLACK_TRANSPORT", "inprocess" if DEBUG else "http")
SLACK_IMITATION_URL = env(
    "SLACK_IMITATION_URL", "http://slack-imitation.test" if SLACK_TRANSPORT == "inprocess" else ""
)
SLACK_API_URL = env(
    "SLACK_API_URL",
    f"{SLACK_IMITATION_URL}/api" if SLACK_IMITATION_URL else "https://slack.com/api",
)
# The Slack app's signing secret, which signs its interactive requests (button clicks).
SLACK_SIGNING_SECRET = env(
    "SLACK_SIGNING_SECRET", "imitation-signing-secret" if SLACK_IMITATION_URL else ""
)
# A 429's Retry-After is waited out up to this many seconds, at most this many attempts in all.
SLACK_RETRY_ATTEMPTS = envint("SLACK_RETRY_ATTEMPTS", 3)
SLACK_RETRY_AFTER_MAX = float(env("SLACK_RETRY_AFTER_MAX", "30"))
SLACK_TIMEOUT_SECONDS = float(env("SLACK_TIMEOUT_SECONDS", "10"))
# A message Slack keeps refusing for a passing reason is tried again this many times, waiting
# 30 s, 1, 2, 4, ... minutes (at most SLACK_DELIVERY_BACKOFF_MAX s), then shown as failed.
SLACK_DELIVERY_RETRIES = envint("SLACK_DELIVERY_RETRIES", 8)
SLACK_DELIVERY_BACKOFF_MAX = envint("SLACK_DELIVERY_BACKOFF_MAX", 3600)
# A queued message this long past its next attempt lost its task: the beat queues it again.
SLACK_DELIVERY_LOST_SECONDS = envint("SLACK_DELIVERY_LOST_SECONDS", 600)
# How long the sign-off link that a click in Slack hands out works: the ephemeral message that
# carries it is gone when Slack reloads, so it need not live for days like an emailed one.
SLACK_LINK_MINUTES = envint("SLACK_LINK_MINUTES", 30)
# Slack's own URLs, the only places the app posts to for Slack: a click's response_url (it is in
# a signed request, but still) and a firm's incoming webhook, which an owner types in (so it
# cannot point the app at its own network). Slack's, and the imitation's in tests and the demo.
SLACK_URL_PREFIXES = [
    "https://hooks.slack.com/",
    *([SLACK_IMITATION_URL.rstrip("/") + "/"] if SLACK_IMITATION_URL else []),
]

# URLs a firm chooses (the narrative provider's endpoint) are called only on the public internet
# (core/outbound.py): https in production, never a private, loopback, link-local or metadata
# address. OUTBOUND_ALLOWED_NETWORKS lets an operator allow networks of their own (CIDR,
# comma-separated), e.g. a model served inside the deployment's network.
OUTBOUND_HTTPS_ONLY = envbool("OUTBOUND_HTTPS_ONLY", SECURE)
OUTBOUND_ALLOWED_NETWORKS = envlist("OUTBOUND_ALLOWED_NETWORKS")

# The partner API (tenants/api/). The firm comes from the key (/api/v1/) or, for signed-in
# people, from the URL (/f/<firm>/api/v1/); see tenants/api/__init__.py.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.api.permissions.FirmPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["tenants.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_THROTTLE_RATE_KEY", "1200/min"),
        "api_session": env("API_THROTTLE_RATE_SESSION", "300/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "tenants.api.pagination.FirmCursorPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "tenants.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "tenants.api.renderers.AttachmentJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"{SITE_NAME} partner API",
    "DESCRIPTION": (
        "Budgets, actuals and approvals of a firm's client organisations. Authenticate with a "
        "firm's API key: `Authorization: Bearer <key>`; the firm is always the key's firm. "
        "Lists use cursor pagination (follow `next`). Errors share one format: "
        '`{"error": {"code", "message", "fields"}}`. Large reads send an ETag; send it back as '
        "If-None-Match to get 304 when nothing changed. Signed-in people can call the same "
        "endpoints at `/f/<firm_slug>/api/v1/...`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs describe no firm's data: readable without a key.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "AUTHENTICATION_WHITELIST": ["tenants.api.authentication.ApiKeyAuthentication"],
    "PREPROCESSING_HOOKS": ["tenants.api.schema.preprocess_key_routes_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tenants.api.schema.postprocess_errors_and_etags",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Enums named by their model, so another "state" or "type" elsewhere cannot collide.
    "ENUM_NAME_OVERRIDES": {
        "AccountClassEnum": "budgeting.ledger.api.ACCOUNT_CLASSES",
        "AccountStatusEnum": "budgeting.ledger.api.ACCOUNT_STATUSES",
        "AccountTypeEnum": "budgeting.ledger.api.ACCOUNT_TYPES",
        "ApprovalStatusEnum": "budgeting.models.ApprovalRequest.Status",
        "ApprovalStepStateEnum": "budgeting.models.ApprovalStep.Status",
        "BudgetTypeEnum": "budgeting.models.Budget.Type",
        "DepartmentStatusEnum": "budgeting.models.DepartmentAssignment.Status",
        "DraftStatusEnum": "budgeting.models.Draft.Status",
        "ScenarioBaseEnum": "budgeting.scenarios.api.SCENARIO_BASES",
        "VarianceStatusEnum": "budgeting.drafts.api.VARIANCE_STATUSES",
        "SyncRunKindEnum": "budgeting.models.SyncRun.Kind",
        "SyncRunStateEnum": "budgeting.models.SyncRun.State",
        "SyncRunTriggerEnum": "budgeting.models.SyncRun.Trigger",
    },
    # Docs assets come from drf-spectacular-sidecar, served as our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No deep links: Swagger UI puts each operation's link inside its expand button, a control
    # within a control that screen readers cannot reach (axe-core: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "persistAuthorization": False},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # One line per Xero request is noise; failures are logged by the Xero client itself.
    "loggers": {"httpx": {"level": "WARNING"}},
}
