"""Django core: apps, middleware, security, templates."""

import secrets

from .env import REPO_ROOT, VAR_DIR, env_bool, env_int, env_list, env_str

BASE_DIR = REPO_ROOT
DEBUG = env_bool("DOWNHILL_DEBUG", False)


def _secret_key() -> str:
    """From the environment in production; locally a key generated once and kept in var/."""
    key = env_str("DOWNHILL_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DOWNHILL_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DOWNHILL_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "downhill.accounts",
    "downhill.datasets",
    "downhill.experiments",
    "downhill.runs",
    "downhill.lab",
    "downhill.sweeps",
    "downhill.dashboard",
    "downhill.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "downhill.security_headers.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "downhill.urls"
WSGI_APPLICATION = "downhill.wsgi.application"
ASGI_APPLICATION = "downhill.asgi.application"

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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "downhill.accounts.passwords.VarietyValidator"},
    {"NAME": "downhill.accounts.passwords.NoUsernameValidator"},
]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # filled by collectstatic; WhiteNoise serves it
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploads: Django spools anything over 2.5 MB to a temporary file, so the web process
# never holds a whole dataset in memory.
DOWNHILL_MAX_UPLOAD_MB = env_int("DOWNHILL_MAX_UPLOAD_MB", 1024)
DOWNHILL_ALLOW_SIGNUP = env_bool("DOWNHILL_ALLOW_SIGNUP", True)
# Queued + running runs a user may have at once; past it, a new run is refused with 429.
DOWNHILL_MAX_ACTIVE_RUNS = env_int("DOWNHILL_MAX_ACTIVE_RUNS", 10)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024  # non-file request bodies (JSON configs)

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Training steps one user's queued and running runs may still hold (runs/quota.py): one run
# of millions of steps would hold a shared worker for hours while counting as one run. The
# default lets one run of the largest size a config allows (5,000,000 steps) through, or
# several smaller ones, where ten of the largest passed before; a shared deployment lowers it.
DOWNHILL_MAX_STEPS_IN_FLIGHT = env_int("DOWNHILL_MAX_STEPS_IN_FLIGHT", 5_000_000)
# Bytes of uploads one user may store (datasets/services.py), past which an upload gets 413.
DOWNHILL_MAX_STORED_MB = env_int("DOWNHILL_MAX_STORED_MB", 10_240)
