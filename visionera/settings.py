"""VisionEra settings: everything that differs between machines comes from the environment.

With nothing set, the embedded defaults apply (SQLite, local-memory cache, an in-process
Dramatiq worker). Production sets DATABASE_URL, CACHE_URL and DRAMATIQ_BROKER_URL.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if not env.bool("VISIONERA_IGNORE_DOTENV", default=False):  # tests of the bare environment
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The development fallback below is public (it is in the repository): anyone could forge
# sessions and password-reset links with it. It is used only with DEBUG on; with DEBUG off
# the process refuses to start without a real secret (`make run` writes one into .env).
_DEV_SECRET = "dev-insecure-visionera-secret-change-me-0123456789abcdef"  # noqa: S105
_DEV_SECRETS = {_DEV_SECRET, f"django-insecure-{_DEV_SECRET}"}


def _weak_secret(secret: str, min_length: int) -> bool:
    """Django's own test for a guessable key (`check --deploy`, security.W009), any length."""
    return (len(secret) < min_length or len(set(secret)) < 5
            or any(dev in secret for dev in _DEV_SECRETS))


# Django's minimum: sessions, CSRF and password-reset links are signed with it.
MIN_SECRET_KEY_LENGTH = 50
SECRET_KEY = env.str("SECRET_KEY", default="")
if not DEBUG and _weak_secret(SECRET_KEY, MIN_SECRET_KEY_LENGTH):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is not set (or is the public development value, or is weak: shorter "
        f"than {MIN_SECRET_KEY_LENGTH} characters or fewer than 5 distinct ones) and DEBUG "
        "is off. Set SECRET_KEY in the environment or in .env beside manage.py; generate "
        "one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
if not SECRET_KEY or SECRET_KEY in _DEV_SECRETS:
    # The "django-insecure-" prefix makes `check --deploy` flag it (security.W009).
    SECRET_KEY = f"django-insecure-{_DEV_SECRET}"
# API keys are HMAC'd with their own secret so that rotating SECRET_KEY (sessions) does not
# invalidate every integrator's key, and vice versa. (Without either set, the development
# secret keeps the digests of keys already issued on a development machine.)
API_KEY_HMAC_SECRET = env.str(
    "API_KEY_HMAC_SECRET", default=env.str("SECRET_KEY", default=_DEV_SECRET)
)
# A key table stolen from the database is useless only while this secret is unknown: with
# DEBUG off, an empty, short or public one stops the process like a missing SECRET_KEY.
MIN_API_KEY_HMAC_SECRET_LENGTH = 32
if not DEBUG and _weak_secret(API_KEY_HMAC_SECRET, MIN_API_KEY_HMAC_SECRET_LENGTH):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"API_KEY_HMAC_SECRET is shorter than {MIN_API_KEY_HMAC_SECRET_LENGTH} characters (or "
        "has fewer than 5 distinct ones, or is the public development value) and DEBUG is "
        "off. Unset it to use SECRET_KEY, or "
        "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_dramatiq",
    "accounts",
    "faces",
    "vehicles",
    "bodies",
    "videos",
    "dashboard",
]

MIDDLEWARE = [
    "visionera.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "visionera.middleware.NulInUrlMiddleware",
    "visionera.middleware.ApiRequestSizeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "visionera.middleware.ContentSecurityPolicyMiddleware",
    "accounts.middleware.UsageMiddleware",
]

ROOT_URLCONF = "visionera.urls"
WSGI_APPLICATION = "visionera.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves web requests and the in-process worker from one file:
    # wait for the write lock instead of failing with "database is locked". Transactions
    # take the write lock when they begin (IMMEDIATE): a deferred one that reads, then
    # writes, cannot wait for the lock to upgrade and fails at once with "database is
    # locked" when the worker thread writes meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
    DATABASES["default"]["CONN_MAX_AGE"] = 0

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://visionera")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A Redis that hangs (rather than refusing) must not hold every request for redis-py's
    # default timeouts: rate limiting fails open after this long (docs/HARDENING.md).
    _cache_timeout = env.float("CACHE_SOCKET_TIMEOUT", default=0.5)
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_timeout=_cache_timeout, socket_connect_timeout=_cache_timeout
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# Uploads: files over 2.5 MB stream to a temporary file instead of memory; form fields stay
# small. The per-plan byte limits are enforced by visionera.api.uploads.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
DATA_UPLOAD_MAX_NUMBER_FILES = 110
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=None)
# Refuse a request body larger than any endpoint could accept before reading it.
VISIONERA_MAX_REQUEST_BYTES = env.int("VISIONERA_MAX_REQUEST_BYTES", default=2_200_000_000)
# 500 MB in SI megabytes, as every size the API states (visionera/units.py).
VISIONERA_MAX_VIDEO_BYTES = env.int("VISIONERA_MAX_VIDEO_BYTES", default=500_000_000)
VISIONERA_MAX_VIDEO_SECONDS = env.int("VISIONERA_MAX_VIDEO_SECONDS", default=600)
# Queued and running video jobs one account may have at once (Rekognition's default is 20).
VISIONERA_MAX_UNFINISHED_VIDEO_JOBS = env.int("VISIONERA_MAX_UNFINISHED_VIDEO_JOBS", default=20)
# Of those, how many may be analysed at once: a worker that receives the message of a job
# whose account already runs this many sends it again a few seconds later and takes the next
# message, so one account's long videos never hold every worker (videos.jobs.claim_job).
VISIONERA_MAX_RUNNING_VIDEO_JOBS = env.int("VISIONERA_MAX_RUNNING_VIDEO_JOBS", default=1)
# Pillow's decompression-bomb guard: refuse images above this many pixels.
VISIONERA_MAX_IMAGE_PIXELS = env.int("VISIONERA_MAX_IMAGE_PIXELS", default=50_000_000)
# Enrolment photos are not kept unless this is on (descriptors are enough for search).
VISIONERA_KEEP_ENROLLED_IMAGES = env.bool("VISIONERA_KEEP_ENROLLED_IMAGES", default=False)

REST_FRAMEWORK = {
    # API keys for integrators; the signed-in session (CSRF enforced) for the dashboard's
    # playground, so account holders can try the API without pasting a key.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.JSONParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "visionera.api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "visionera.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "visionera.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "VisionEra API",
    "DESCRIPTION": (
        "Face verification (1:1), face search (1:N), batch matching (N:N), vehicle detection,"
        " body analysis and asynchronous video analysis. Authenticate with the `X-API-Key`"
        " header. Every error uses one envelope: `{\"error\": {\"status\", \"code\","
        " \"message\"}}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api",
    "ENUM_NAME_OVERRIDES": {},
}

# Dramatiq. Without a broker URL the stub broker and an in-process worker thread run jobs
# inside the serving process, so `make run` needs no Redis.
DRAMATIQ_BROKER_URL = env.str("DRAMATIQ_BROKER_URL", default="")
_dramatiq_middleware = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Retries",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
]
if DRAMATIQ_BROKER_URL:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        "OPTIONS": {"url": DRAMATIQ_BROKER_URL},
        "MIDDLEWARE": _dramatiq_middleware,
    }
else:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": _dramatiq_middleware,
    }
DRAMATIQ_EMBEDDED_WORKER = not DRAMATIQ_BROKER_URL
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]

# With DEBUG off, mail is never printed unless asked for (`EMAIL_URL=consolemail://`): a
# reset or sign-up link in a log opens the account. accounts/mail.py.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend" if DEBUG
    else "accounts.mail.UnsentMailBackend",
)
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="VisionEra <noreply@localhost>")

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Health checks and Prometheus scrapes reach each host directly, over plain HTTP inside the
# network: a redirect to HTTPS would fail every probe.
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^metrics$"]
# Secure whenever DEBUG is off; `make run` (plain HTTP on loopback) sets both to false.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Behind a reverse proxy, the sign-up/login limits must key on the client's address, not the
# proxy's: name the header the proxy sets, e.g. HTTP_X_REAL_IP. visionera/client_address.py
# reads it (the rightmost address in it; the peer's when it holds none) for every limit.
VISIONERA_CLIENT_IP_HEADER = env.str("RATELIMIT_IP_META_KEY", default="REMOTE_ADDR")
RATELIMIT_IP_META_KEY = "visionera.client_address.client_ip"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool(
    "BEHIND_TLS_PROXY", default=False
) else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "visionera.request_context.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "INFO"},
    },
}

# The contract's URLs have no trailing slash (/api/videos and /api/videos/{id}), so the
# videos URLconf is included under "api/videos" and its routes begin with "/".
SILENCED_SYSTEM_CHECKS = ["urls.W002"]

# ---------------------------------------------------------------------------------------
# Videos (issue 5): job recovery, limits and webhooks. See docs/VIDEOS.md.
# ---------------------------------------------------------------------------------------
# Webhook secrets are per account (videos.WebhookSecret); see the Webhooks block below.
VIDEO_WEBHOOK_ATTEMPTS = env.int("VISIONERA_WEBHOOK_ATTEMPTS", default=4)
VIDEO_WEBHOOK_TIMEOUT_SECONDS = env.float("VISIONERA_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
VIDEO_WEBHOOK_BACKOFF_SECONDS = env.float("VISIONERA_WEBHOOK_BACKOFF_SECONDS", default=2.0)
# A running job writes a heartbeat at least this often; one silent for VIDEO_JOB_STALE_SECONDS
# has lost its worker and is re-sent by the sweeper (every VIDEO_SWEEP_INTERVAL_SECONDS in
# each worker process; 0 switches the periodic sweep off). A queued job whose message is
# older than VIDEO_JOB_QUEUED_RESEND_SECONDS is re-sent too (the message was lost).
VIDEO_JOB_HEARTBEAT_SECONDS = env.float("VISIONERA_VIDEO_HEARTBEAT_SECONDS", default=5.0)
VIDEO_JOB_STALE_SECONDS = env.float("VISIONERA_VIDEO_STALE_SECONDS", default=120.0)
VIDEO_JOB_QUEUED_RESEND_SECONDS = env.float("VISIONERA_VIDEO_QUEUED_RESEND_SECONDS", default=900.0)
VIDEO_SWEEP_INTERVAL_SECONDS = env.float("VISIONERA_VIDEO_SWEEP_SECONDS", default=60.0)
VIDEO_JOB_MAX_ATTEMPTS = env.int("VISIONERA_VIDEO_MAX_ATTEMPTS", default=3)
VIDEO_JOB_TIME_LIMIT_SECONDS = env.int("VISIONERA_VIDEO_TIME_LIMIT_SECONDS", default=3 * 3600)
# Retention: the uploaded video is deleted once its job is completed or has failed for good
# (results stay) unless VISIONERA_KEEP_VIDEOS; finished jobs and their results are deleted
# after VISIONERA_VIDEO_RETENTION_DAYS (0 keeps them until deleted).
VIDEO_KEEP_FILES = env.bool("VISIONERA_KEEP_VIDEOS", default=False)
VIDEO_JOB_RETENTION_DAYS = env.int("VISIONERA_VIDEO_RETENTION_DAYS", default=30)
DRAMATIQ_BROKER["MIDDLEWARE"] = [*_dramatiq_middleware, "videos.middleware.VideoJobSweeper"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Tests: a per-process temporary *file* instead of SQLite's shared-cache in-memory
    # database, whose table locks fail at once ("database table is locked") when a worker
    # thread writes while the test thread reads; a file waits on the 20 s busy timeout
    # like `make run` does. Used only when pytest-django creates the test database.
    import os as _os
    import tempfile as _tempfile

    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(Path(_tempfile.gettempdir()) / f"visionera-test-{_os.getpid()}.sqlite3")
    )

# --- API contract (issue 11): response objects are closed in /api/schema/ ---------------
# (visionera.api.schema.close_response_objects: bodies come from their output serializers.)
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "visionera.api.schema.close_response_objects",
]

# ---------------------------------------------------------------------------------------
# Accounts and plans (issue 10): who may sign up, who changes plans. docs/HARDENING.md.
# ---------------------------------------------------------------------------------------
# open: anyone signs up and uses the API at once; verify: the link mailed at sign-up must be
# followed before API keys can be created; closed: only staff create accounts (admin, CLI).
VISIONERA_SIGNUP = env.str("VISIONERA_SIGNUP", default="verify").strip().lower()
if VISIONERA_SIGNUP not in ("open", "verify", "closed"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"VISIONERA_SIGNUP={VISIONERA_SIGNUP!r}: use open, verify or closed"
    )
# Plans are changed by staff in the admin; account holders request an upgrade. True lets
# account holders switch plans themselves (internal deployments without billing).
VISIONERA_SELF_SERVICE_PLANS = env.bool("VISIONERA_SELF_SERVICE_PLANS", default=False)
# The playground's session counts only for accounts allowed to use the API (verified ones
# under VISIONERA_SIGNUP=verify), like keys.
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "accounts.authentication.ApiKeyAuthentication",
    "accounts.authentication.VerifiedSessionAuthentication",
]

# ---------------------------------------------------------------------------------------
# Webhooks (issue 10): where they may go and how long one attempt may take.
# See docs/VIDEOS.md "Webhooks" and docs/HARDENING.md "Webhooks and SSRF".
# ---------------------------------------------------------------------------------------
# Comma-separated CIDRs or host names webhooks may reach despite the rule that refuses
# loopback, private, link-local, CGNAT, multicast and reserved addresses (on-premises
# receivers). Empty: public addresses only.
VISIONERA_WEBHOOK_ALLOWED_NETWORKS = env.list("VISIONERA_WEBHOOK_ALLOWED_NETWORKS", default=[])
# VIDEO_WEBHOOK_TIMEOUT_SECONDS above is one attempt's overall deadline (connect, TLS, send
# and read together); at most this many bytes of the answer (status line and headers) are read.
VIDEO_WEBHOOK_MAX_RESPONSE_BYTES = env.int("VISIONERA_WEBHOOK_MAX_RESPONSE_BYTES", default=16384)
# The previous secret keeps signing beside the new one this long after a rotation.
VIDEO_WEBHOOK_ROTATION_OVERLAP_SECONDS = env.int(
    "VISIONERA_WEBHOOK_ROTATION_OVERLAP_SECONDS", default=24 * 3600
)

# Upload bounds (docs/HARDENING.md, "Bounded memory and time"): a video's frame size, in
# either orientation, and frame rate are checked from its headers at upload; its length
# (VISIONERA_MAX_VIDEO_SECONDS) is enforced again while decoding, by frame timestamps and a
# frame count, and at most VISIONERA_VIDEO_MAX_SAMPLED_FRAMES frames of it are analysed.
VISIONERA_MAX_VIDEO_WIDTH = env.int("VISIONERA_MAX_VIDEO_WIDTH", default=4096)
VISIONERA_MAX_VIDEO_HEIGHT = env.int("VISIONERA_MAX_VIDEO_HEIGHT", default=2160)
VISIONERA_MAX_VIDEO_FPS = env.float("VISIONERA_MAX_VIDEO_FPS", default=240.0)
VISIONERA_VIDEO_MAX_SAMPLED_FRAMES = env.int("VISIONERA_VIDEO_MAX_SAMPLED_FRAMES", default=3600)
# ---------------------------------------------------------------------------------------
# Search engine, replicas, metrics (issue 15). See README "Deploying at scale" and
# docs/PERFORMANCE.md "Faces: 1:N search on pgvector".
# ---------------------------------------------------------------------------------------
# auto: pgvector's HNSW index where the database has it (faces.vector_store), else the
# exact in-process matrix; "exact" forces the latter.
VISIONERA_SEARCH_ENGINE = env.str("VISIONERA_SEARCH_ENGINE", default="auto")
# Rows PostgreSQL hands back for exact re-ranking, HNSW's ef_search, and the collection size
# up to which a collection is scanned exactly in PostgreSQL instead of through HNSW.
VISIONERA_SEARCH_CANDIDATES = env.int("VISIONERA_SEARCH_CANDIDATES", default=40)
# pgvector's own bound on hnsw.ef_search, which the auto rule is capped at too.
PGVECTOR_MAX_EF_SEARCH = 1000
# ef_search "auto": the breadth grows with the table, by the rule (and its measured
# constants) in faces.vector_store.ef_search_for; a number fixes it.
VISIONERA_SEARCH_EF_SEARCH = env.str("VISIONERA_SEARCH_EF_SEARCH", default="auto").strip()
if VISIONERA_SEARCH_EF_SEARCH != "auto":
    if (not VISIONERA_SEARCH_EF_SEARCH.isdigit()
            or not 1 <= int(VISIONERA_SEARCH_EF_SEARCH) <= PGVECTOR_MAX_EF_SEARCH):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"VISIONERA_SEARCH_EF_SEARCH={VISIONERA_SEARCH_EF_SEARCH!r}:"
            f" use auto or 1–{PGVECTOR_MAX_EF_SEARCH}"
        )
    VISIONERA_SEARCH_EF_SEARCH = int(VISIONERA_SEARCH_EF_SEARCH)
VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES = env.int(
    "VISIONERA_SEARCH_EXACT_SCAN_MAX_FACES", default=10_000
)
# ... and the share of all faces below which a larger collection is scanned exactly too
# (HNSW's work to find one collection's rows grows as 1/share).
VISIONERA_SEARCH_HNSW_MIN_SHARE = env.float("VISIONERA_SEARCH_HNSW_MIN_SHARE", default=0.2)
# A streaming replica for search reads; writes and enrolments always use DATABASE_URL.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # Tests read the replica through the primary's test database.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["visionera.db_routers.ReplicaRouter"]
# Prometheus: /metrics answers `Authorization: Bearer <token>` when this is set, else only
# loopback clients. Request metrics come from the middleware first in the chain.
VISIONERA_METRICS_TOKEN = env.str("VISIONERA_METRICS_TOKEN", default="")
MIDDLEWARE = ["visionera.metrics.RequestMetricsMiddleware", *MIDDLEWARE]

