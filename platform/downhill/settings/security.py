"""HTTPS-only settings for production, on with DOWNHILL_SECURE=1 (behind TLS). Off by default
so `make run` works on plain http://127.0.0.1. `manage.py check --deploy` passes with it on
and a DOWNHILL_SECRET_KEY set (tests/test_settings.py runs that check)."""

from .env import env_bool, env_int

DOWNHILL_SECURE = env_bool("DOWNHILL_SECURE", False)

if DOWNHILL_SECURE:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DOWNHILL_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DOWNHILL_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # The proxy in front terminates TLS and says so in this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Failed sign-ins (API token, sign-in page, admin) per account and per client address, in a
# window; past either, that door answers 429 until the window ends (accounts/signin_limits.py).
DOWNHILL_SIGNIN_MAX_FAILURES = env_int("DOWNHILL_SIGNIN_MAX_FAILURES", 10)
DOWNHILL_SIGNIN_MAX_FAILURES_PER_ADDRESS = env_int("DOWNHILL_SIGNIN_MAX_FAILURES_PER_ADDRESS", 50)
DOWNHILL_SIGNIN_WINDOW_SECONDS = env_int("DOWNHILL_SIGNIN_WINDOW_SECONDS", 900)
