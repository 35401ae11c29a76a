"""Django settings for Verity, read from the environment with embedded defaults.

With no environment at all, Verity runs on an embedded SQLite database, a filesystem Celery broker
and a file-based cache under ``var/``: the quick start needs no services. Production sets
``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL`` and ``VERITY_CACHE_URL`` (Redis).
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from verity.env import env_bool, env_float, env_int, env_list, env_str

REPO_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = Path(env_str("VERITY_VAR_DIR", str(REPO_ROOT / "var")))

_INSECURE_DEV_KEY = "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _INSECURE_DEV_KEY)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "apitokens",
    "detections",
    "training",
    "review",
    "extension_api",
    "crawls",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "verity.urls"
WSGI_APPLICATION = "verity.wsgi.application"
ASGI_APPLICATION = "verity.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'verity.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite creates its file but not the folder: a fresh clone has no var/ before `make run`
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The web server and the worker write concurrently: WAL lets readers go on during a write,
    # IMMEDIATE transactions take the write lock up front instead of failing half-way.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling, token look-ups) -------------------------------------------------------
_CACHE_URL = env_str("VERITY_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
        if _CACHE_URL
        else {
            # Shared by the web server and the worker processes, unlike the local-memory cache.
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    )
}

# --- Files ------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("VERITY_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads larger than this are streamed to a temporary file instead of held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apitokens.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["apitokens.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "submit": env_str("VERITY_THROTTLE_SUBMIT", "600/min"),
        "read": env_str("VERITY_THROTTLE_READ", "6000/min"),
        "install": env_str("VERITY_THROTTLE_INSTALL", "20/hour"),
        "health": env_str("VERITY_THROTTLE_HEALTH", "120/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "verity.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "verity.exception_handler.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Verity API",
    "DESCRIPTION": (
        "Tells whether an image on the web is AI-generated. Submit image URLs or bytes as a check, "
        "read each image's verdict history, look up many images at once. Authenticate with "
        "`Authorization: Bearer <token>`; errors are JSON objects with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {"CrawlRunStatusEnum": "crawls.models.RunStatus"},
}

CORS_URLS_REGEX = r"^/api/v1/extension/.*$"
# The browser extension's origins, e.g. chrome-extension://<id> (comma-separated).
CORS_ALLOWED_ORIGINS = env_list("VERITY_EXTENSION_ORIGINS", [])
CORS_EXPOSE_HEADERS = ["Retry-After"]
CORS_PREFLIGHT_MAX_AGE = 3600

# --- Celery -----------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    {
        # The embedded broker: messages are files, so the quick start needs no server.
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Exchange tables (kombu's default is ./control, in whatever folder a process starts in).
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": env_int("VERITY_BROKER_VISIBILITY_TIMEOUT", 3600)}
)
CELERY_TASK_IGNORE_RESULT = True  # results live in the database, not in a result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "io"
CELERY_TASK_ROUTES = {
    "workers.io_tasks.*": {"queue": "io"},
    "workers.gpu_tasks.*": {"queue": "gpu"},
    "workers.maintenance_tasks.*": {"queue": "io"},
    "workers.notify_tasks.*": {"queue": "io"},
    "workers.train_tasks.*": {"queue": "train"},
    "workers.crawl_tasks.*": {"queue": "crawl"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("VERITY_CELERY_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Verity -----------------------------------------------------------------------------------
VERITY_MODEL_PATH = env_str("VERITY_MODEL_PATH", "")  # empty: the ensemble shipped in ml/weights
VERITY_MAX_CHECK_ITEMS = env_int("VERITY_MAX_CHECK_ITEMS", 100)
VERITY_MAX_LOOKUP_KEYS = env_int("VERITY_MAX_LOOKUP_KEYS", 1000)
VERITY_MAX_IMAGE_BYTES = env_int("VERITY_MAX_IMAGE_BYTES", 20 * 1024 * 1024)
VERITY_MAX_IMAGE_PIXELS = env_int("VERITY_MAX_IMAGE_PIXELS", 50_000_000)
VERITY_FETCH_TIMEOUT_SECONDS = env_float("VERITY_FETCH_TIMEOUT_SECONDS", 15.0)
VERITY_FETCH_MAX_REDIRECTS = env_int("VERITY_FETCH_MAX_REDIRECTS", 5)
# Networks the fetcher may reach although they are private. Empty in production; the test suite
# and local demos allow 127.0.0.0/8 to fetch from their own servers.
VERITY_FETCH_ALLOW_NETWORKS = env_list("VERITY_FETCH_ALLOW_NETWORKS", [])
VERITY_URL_FRESHNESS_SECONDS = env_int("VERITY_URL_FRESHNESS_SECONDS", 24 * 3600)
VERITY_CHECK_WAIT_MAX_SECONDS = env_int("VERITY_CHECK_WAIT_MAX_SECONDS", 30)
VERITY_SCORING_BATCH_SIZE = env_int("VERITY_SCORING_BATCH_SIZE", 16)
VERITY_SCORING_BATCH_WAIT_MS = env_int("VERITY_SCORING_BATCH_WAIT_MS", 20)
VERITY_STUCK_AFTER_SECONDS = env_int("VERITY_STUCK_AFTER_SECONDS", 300)
VERITY_SWEEP_INTERVAL_SECONDS = env_int("VERITY_SWEEP_INTERVAL_SECONDS", 60)
VERITY_MODEL_RELOAD_CHECK_SECONDS = env_float("VERITY_MODEL_RELOAD_CHECK_SECONDS", 5.0)
VERITY_PUBLIC_URL = env_str("VERITY_PUBLIC_URL", "http://127.0.0.1:8000")
VERITY_EXTENSION_MAX_IMAGES = env_int("VERITY_EXTENSION_MAX_IMAGES", 50)
VERITY_EXTENSION_WAIT_MAX_SECONDS = env_int("VERITY_EXTENSION_WAIT_MAX_SECONDS", 20)
VERITY_WEBHOOK_SECRET = env_str("VERITY_WEBHOOK_SECRET", SECRET_KEY)
DEFAULT_FROM_EMAIL = env_str("VERITY_FROM_EMAIL", "verity@localhost")
EMAIL_BACKEND = env_str("VERITY_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("VERITY_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("VERITY_EMAIL_PORT", 25)
VERITY_ARTEFACT_DIR = Path(env_str("VERITY_ARTEFACT_DIR", str(VAR_DIR / "artefacts")))
# Periodic retraining: members to fine-tune (empty: all of production's) and for how long.
VERITY_RETRAIN_MEMBERS = env_list("VERITY_RETRAIN_MEMBERS", [])
VERITY_RETRAIN_EPOCHS = env_int("VERITY_RETRAIN_EPOCHS", 2)
VERITY_TRAINING_NOTIFY_EMAILS = env_list("VERITY_TRAINING_NOTIFY_EMAILS", [])
VERITY_TRAINING_NOTIFY_WEBHOOKS = env_list("VERITY_TRAINING_NOTIFY_WEBHOOKS", [])
# After a promotion, this many already-judged images are re-scored every 10 minutes (0: never).
VERITY_RESCORE_PER_RUN = env_int("VERITY_RESCORE_PER_RUN", 200)
# Page URLs (where an image was seen) are kept this many days, then erased; 0 keeps them.
VERITY_PAGE_URL_RETENTION_DAYS = env_int("VERITY_PAGE_URL_RETENTION_DAYS", 90)
# Site crawls: the crawler runs in a subprocess and submits to the check API at this URL.
VERITY_CRAWL_API_URL = env_str("VERITY_CRAWL_API_URL", VERITY_PUBLIC_URL)
VERITY_CRAWL_CONTACT_URL = env_str(
    "VERITY_CRAWL_CONTACT_URL", "https://github.com/verity-project/verity"
)
VERITY_CRAWL_DIR = Path(env_str("VERITY_CRAWL_DIR", str(VAR_DIR / "crawls")))
VERITY_CRAWL_MAX_PAGES = env_int("VERITY_CRAWL_MAX_PAGES", 20_000)
VERITY_CRAWL_MAX_SECONDS = env_int("VERITY_CRAWL_MAX_SECONDS", 6 * 3600)
VERITY_CRAWL_MIN_INTERVAL_MINUTES = env_int("VERITY_CRAWL_MIN_INTERVAL_MINUTES", 15)
VERITY_CRAWL_SCORING_TIMEOUT_SECONDS = env_int("VERITY_CRAWL_SCORING_TIMEOUT_SECONDS", 3600)
VERITY_CRAWL_CANCEL_GRACE_SECONDS = env_float("VERITY_CRAWL_CANCEL_GRACE_SECONDS", 30.0)
VERITY_CRAWL_STALE_SECONDS = env_int("VERITY_CRAWL_STALE_SECONDS", 120)
VERITY_CRAWL_START_TIMEOUT_SECONDS = env_int("VERITY_CRAWL_START_TIMEOUT_SECONDS", 6 * 3600)

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("VERITY_LOG_LEVEL", "INFO")},
}

if not DEBUG and SECRET_KEY == _INSECURE_DEV_KEY and env_bool("VERITY_REQUIRE_SECRET_KEY", False):
    raise RuntimeError("DJANGO_SECRET_KEY must be set in production (VERITY_REQUIRE_SECRET_KEY=1)")

CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-items": {
        "task": "workers.maintenance_tasks.sweep_stuck_items_task",
        "schedule": float(VERITY_SWEEP_INTERVAL_SECONDS),
    },
    "rescore-with-production": {
        "task": "workers.maintenance_tasks.rescore_task",
        "schedule": 600.0,
    },
    "erase-old-page-urls": {
        "task": "workers.maintenance_tasks.erase_old_page_urls_task",
        "schedule": 24 * 3600.0,
    },
}
# The embedded filesystem broker has no broadcast channel for remote control.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = not CELERY_BROKER_URL.startswith("filesystem")
