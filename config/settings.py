"""Django settings for meterproof, read from the environment (django-environ).

Development defaults are safe and need no server: SQLite in ``var/``, an
in-memory Celery broker, DEBUG on. ``MP_ENV=production`` turns DEBUG off (and
refuses ``DJANGO_DEBUG=true``), turns on HTTPS redirects, HSTS and secure
cookies (``manage.py check --deploy`` passes without warnings), and refuses to
start unless the secrets are set (SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, the
issuer / meter / log-operator keys, CELERY_BROKER_URL).

Keys are written into the git-ignored ``.env`` by ``manage.py billing_keys``;
``.env`` is read unless ``MP_READ_DOT_ENV=0`` (the test settings set that so the
suite never sees a developer's keys).

Rules (see :mod:`kernel.settings`):

- **Defaults live here, once.** This module parses the environment and gives
  every product setting its default; the per-app settings objects
  (``kernel_settings``, ``transparency_settings``, ``revocation_settings``,
  ``circuits_settings``, ``billing_settings``) only name, type and read them,
  at call time. Code outside ``config/`` reads product settings only through
  those objects.
- **Environment prefixes.** ``MP_`` for every product variable, ``DJANGO_``
  for Django's own, the library's standard names for third-party ones
  (``DATABASE_URL``, ``CELERY_*``, ``LOG_LEVEL``, ``DB_CONN_MAX_AGE``). The
  Django setting ``VDI_<X>`` is read from ``MP_<X>``; the former variable
  ``VDI_<X>`` is still honoured as a deprecated alias, and ``MP_<X>`` wins
  when both are set (:func:`product_env`). The Django setting names stay
  ``VDI_*`` (an implementation detail the settings objects hide).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from kernel.settings import DEPRECATED_ENV_PREFIX, ENV_PREFIX

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if os.environ.get("MP_READ_DOT_ENV", "1") != "0" and (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env", overwrite=False)


def product_env(name: str) -> str:
    """Return the environment variable to read for the product variable
    ``name`` (``"MP_<X>"``): ``MP_<X>`` if it is set, else the deprecated
    alias ``VDI_<X>`` if that is set, else ``MP_<X>`` (unset: the default)."""
    alias = DEPRECATED_ENV_PREFIX + name.removeprefix(ENV_PREFIX)
    if name not in os.environ and alias in os.environ:
        return alias
    return name


MP_ENV = env.str("MP_ENV", default="development")
PRODUCTION = MP_ENV == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    # DEBUG pages show settings, source and SQL to anyone: never in production.
    raise ImproperlyConfigured(
        "MP_ENV=production refuses DJANGO_DEBUG=true: DEBUG pages expose settings "
        "and source code; unset DJANGO_DEBUG (or use MP_ENV=development)"
    )

_DEV_SECRET = "dev-insecure-secret-key-do-not-use-in-production"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "audittrail.apps.AuditTrailConfig",
    "transparency.apps.TransparencyConfig",
    "billing.apps.BillingConfig",
    "revocation.apps.RevocationConfig",
    "circuits.apps.CircuitsConfig",
]

MIDDLEWARE = [
    # First, so that it sees every answer: JSON errors under the API prefixes.
    "config.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the
    # lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
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
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

VAR_DIR = Path(env.str("MP_VAR_DIR", default=str(BASE_DIR / "var")))
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'meterproof.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE transactions take the write lock up front (no lock-upgrade
    # deadlocks between concurrent writers); WAL lets readers run during writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# Persistent connections on every backend (a fresh SQLite connection also
# re-checkpoints the WAL, measured at ~3 ms per request).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sign-in lockout (django-axes) on every form that calls authenticate(): the
# staff admin /admin/login/ and the auditor /audit/login/. After
# MP_LOGIN_FAILURE_LIMIT wrong passwords for one username from one client
# address, sign-in is refused (HTTP 429, templates/lockout.html) for
# MP_LOGIN_COOLOFF_MINUTES, even with the right password; a successful
# sign-in resets the count. Behind a reverse proxy, install django-ipware and
# set the AXES_IPWARE_* settings so the client address is the real one.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("MP_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("MP_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "lockout.html"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Staff see exact UTC instants (billing disputes are argued to the second);
# the locale's formats win over DATETIME_FORMAT, so override them per locale.
FORMAT_MODULE_PATH = ["config.formats"]
# Keep flash messages server-side: an issued API key is shown once through a
# message and must never travel in a (signed, not encrypted) cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# Request bodies: one meter envelope is at most ~40 KiB (32 attributes of 1 KiB),
# so a single attest refuses more than 64 KiB and a batch of 100 more than 4 MiB
# (413 payload_too_large), before parsing.
MP_MAX_BODY_BYTES = env.int("MP_MAX_BODY_BYTES", default=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int(
    "MP_MAX_BATCH_BODY_BYTES", default=4 * 1024 * 1024
)
# Disputes (issue 12): a tenant has 14 days to add evidence (Stripe's habit is
# 7 to 21); a dispute request carries evidence files in base64, so its body
# may be larger than an attest's: 1 MiB.
MP_DISPUTE_EVIDENCE_DAYS = env.int("MP_DISPUTE_EVIDENCE_DAYS", default=14)
MP_DISPUTE_MAX_BODY_BYTES = env.int("MP_DISPUTE_MAX_BODY_BYTES", default=1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "config.exception_handler.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# --- Celery ---------------------------------------------------------------
# Default broker: kombu's in-memory transport, which needs no server on a fresh
# machine; tasks run in-process when eager. Production sets a Redis URL.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="cache+memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not PRODUCTION)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
# Whether Celery beat runs config/celery.py's schedule (log_tick, snapshot
# refresh). Without it (the in-memory broker of development) the server keeps
# itself fresh lazily on reads: it re-signs a revocation snapshot nearing
# expiry when strict verification needs it, and the auditor's head counts as
# stale only when there is log work left unsigned, not merely for being idle.
VDI_CELERY_BEAT = env.bool(
    product_env("MP_CELERY_BEAT"), default=CELERY_BROKER_URL != "memory://"
)

# --- meterproof keys (names as the seed's deploy checklist) -----------------
VDI_SIGNING_KEY = env.str(product_env("MP_SIGNING_KEY"), default="")
VDI_BILLING_METER_PRIVATE_KEY_PEM = env.str(
    product_env("MP_BILLING_METER_PRIVATE_KEY_PEM"), default=""
)
VDI_BILLING_METER_KID = env.str(product_env("MP_BILLING_METER_KID"), default="")
VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM = env.str(
    product_env("MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM"), default=""
)
VDI_BILLING_LOG_OPERATOR_KID = env.str(
    product_env("MP_BILLING_LOG_OPERATOR_KID"), default=""
)
VDI_MANIFEST_AUTHORITY_SIGNING_KEY = env.str(
    product_env("MP_MANIFEST_AUTHORITY_SIGNING_KEY"), default=""
)
# Circuit artifacts (circom source, r1cs, wasm, zkey, vkey, transcript) and
# their signed ARTIFACT_MANIFEST.json; the manifest authority's public key(s)
# (a JWK, a list, or {"keys": [...]}) default to the committed trust anchor.
VDI_CIRCUIT_ARTIFACTS_DIR = Path(
    env.str(
        product_env("MP_CIRCUIT_ARTIFACTS_DIR"),
        default=str(BASE_DIR / "circuits" / "apiBillingV2"),
    )
)
# groth16py proving-key cache (circuits.prover): the imported zkey + compiled
# circuit, saved once and loaded by later processes; keyed by artifact hashes.
VDI_GROTH16_PROVER_CACHE_DIR = Path(
    env.str(
        product_env("MP_GROTH16_PROVER_CACHE_DIR"), default=str(VAR_DIR / "groth16")
    )
)
# Threads of the process-wide proving pool (Groth16Prover.submit/prove_many);
# witness and proof release the GIL, so threads scale up to the core count.
VDI_GROTH16_PROVER_THREADS = env.int(
    product_env("MP_GROTH16_PROVER_THREADS"), default=os.cpu_count() or 1
)
_MANIFEST_AUTHORITY_FILE = (
    BASE_DIR / "circuits" / "apiBillingV2" / "manifest_authority.json"
)
VDI_MANIFEST_AUTHORITY_PUBLIC_JWK = env.str(
    product_env("MP_MANIFEST_AUTHORITY_PUBLIC_JWK"),
    default=(
        _MANIFEST_AUTHORITY_FILE.read_text()
        if _MANIFEST_AUTHORITY_FILE.exists()
        else ""
    ),
)
# Retired public keys (JSON list of {role, kid, jwk, not_before, not_after}),
# kept for verification inside their window; written by billing_keys rotate.
VDI_BILLING_RETIRED_KEYS = env.str(product_env("MP_BILLING_RETIRED_KEYS"), default="")
# Keyed hash for tenant surrogates of client IPs (import_access_log).
VDI_TENANT_SURROGATE_KEY = env.str(product_env("MP_TENANT_SURROGATE_KEY"), default="")

# --- meterproof behaviour ---------------------------------------------------
VDI_ATTEST_ENABLED = env.bool(product_env("MP_ATTEST_ENABLED"), default=True)
VDI_ATTEST_SECRET = env.str(product_env("MP_ATTEST_SECRET"), default="")
VDI_BILLING_LOG_ORIGIN = env.str(
    product_env("MP_BILLING_LOG_ORIGIN"), default="meterproof.dev/billing-log"
)
# Re-sign the log head at least this often, even when the tree has not grown,
# so a log that stops signing is visibly stale (seconds).
VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC = env.int(
    product_env("MP_BILLING_LOG_CHECKPOINT_INTERVAL_SEC"), default=300
)
# Witnesses whose C2SP tlog-cosignatures (0x04 vkeys "name+hexid+base64") the
# log accepts and serves; verifiers read the same list as trust anchors.
VDI_BILLING_LOG_WITNESS_KEYS = env.list(
    product_env("MP_BILLING_LOG_WITNESS_KEYS"), default=[]
)
# Cosignatures by distinct listed witnesses every checkpoint must carry to
# verify (any profile); 0 = witnesses optional. Published in the trust anchors.
VDI_BILLING_LOG_WITNESS_THRESHOLD = env.int(
    product_env("MP_BILLING_LOG_WITNESS_THRESHOLD"), default=0
)
# Log the monitor (tlog_monitor, Celery beat) checks: "" = this server in-process.
VDI_BILLING_MONITOR_LOG_URL = env.str(
    product_env("MP_BILLING_MONITOR_LOG_URL"), default=""
)
VDI_BILLING_REPLAY_RESERVE_TTL_SEC = env.int(
    product_env("MP_BILLING_REPLAY_RESERVE_TTL_SEC"), default=900
)
# Stripe's meter-event window: events up to 35 days old, 5 minutes in the future.
VDI_BILLING_MAX_EVENT_AGE_SEC = env.int(
    product_env("MP_BILLING_MAX_EVENT_AGE_SEC"), default=35 * 86400
)
VDI_BILLING_MAX_FUTURE_SKEW_SEC = env.int(
    product_env("MP_BILLING_MAX_FUTURE_SKEW_SEC"), default=300
)
# Verification profile of POST /api/vdi/billing/verify when the request names
# none: the strict profile in production, standard elsewhere.
VDI_BILLING_VERIFY_PROFILE = env.str(
    product_env("MP_BILLING_VERIFY_PROFILE"),
    default="VDI_VERIFY_STRICT_V1" if PRODUCTION else "standard",
)
VDI_DEFAULT_TARIFF_ID = env.str(
    product_env("MP_DEFAULT_TARIFF_ID"), default="api-requests"
)
VDI_BILLING_INCIRCUIT_BINDING = env.bool(
    product_env("MP_BILLING_INCIRCUIT_BINDING"), default=False
)
# With the binding on: "sync" proves before signing (billing_proof inside the
# signed attestation); "parallel" proves while signing and logging and answers
# with a detached billing_proof; "async" signs and logs at once and a Celery
# worker attaches a detached billing_proof later (Bundle.proof_status says
# where it stands). Any other value refuses to attest with proofs.
VDI_BILLING_PROOF_MODE = env.str(product_env("MP_BILLING_PROOF_MODE"), default="sync")
# Async proving: attempts per bundle before it is marked failed, and bundles
# per worker run (billing_proofs_attach).
VDI_BILLING_PROOF_MAX_ATTEMPTS = env.int(
    product_env("MP_BILLING_PROOF_MAX_ATTEMPTS"), default=5
)
VDI_BILLING_PROOF_BATCH = env.int(product_env("MP_BILLING_PROOF_BATCH"), default=64)
# Statements: the Celery beat job closes a tenant's period this many days after
# its month ended (the late-event window: events up to 35 days late are
# accepted until then; a closed period refuses them with period_closed).
MP_STATEMENT_CLOSE_GRACE_DAYS = env.int("MP_STATEMENT_CLOSE_GRACE_DAYS", default=35)

# --- revocation (issue 5; see README "Configuration") -----------------------
# Source of the snapshot used by strict verification: inline signed snapshot
# (dev/pilot), else a URL polled by Celery beat, else our own published ones.
VDI_BILLING_REVOCATION_JSON = env.str(
    product_env("MP_BILLING_REVOCATION_JSON"), default=""
)
VDI_BILLING_REVOCATION_URL = env.str(
    product_env("MP_BILLING_REVOCATION_URL"), default=""
)
# Poll interval / feed Cache-Control max-age, seconds.
VDI_BILLING_REVOCATION_CACHE_SEC = env.int(
    product_env("MP_BILLING_REVOCATION_CACHE_SEC"), default=60
)
# Freshness maximum of a snapshot (now - snapshotTime), seconds; the server
# re-signs its own snapshot every half of this.
VDI_BILLING_REVOCATION_MAX_AGE_SEC = env.int(
    product_env("MP_BILLING_REVOCATION_MAX_AGE_SEC"), default=3600
)

if PRODUCTION:
    _required = {
        "DJANGO_SECRET_KEY": SECRET_KEY != _DEV_SECRET and SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": ALLOWED_HOSTS,
        "DATABASE_URL": os.environ.get("DATABASE_URL"),
        "MP_SIGNING_KEY": VDI_SIGNING_KEY,
        "MP_BILLING_METER_PRIVATE_KEY_PEM": VDI_BILLING_METER_PRIVATE_KEY_PEM,
        "MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM": VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM,
        "MP_TENANT_SURROGATE_KEY": VDI_TENANT_SURROGATE_KEY,
        "MP_ATTEST_SECRET": VDI_ATTEST_SECRET,
        "CELERY_BROKER_URL": CELERY_BROKER_URL != "memory://" and CELERY_BROKER_URL,
    }
    _missing = sorted(name for name, value in _required.items() if not value)
    if _missing:
        raise ImproperlyConfigured(
            "MP_ENV=production refuses to start without: " + ", ".join(_missing)
        )
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- HTTPS (on by default in production; `manage.py check --deploy` clean) ---
# Redirect plain HTTP to HTTPS; DJANGO_SECURE_REDIRECT_EXEMPT lists path
# regexes (without the leading slash) that stay reachable over HTTP.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = env.list("DJANGO_SECURE_REDIRECT_EXEMPT", default=[])
# HTTP Strict Transport Security (RFC 6797), seconds; 0 sends no header.
SECURE_HSTS_SECONDS = env.int(
    "DJANGO_SECURE_HSTS_SECONDS", default=365 * 86400 if PRODUCTION else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=PRODUCTION)
# Behind a TLS-terminating proxy: the header (WSGI name) and value by which the
# proxy says the client used HTTPS, e.g. "HTTP_X_FORWARDED_PROTO,https". Unset,
# no header is trusted (and, with SECURE_SSL_REDIRECT, a proxy that talks plain
# HTTP to Django gets redirect loops). Only set it if the proxy always
# overwrites that header.
_proxy_ssl_header = env.list("DJANGO_SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header and (
    len(_proxy_ssl_header) != 2 or not _proxy_ssl_header[0].startswith("HTTP_")
):
    raise ImproperlyConfigured(
        "DJANGO_SECURE_PROXY_SSL_HEADER must be 'HTTP_<HEADER>,<value>', e.g. "
        f"'HTTP_X_FORWARDED_PROTO,https'; found {_proxy_ssl_header!r}"
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None
