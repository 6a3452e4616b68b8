"""File storage for uploaded datasets: a folder under var/ by default."""

from .env import VAR_DIR, env_str

MEDIA_ROOT = env_str("DOWNHILL_MEDIA_ROOT") or str(VAR_DIR / "media")
MEDIA_URL = "/media/"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
