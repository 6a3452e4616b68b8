"""A PostgreSQL and a Redis of the benchmark's own (own ports, own folders), so restarting them
disturbs nobody else's: PostgreSQL started with `initdb` and `pg_ctl` as the `postgres` user
when run as root, Redis with append-only persistence, as in production."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from stack import free_port


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Servers:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="downhill-chaos-servers-"))
        shutil.chown(self.root, "postgres") if os.geteuid() == 0 else None
        self.pg_port, self.redis_port = free_port(), free_port()
        self.pg_data = self.root / "pg"
        self.redis: subprocess.Popen | None = None

    @property
    def env(self) -> dict:
        return {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg_port}/downhill",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DOWNHILL_CACHE_URL": f"redis://127.0.0.1:{self.redis_port}/1",
        }

    def start(self) -> Servers:
        subprocess.run(
            as_postgres(["initdb", "-D", str(self.pg_data), "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
        )
        self.pg_ctl("start")
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-qc",
             "CREATE DATABASE downhill"],
            check=True,
        )  # fmt: skip
        self.start_redis()
        return self

    def pg_ctl(self, action: str, *extra: str) -> None:
        opts = f"-p {self.pg_port} -c listen_addresses=127.0.0.1 -k {self.root}"
        cmd = ["pg_ctl", "-D", str(self.pg_data), "-l", str(self.root / "pg.log"), "-w", "-o", opts]
        subprocess.run(as_postgres([*cmd, action, *extra]), check=True, capture_output=True)

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--dir", str(self.root), "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            ping = ["redis-cli", "-p", str(self.redis_port), "ping"]
            if subprocess.run(ping, capture_output=True).returncode == 0:
                return
            time.sleep(0.1)

    def restart_redis(self) -> None:
        """SHUTDOWN (the append-only file keeps what was acknowledged), then a new server."""
        subprocess.run(["redis-cli", "-p", str(self.redis_port), "shutdown"], capture_output=True)
        self.redis.wait(30)
        self.start_redis()

    def restart_postgres(self) -> None:
        """An immediate stop (what a crash leaves: recovery from the WAL at the start)."""
        self.pg_ctl("restart", "-m", "immediate")

    def stop(self) -> None:
        if self.redis:
            self.redis.terminate()
            self.redis.wait(30)
        self.pg_ctl("stop", "-m", "fast")
        shutil.rmtree(self.root, ignore_errors=True)
