"""Database: SQLite in var/ by default, PostgreSQL (or any URL) when DATABASE_URL is set."""

import os

import dj_database_url

from .env import VAR_DIR, env_int, env_str

VAR_DIR.mkdir(parents=True, exist_ok=True)
_url = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'downhill.sqlite3'}"
_default = dj_database_url.parse(_url, conn_max_age=env_int("DOWNHILL_DB_CONN_MAX_AGE", 60))

if _default["ENGINE"].endswith("sqlite3"):
    _default["CONN_MAX_AGE"] = 0
    # The web and worker processes share this file: WAL lets readers and the single writer
    # proceed together, IMMEDIATE transactions take the write lock up front (no lock-upgrade
    # deadlocks), and the timeout waits instead of failing with "database is locked".
    _default["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests need a file, not :memory:, so that a worker process sees the same rows; one per
    # test process, so two test sessions never share it.
    _default["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    _default["CONN_HEALTH_CHECKS"] = True

DATABASES = {"default": _default}
