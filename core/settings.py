"""Django settings for Portico, read from the environment (see README, Configuration)."""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_choice, env_int, env_list, env_optional, env_str
from core.logging import logging_config
from residency.cells import cells as _cells
from residency.cells import this_cell as _this_cell

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTICO_VAR_DIR", str(BASE_DIR / "var"))).resolve()

PORTICO_ENV = env_choice("PORTICO_ENV", "development", ["development", "test", "production"])
PRODUCTION = PORTICO_ENV == "production"
DEBUG = env_bool("PORTICO_DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("PORTICO_DEBUG must be off when PORTICO_ENV=production")


def _secret_key() -> str:
    configured = env_optional("PORTICO_SECRET_KEY")
    if configured:
        return configured
    if PRODUCTION:
        raise ImproperlyConfigured("PORTICO_SECRET_KEY (or PORTICO_SECRET_KEY_FILE) must be set in production")
    # Development: one random key per checkout, kept under var/ so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Django's own test of a weak key (security.W009), made fatal in production.
if PRODUCTION and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured(
        "PORTICO_SECRET_KEY is too weak for production: use at least 50 random characters "
        "(python3 -c 'import secrets; print(secrets.token_urlsafe(64))')"
    )

if PRODUCTION and not env_optional("PORTICO_BASE_DOMAIN"):
    raise ImproperlyConfigured("PORTICO_BASE_DOMAIN must be set in production (firms live at <slug>.<base domain>)")
PORTICO_BASE_DOMAIN = env_str("PORTICO_BASE_DOMAIN", "localhost").lower()

# Stripe Connect (billing/stripe/): the platform's secret key, the webhook signing secret, and an API base
# that tests point at a local Stripe-speaking server (empty: Stripe itself).
PORTICO_STRIPE_SECRET_KEY = env_str("PORTICO_STRIPE_SECRET_KEY", "")
# Only a payment plan's card form (Stripe.js confirmSetup) needs it; one-off payments use hosted Checkout.
PORTICO_STRIPE_PUBLISHABLE_KEY = env_str("PORTICO_STRIPE_PUBLISHABLE_KEY", "")
PORTICO_STRIPE_WEBHOOK_SECRET = env_str("PORTICO_STRIPE_WEBHOOK_SECRET", "")
PORTICO_STRIPE_API_BASE = env_str("PORTICO_STRIPE_API_BASE", "")
PORTICO_URL_SCHEME = env_choice("PORTICO_URL_SCHEME", "https" if PRODUCTION else "http", ["http", "https"])
# The port users reach the web app on; only used to print and email URLs.
PORTICO_PUBLIC_PORT = env_int("PORTICO_PUBLIC_PORT", 443 if PRODUCTION else 8000, minimum=1)
ALLOWED_HOSTS = [PORTICO_BASE_DOMAIN, f".{PORTICO_BASE_DOMAIN}", *env_list("PORTICO_EXTRA_HOSTS")]
if PRODUCTION and ("*" in ALLOWED_HOSTS or PORTICO_BASE_DOMAIN in ("", ".", "localhost")):
    raise ImproperlyConfigured("allowed hosts must name your domain in production (PORTICO_BASE_DOMAIN, no '*')")

# --- Tenancy -----------------------------------------------------------------
# Public schema = control plane (tenants and their domains). Everything a firm
# owns lives in its own schema; see tenants/ and the README's architecture.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "kms",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "django.contrib.messages",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "guardian",
    # Two-factor devices and login-attempt counters live in each firm's schema,
    # so a lockout or an enrolment in one firm never touches another.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    # OAuth2 applications and access tokens of integrations live in the firm's schema: a token
    # of firm A is unknown at firm B (api.authentication).
    "oauth2_provider",
    # Before core: the role matrix (core.roles, on core's post_migrate) names billing's permissions.
    "billing",
    "core",
    "core.audit",
    "portal",
    "residency",
]
# django-oauth-toolkit's 22 migrations squashed into one (core/migrations/oauth2_provider/):
# about 5 s less for every schema migrated from scratch.
MIGRATION_MODULES = {"oauth2_provider": "core.migrations.oauth2_provider"}
# The library's own models (its defaults, named because its squashed migration refers to them as settings).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 - a model, not a secret
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105 - a model, not a secret
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105 - a model, not a secret
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"
INSTALLED_APPS = [
    *SHARED_APPS,
    *[app for app in TENANT_APPS if app not in SHARED_APPS],
    "rest_framework",
    "drf_spectacular",
]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "portal.urls_public"
ROOT_URLCONF = "core.urls"
# New firms are stamped out of a pre-migrated template schema (tenants/services.py).
TENANT_BASE_SCHEMA = "portico_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Set search_path once per connection and schema change, not before every query.
TENANT_LIMIT_SET_CALLS = True
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
DEFAULT_NOT_FOUND_TENANT_VIEW = "core.error_pages.not_found"  # an unknown host: the product's 404, DEBUG or not
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    "core.proxy.ForwardedHeadersMiddleware",  # first: X-Forwarded-* only from PORTICO_TRUSTED_PROXIES
    "core.middleware.RequestIdMiddleware",
    "core.logging.LogContextMiddleware",
    "core.middleware.AuditOriginMiddleware",  # before anything that may record an audit entry
    "core.middleware.TenantMiddleware",
    "core.middleware.TenantStatusMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.language.PreferredLanguageMiddleware",  # the signed-in person's own language
    "core.error_pages.ErrorPagesMiddleware",  # the product's error pages, also with DEBUG on
    "django_otp.middleware.OTPMiddleware",
    "core.auth.middleware.SessionTimeoutMiddleware",
    "core.auth.middleware.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "api.etags.ApiETagMiddleware",  # ETag and 304 on the API's reads
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "core" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "core.wsgi.application"

# --- Database ----------------------------------------------------------------
# `portico` starts an embedded PostgreSQL under var/ and exports DATABASE_URL
# before Django loads, so every process (web, worker, scheduler) sees the same URL.
# A process is one cell (residency.cells): with PORTICO_CELLS its default database is its cell's.
_cell = _this_cell()
PORTICO_CELL = _cell.name
PORTICO_CELLS_CONFIGURED = bool(env_optional("PORTICO_CELLS"))
_database_url = env_optional("DATABASE_URL")
if PORTICO_CELLS_CONFIGURED:
    if _database_url and _database_url != _cell.database_url:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not the database of cell {_cell.name} (PORTICO_CELLS): unset it or make them agree"
        )
    _database_url = _cell.database_url
if not _database_url:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set: run Portico through the `portico` command, "
        "which starts an embedded PostgreSQL, or point DATABASE_URL at your server"
    )
# CONN_MAX_AGE 0 (a connection per request) is the choice for production behind pgbouncer in
# session mode (infra/pgbouncer): connecting to the pooler is a local handshake, not a new
# PostgreSQL backend, and between requests the server connection goes back to the pool, so
# many web processes share a few backends; each request also starts from a clean session
# (pgbouncer runs DISCARD ALL), which suits django-tenants' per-session search_path. Without
# a pooler, set PORTICO_DB_CONN_MAX_AGE=60 to keep connections (checked before reuse).
# A pooler in transaction mode is refused at start-up (core.startup).
_conn_max_age = env_int("PORTICO_DB_CONN_MAX_AGE", 0, minimum=0)
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=_conn_max_age)}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = _conn_max_age > 0
# The control plane (tenants.control): the firm directory and its outbox. In its own database when
# PORTICO_CONTROL_DATABASE_URL is set (alias "control"); unset, in this cell's database, written on the
# default connection (a single-cell deployment: today's, `portico up`, the test suite).
_control_url = env_optional("PORTICO_CONTROL_DATABASE_URL")
if _control_url:
    DATABASES["control"] = dj_database_url.parse(_control_url, conn_max_age=_conn_max_age)
    DATABASES["control"]["CONN_HEALTH_CHECKS"] = _conn_max_age > 0
elif len(_cells()) > 1:
    raise ImproperlyConfigured("PORTICO_CONTROL_DATABASE_URL must be set when PORTICO_CELLS names several cells")
DATABASE_ROUTERS = ["tenants.control.ControlPlaneRouter", *DATABASE_ROUTERS]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users and sessions --------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "core.auth.passwords.CharacterVarietyValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env_int("PORTICO_INVITE_TTL_SECONDS", 7 * 24 * 3600, minimum=3600)
# Self-service password reset (core/auth/reset.py): how long a link works (at most as long as an
# invitation's), and how many requests per email and per client address a firm takes per window.
PORTICO_PASSWORD_RESET_SECONDS = env_int("PORTICO_PASSWORD_RESET_SECONDS", 3600, minimum=300)
PORTICO_PASSWORD_RESET_WINDOW_SECONDS = env_int("PORTICO_PASSWORD_RESET_WINDOW_SECONDS", 3600, minimum=60)
PORTICO_PASSWORD_RESET_PER_EMAIL = env_int("PORTICO_PASSWORD_RESET_PER_EMAIL", 3, minimum=1)
PORTICO_PASSWORD_RESET_PER_ADDRESS = env_int("PORTICO_PASSWORD_RESET_PER_ADDRESS", 20, minimum=1)
# Host-only cookies: a firm's session never reaches another firm's subdomain.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PORTICO_URL_SCHEME == "https"
CSRF_COOKIE_SECURE = PORTICO_URL_SCHEME == "https"
SESSION_COOKIE_AGE = env_int("PORTICO_SESSION_SECONDS", 8 * 3600, minimum=300)
# Signed-in sessions end after this long without a request, and in any case
# PORTICO_SESSION_SECONDS after sign-in (core/auth/middleware.py).
PORTICO_IDLE_TIMEOUT_SECONDS = env_int("PORTICO_IDLE_TIMEOUT_SECONDS", 30 * 60, minimum=60)

# Login throttling (django-axes). Attempts are rows in the firm's own schema
# (axes is a tenant app and uses its database handler, not the cache), so a
# lockout at one firm does not lock the same email or address at another.
# A lockout is per email *at* a client address (one person's typos do not lock
# everyone behind the same office or phone-network address), and, past a looser
# limit, per address for every email (a password spray): core/auth/lockout.py.
AXES_HANDLER = "core.auth.lockout.PersonAtAddressHandler"
AXES_FAILURE_LIMIT = env_int("PORTICO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
PORTICO_LOGIN_IP_FAILURE_LIMIT = env_int(
    "PORTICO_LOGIN_IP_FAILURE_LIMIT", 10 * AXES_FAILURE_LIMIT, minimum=AXES_FAILURE_LIMIT
)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PORTICO_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The login form posts "username" and authenticate() is called with username=; the lockout key is
# that email normalised as the sign-in form reads it (NFKC), case-folded: one key per address.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "core.auth.lockout.attempted_email"
AXES_LOCKOUT_CALLABLE = "core.auth.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are recorded by the audit log
# The client address as the audit log sees it (X-Forwarded-For only from trusted proxies).
AXES_CLIENT_IP_CALLABLE = "core.audit.request.client_ip"
AXES_VERBOSE = False


def _totp_issuer(device: object) -> str:
    """The name authenticator apps show: the firm's, so two firms' entries are told apart."""
    from core.auth.two_factor import totp_issuer

    return totp_issuer()


OTP_TOTP_ISSUER = _totp_issuer
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False
ANONYMOUS_USER_NAME = None

# --- Cache -------------------------------------------------------------------
REDIS_URL = env_optional("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
    | {"KEY_FUNCTION": "django_tenants.cache.make_key", "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key"}
}

# --- Celery ------------------------------------------------------------------
# Redis when REDIS_URL is set; otherwise kombu's filesystem transport under
# var/broker, which needs nothing installed and is processed by a real worker.
CELERY_BROKER_DIR = VAR_DIR / "broker"


def filesystem_broker_options(broker_dir: Path) -> dict[str, object]:
    """kombu's filesystem transport, with every folder it uses under ``broker_dir`` (created here).

    kombu resolves the folders it is not given against the working directory, so
    all of them are spelled out.
    """
    folders = {name: broker_dir / name for name in ("queue", "control", "processed")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "control_folder": str(folders["control"]),
        "processed_folder": str(folders["processed"]),
        "store_processed": False,
    }


if _cell.broker_url and PORTICO_CELLS_CONFIGURED:  # the cell's own broker
    CELERY_BROKER_URL = _cell.broker_url
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
elif REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    CELERY_BROKER_URL = "filesystem://localhost/"  # the host is ignored; naming it silences kombu's warning
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(CELERY_BROKER_DIR)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Two queues, so that production runs (and scales) a worker pool for each (infra/Procfile,
# infra/systemd): "default" for work people wait for (invitations and other mail), "maintenance"
# for the scheduler's sweeps over every firm. A worker started without --queues takes both.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES: dict[str, dict[str, object]] = {"default": {}, "maintenance": {}}
CELERY_TASK_ROUTES = {
    "core.audit.tasks.*": {"queue": "maintenance"},
    "core.tasks.revoke_expired_grants*": {"queue": "maintenance"},
    "core.tasks.webhooks_sweep*": {"queue": "maintenance"},
    "billing.invoices.tasks.draft_recurring_invoices*": {"queue": "maintenance"},
    "billing.collections.tasks.send_reminders_in_every_firm": {"queue": "maintenance"},
    "billing.collections.tasks.fire_due_reminders": {"queue": "maintenance"},
    "billing.collections.tasks.send_partner_reports_in_every_firm": {"queue": "maintenance"},
    "billing.collections.tasks.send_partner_reports": {"queue": "maintenance"},
    "billing.stripe.plan_tasks.*": {"queue": "maintenance"},
    "tenants.tasks.directory_deliver": {"queue": "maintenance"},
}
# The worker logs through Django's LOGGING (JSON lines, scrubbed), not a handler of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# How often the scheduler asks a worker to stamp var/heartbeat (tests make it short).
PORTICO_HEARTBEAT_SECONDS = env_int("PORTICO_HEARTBEAT_SECONDS", 60, minimum=1)
# Expired grants are refused at every request; this sweep also revokes them (core/tasks.py).
PORTICO_GRANT_SWEEP_SECONDS = env_int("PORTICO_GRANT_SWEEP_SECONDS", 300, minimum=10)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "revoke-expired-grants": {
        "task": "core.tasks.revoke_expired_grants_in_every_firm",
        "schedule": float(PORTICO_GRANT_SWEEP_SECONDS),
    },
    "heartbeat": {"task": "core.tasks.heartbeat", "schedule": float(PORTICO_HEARTBEAT_SECONDS)},
    "webhooks-sweep": {"task": "core.tasks.webhooks_sweep_in_every_firm", "schedule": 60.0},
    # Deadline reminders (core/work.py): a row per deadline, offset and person makes each go out once.
    "deadline-reminders": {"task": "core.tasks.deadline_reminders_in_every_firm", "schedule": 3600.0},
}
# Outgoing webhooks (core/webhooks/): the queue their delivery tasks go to, and whether an endpoint may be on
# loopback (tests and local development only: every other private address is always refused).
PORTICO_WEBHOOKS_QUEUE = env_str("PORTICO_WEBHOOKS_QUEUE", CELERY_TASK_DEFAULT_QUEUE)
# Incoming Stripe events (billing/stripe/tasks.py): the queue their task goes to (work people wait for: default).
PORTICO_STRIPE_QUEUE = env_str("PORTICO_STRIPE_QUEUE", CELERY_TASK_DEFAULT_QUEUE)
PORTICO_WEBHOOKS_ALLOW_LOOPBACK = env_bool("PORTICO_WEBHOOKS_ALLOW_LOOPBACK", default=False)
if PRODUCTION and PORTICO_WEBHOOKS_ALLOW_LOOPBACK:
    raise ImproperlyConfigured("PORTICO_WEBHOOKS_ALLOW_LOOPBACK must be off in production")

# --- Email -------------------------------------------------------------------
_email_backends = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
EMAIL_BACKEND = _email_backends[env_choice("PORTICO_EMAIL_BACKEND", "file", list(_email_backends))]
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = env_str("PORTICO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("PORTICO_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("PORTICO_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("PORTICO_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("PORTICO_EMAIL_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("PORTICO_FROM_EMAIL", f"Portico <no-reply@{PORTICO_BASE_DOMAIN}>")

# --- I18N, static ------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "core" / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
STATIC_URL = "static/"
# In production the reverse proxy serves STATIC_ROOT at /static/ (collectstatic at deploy, with
# hashed names and pre-compressed copies); otherwise WhiteNoise serves the apps' folders.
STATIC_ROOT = Path(env_str("PORTICO_STATIC_ROOT", str(VAR_DIR / "static"))).resolve()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

REST_FRAMEWORK = {
    # A bearer token first (so an anonymous call is a 401 with WWW-Authenticate), then the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ScopedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle", "api.throttling.FirmRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "api.openapi.ApiSchema",
    # Every API error in one shape: {"error": {"code", "message", "fields"}}.
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
}
# Access tokens of integrations (django-oauth-toolkit; api.scopes lists the scopes). Tokens are
# stored as their SHA-256 only; each token's requests are limited to PORTICO_API_TOKEN_RATE.
OAUTH2_PROVIDER = {
    "SCOPES": {
        "matters:read": "Read matters, clients, intake, checklists, messages and matter types",
        "matters:write": "Open matters, answer intake, send messages, change stages, import intake",
        "documents:read": "Read and download documents and the review queue",
        "documents:write": "Upload and review documents",
        "billing:read": "Read invoices, payments, credit notes and the ledger",
        "billing:write": "Create and issue invoices, record payments, request and decide credit notes",
        "trust:read": "Read matters' trust ledgers and trust requests",
        "trust:write": "Deposit into trust, request and approve trust disbursements",
        "access:read": "Read matters' grants and the access review",
        "access:write": "Give, change and revoke grants",
        "webhooks:manage": "Manage webhook endpoints, read their delivery log, rotate secrets, replay deliveries",
    },
    "DEFAULT_SCOPES": [],
    # An integration's token (client-credentials grant, api.oauth) lasts an hour; it asks again with its secret.
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    # RFC 9700 (the OAuth 2.0 security BCP) throughout; `check --deploy` warns on each one left out.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,  # the Authorization header only, never the URL
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}


def _api_rate(name: str, rate: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)", rate):
        raise ImproperlyConfigured(f"{name}: {rate!r} is not like 600/min")
    return rate


PORTICO_API_TOKEN_RATE = _api_rate("PORTICO_API_TOKEN_RATE", env_str("PORTICO_API_TOKEN_RATE", "600/min"))
# All the token requests of one firm together (every token of the firm counts against it).
PORTICO_API_FIRM_RATE = _api_rate("PORTICO_API_FIRM_RATE", env_str("PORTICO_API_FIRM_RATE", "3000/min"))
PORTICO_API_TOKEN_MAX_DAYS = 365

# The OpenAPI schema of /api/v1/ (served to staff at /api/v1/schema/).
SPECTACULAR_SETTINGS = {
    "TITLE": "Portico API",
    "VERSION": "1.0.0",
    "DESCRIPTION": "A firm's matters, clients, documents, messages, billing and trust, on the firm's own subdomain.",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema must generate without a warning: drf-spectacular's lint runs in `check --deploy`
    # (ENABLE_DJANGO_DEPLOY_CHECK, on by default) and tests/test_api_schema.py fails on any warning.
    "ENUM_NAME_OVERRIDES": {
        "LanguageEnum": ["en", "es"],
        "TrustRequestKindEnum": "billing.trust.models.TrustRequest.Kind",
        "OnlinePaymentStatusEnum": "billing.stripe.models.OnlinePayment.Status",
        "TrustCardRefundStatusEnum": "billing.stripe.models.TrustCardRefund.Status",
        "RetainerRequestStatusEnum": "billing.stripe.models.RetainerRequest.Status",
        "PaymentPlanStatusEnum": "billing.stripe.models.PaymentPlan.Status",
        "PlanInstallmentStatusEnum": "billing.stripe.models.PlanInstallment.Status",
        # Two "kind" fields of accounts: a payment's connected account (trust, operating) and a ledger account.
        "ConnectedAccountKindEnum": "billing.stripe.models.ConnectedAccount.Kind",
        "LedgerAccountKindEnum": "billing.ledger.models.Account.Kind",
    },
}

# --- Reverse proxy and security headers ------------------------------------------
# The reverse proxies (addresses or networks) whose X-Forwarded-* headers are believed; from
# anyone else core.proxy removes them before Django reads them. Required in production, where
# the proxy terminates TLS (infra/nginx). PORTICO_AUDIT_TRUSTED_PROXIES is the older name.
PORTICO_AUDIT_TRUSTED_PROXIES = env_list("PORTICO_TRUSTED_PROXIES") or env_list("PORTICO_AUDIT_TRUSTED_PROXIES")
for _proxy in PORTICO_AUDIT_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"PORTICO_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network") from None
if PRODUCTION and not PORTICO_AUDIT_TRUSTED_PROXIES:
    raise ImproperlyConfigured("PORTICO_TRUSTED_PROXIES must name the reverse proxy's address in production")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = PRODUCTION
# Health probes of a load balancer or container runtime come over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Logging and errors ------------------------------------------------------
# Every line carries tenant, request id and user id, with personal data scrubbed (core.logging):
# JSON lines in production (PORTICO_LOG_FORMAT=json), text otherwise.
LOGGING = logging_config(
    formatter=env_choice("PORTICO_LOG_FORMAT", "json" if PRODUCTION else "plain", ["json", "plain"]),
    level=env_str("PORTICO_LOG_LEVEL", "INFO"),
)

# Sentry without personal data: no default PII, local variables or bodies; values scrubbed (core.sentry).
SENTRY_DSN = env_optional("SENTRY_DSN")
if SENTRY_DSN:
    from core.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", PORTICO_ENV), release=env_optional("SENTRY_RELEASE")
    )

# --- Audit log (core/audit) ---------------------------------------------------
# Entries older than this are pruned, after the pruned prefix is anchored (7 years).
PORTICO_AUDIT_RETENTION_DAYS = env_int("PORTICO_AUDIT_RETENTION_DAYS", 2557, minimum=1)
# How often every firm's chain head is anchored (signed) in the public schema.
PORTICO_AUDIT_ANCHOR_SECONDS = env_int("PORTICO_AUDIT_ANCHOR_SECONDS", 3600, minimum=10)
# Every signed anchor is also appended to a journal file per firm, outside the database, so that
# whoever can rewrite the database cannot also delete the anchors (mount it where the database's
# owner cannot write: another host, WORM or append-only storage).
PORTICO_AUDIT_JOURNAL_DIR = Path(env_str("PORTICO_AUDIT_JOURNAL_DIR", str(VAR_DIR / "audit-journal"))).resolve()
CELERY_BEAT_SCHEDULE["audit-anchor"] = {
    "task": "core.audit.tasks.anchor_all_firms",
    "schedule": float(PORTICO_AUDIT_ANCHOR_SECONDS),
}
# Each cell's worker applies its own firms' control-plane directory changes (tenants/directory.py).
PORTICO_DIRECTORY_DELIVER_SECONDS = env_int("PORTICO_DIRECTORY_DELIVER_SECONDS", 30, minimum=1)
CELERY_BEAT_SCHEDULE["directory-deliver"] = {
    "task": "tenants.tasks.directory_deliver",
    "schedule": float(PORTICO_DIRECTORY_DELIVER_SECONDS),
}
CELERY_BEAT_SCHEDULE["audit-prune"] = {"task": "core.audit.tasks.prune_all_firms", "schedule": 24 * 3600.0}

# --- Residency and keys (residency/, kms/) -------------------------------------
# Per-region storage and key settings are read by residency.regions from
# PORTICO_REGIONS_FILE / PORTICO_STORAGE_BACKEND / PORTICO_KMS_PROVIDER /
# PORTICO_AWS_ENDPOINT_URL; the local master key by kms.local from
# PORTICO_MASTER_KEY(_FILE). Both refuse bad values loudly. Files go through the
# firm's encrypted, region-pinned storage; kms.E001 refuses the local master key
# with DEBUG off unless PORTICO_ALLOW_LOCAL_KMS=true.
PORTICO_ALLOW_LOCAL_KMS = env_bool("PORTICO_ALLOW_LOCAL_KMS", default=False)
# The local storage backend's root: <dir>/<region>/<firm>/<object>.
# Large freed buffers are kept for reuse up to this many MiB per process (core/allocator.py); 0: glibc defaults.
PORTICO_MALLOC_KEEP_MIB = env_int("PORTICO_MALLOC_KEEP_MIB", 64, minimum=0)
PORTICO_STORAGE_DIR = Path(env_str("PORTICO_STORAGE_DIR", str(VAR_DIR / "storage"))).resolve()
STORAGES = {
    "default": {"BACKEND": "residency.storage.FirmStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Objects in a firm's storage without a row (a write whose transaction never committed) are
# deleted once older than the grace period, by a sweep this often (residency/orphans.py).
PORTICO_ORPHAN_GRACE_SECONDS = env_int("PORTICO_ORPHAN_GRACE_SECONDS", 24 * 3600, minimum=600)
PORTICO_ORPHAN_SWEEP_SECONDS = env_int("PORTICO_ORPHAN_SWEEP_SECONDS", 6 * 3600, minimum=60)
CELERY_BEAT_SCHEDULE["sweep-orphan-objects"] = {
    "task": "core.tasks.sweep_orphans_in_every_firm",
    "schedule": float(PORTICO_ORPHAN_SWEEP_SECONDS),
}

# --- Client uploads (core/uploads) ---------------------------------------------
# Largest file a client may upload (a requirement may set a smaller limit), and the
# largest image in pixels (decompression bombs are refused before they are decoded).
PORTICO_UPLOAD_MAX_BYTES = env_int("PORTICO_UPLOAD_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
PORTICO_UPLOAD_MAX_PIXELS = env_int("PORTICO_UPLOAD_MAX_PIXELS", 40_000_000, minimum=10_000)
# Longest PDF a client may upload: the structure check's work grows with it.
PORTICO_UPLOAD_MAX_PDF_PAGES = env_int("PORTICO_UPLOAD_MAX_PDF_PAGES", 500, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # form fields only; files are limited above
# ClamAV daemon: a Unix socket path or host:port. Unset: no virus scan. Set but
# unreachable: uploads are refused (fail closed) until it answers again; a file
# the daemon did not scan whole is refused too (its clamd.conf: README).
# The timeout bounds the whole scan of one upload.
PORTICO_CLAMD_SOCKET = env_optional("PORTICO_CLAMD_SOCKET")
PORTICO_CLAMD_TIMEOUT_SECONDS = env_int("PORTICO_CLAMD_TIMEOUT_SECONDS", 30, minimum=1)
# Static files are served from the apps' static/ folders (no collectstatic step to forget).
WHITENOISE_USE_FINDERS = True

# --- Invoicing (billing/invoices) -----------------------------------------------
# How often every firm is asked to draft the invoices its recurring plans have due.
PORTICO_RECURRING_INVOICES_SECONDS = env_int("PORTICO_RECURRING_INVOICES_SECONDS", 6 * 3600, minimum=60)
CELERY_BEAT_SCHEDULE["draft-recurring-invoices"] = {
    "task": "billing.invoices.tasks.draft_recurring_invoices_in_every_firm",
    "schedule": float(PORTICO_RECURRING_INVOICES_SECONDS),
}
# How often every firm is asked to fire the reminder tiers that are due (billing/collections).
PORTICO_REMINDERS_SECONDS = env_int("PORTICO_REMINDERS_SECONDS", 3600, minimum=60)
CELERY_BEAT_SCHEDULE["send-reminders"] = {
    "task": "billing.collections.tasks.send_reminders_in_every_firm",
    "schedule": float(PORTICO_REMINDERS_SECONDS),
}
# How often every firm is asked whether its weekly partner report is due (it goes out on the firm's day and hour).
PORTICO_PARTNER_REPORT_SECONDS = env_int("PORTICO_PARTNER_REPORT_SECONDS", 3600, minimum=60)
CELERY_BEAT_SCHEDULE["send-partner-reports"] = {
    "task": "billing.collections.tasks.send_partner_reports_in_every_firm",
    "schedule": float(PORTICO_PARTNER_REPORT_SECONDS),
}
# How often every firm is asked to charge the payment plan installments that are due (billing/stripe/plans.py).
PORTICO_PLAN_CHARGES_SECONDS = env_int("PORTICO_PLAN_CHARGES_SECONDS", 3600, minimum=60)
CELERY_BEAT_SCHEDULE["charge-plan-installments"] = {
    "task": "billing.stripe.plan_tasks.charge_installments_in_every_firm",
    "schedule": float(PORTICO_PLAN_CHARGES_SECONDS),
}
