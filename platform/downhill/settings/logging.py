"""Logging: plain lines on stderr; DOWNHILL_LOG_LEVEL tunes our own loggers."""

from .env import env_str

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        "downhill": {"level": env_str("DOWNHILL_LOG_LEVEL", "INFO")},
        "workers": {"level": env_str("DOWNHILL_LOG_LEVEL", "INFO")},
        # The filesystem broker has no host; kombu warns about that on every connection.
        "kombu.connection": {"level": "ERROR"},
    },
}
