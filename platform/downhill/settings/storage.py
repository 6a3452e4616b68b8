"""File storage for uploaded datasets, checkpoints and exported models.

A folder under var/ by default (one machine, or a volume every machine mounts). With
DOWNHILL_S3_BUCKET set, an S3-compatible object store through django-storages (AWS S3, MinIO,
Ceph, R2, ...), so workers on other machines read the same files; install the `s3` extra
(`pip install -e .[s3]`). Credentials come the way boto3 finds them (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, a profile, an instance role), never from these settings.
"""

from .env import VAR_DIR, env_bool, env_str

MEDIA_ROOT = env_str("DOWNHILL_MEDIA_ROOT") or str(VAR_DIR / "media")
MEDIA_URL = "/media/"


def s3_storage(
    bucket: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    prefix: str = "downhill",
    path_style: bool = True,
) -> dict:
    """The STORAGES entry of an S3-compatible bucket."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            # Another S3-compatible service (MinIO: http://minio:9000); None for AWS itself.
            "endpoint_url": endpoint_url,
            "region_name": region,
            # Keys under this prefix, so one bucket can hold several deployments.
            "location": prefix,
            # Path-style addressing (bucket in the path): what MinIO and most others expect.
            "addressing_style": "path" if path_style else "auto",
            # Files are private: no ACL header (buckets with ACLs disabled refuse one), and
            # never served by URL; the web reads them through the storage like the worker.
            "default_acl": None,
            "querystring_auth": True,
            # Names stay unique: the storage picks a new name rather than overwrite an upload.
            "file_overwrite": False,
            # Opening a file downloads the object; past this it goes to a temporary file, not
            # memory (the default, 0, keeps it all in memory: a 1 GB upload in a worker's RAM).
            "max_memory_size": 16 * 2**20,
        },
    }


if env_str("DOWNHILL_S3_BUCKET"):
    DEFAULT_STORAGE = s3_storage(
        env_str("DOWNHILL_S3_BUCKET"),
        endpoint_url=env_str("DOWNHILL_S3_ENDPOINT_URL") or None,
        region=env_str("DOWNHILL_S3_REGION") or None,
        prefix=env_str("DOWNHILL_S3_PREFIX", "downhill"),
        path_style=env_bool("DOWNHILL_S3_PATH_STYLE", True),
    )
else:
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
