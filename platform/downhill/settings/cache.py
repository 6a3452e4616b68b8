"""The cache every web process shares: throttle and failed sign-in counts live here, so two
gunicorn workers count one client once (a per-process memory cache let `30/min` pass as
60/min with two). The database's own table (created by the accounts migrations) by default;
Redis in production with DOWNHILL_CACHE_URL, on a database of its own (clearing the cache
empties that whole Redis database)."""

from .env import env_str

_url = env_str("DOWNHILL_CACHE_URL")

if _url:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _url}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "downhill_cache",
        }
    }
