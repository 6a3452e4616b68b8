"""Two web processes count one client once: the throttle's counts live in the cache they
share (the database's table here), not in each process's memory, where `30/min` let about
60 a minute through with two gunicorn workers."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT, database_url

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def web_process(tmp_path, name: str, **env_overrides):
    """A gunicorn process of its own (one worker) on the test database; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DOWNHILL_VAR_DIR": str(tmp_path),
        "DOWNHILL_SECRET_KEY": "test-" + "k" * 50,
        **env_overrides,
    }
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed below)
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
               "--pythonpath", "platform", "downhill.wsgi:application"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            # A loaded machine may take longer than a read timeout to answer the first request.
            with contextlib.suppress(requests.ConnectionError, requests.Timeout):
                requests.get(f"{url}/api/v1/health/", timeout=10)
                break
            assert process.poll() is None and time.monotonic() < deadline, (
                tmp_path / f"{name}.log"
            ).read_text()
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_two_web_processes_share_one_throttle_count(tmp_path):
    with (
        web_process(tmp_path, "a", DOWNHILL_AUTH_THROTTLE="6/min") as a,
        web_process(tmp_path, "b", DOWNHILL_AUTH_THROTTLE="6/min") as b,
    ):
        codes = [
            requests.post(
                f"{url}/api/v1/auth/register/", json={"username": ""}, timeout=30
            ).status_code
            for url in [a, b] * 6
        ]
    assert codes == [400] * 6 + [429] * 6
