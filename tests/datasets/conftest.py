import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads land in a folder of this test, so a test can see exactly what was stored."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Hashing the fixtures' passwords at production strength costs ~0.3 s per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path / "media"
