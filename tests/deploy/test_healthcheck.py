"""deploy/healthcheck.py, the images' health check, says unhealthy when there is nothing
healthy to find (its healthy answers are in test_entrypoint_smoke.py), and refuses a check
it does not know."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

HEALTHCHECK = Path(__file__).resolve().parents[2] / "deploy" / "healthcheck.py"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again once the socket is


def healthcheck(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, HEALTHCHECK, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_web_is_unhealthy_when_nothing_answers_on_its_port():
    result = healthcheck("web", PORT=str(closed_port()))
    assert result.returncode == 1
    assert "health endpoint" in result.stderr


def test_broker_is_unhealthy_when_redis_does_not_answer():
    port = closed_port()
    result = healthcheck("broker", CELERY_BROKER_URL=f"redis://:s3cret@127.0.0.1:{port}/0")
    assert result.returncode == 1
    assert f"broker redis://:**@127.0.0.1:{port}/0" in result.stderr
    assert "s3cret" not in result.stderr


def test_an_unknown_check_is_refused_with_its_usage():
    result = healthcheck("database")
    assert result.returncode != 0
    assert "usage: healthcheck.py web|broker" in result.stderr
