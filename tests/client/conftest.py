"""A live server with a real worker, a token for it, and the `downhill` command as a subprocess."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from downhill_client import Client
from tests.conftest import iris_rows

PASSWORD = "correct-horse-battery-1"
DOWNHILL = str(Path(sys.executable).parent / "downhill")


@pytest.fixture
def server(celery_worker_process, live_server, django_user_model):
    """(url, token) of a user `ada` on a live server whose runs a real worker trains."""
    django_user_model.objects.create_user("ada", password=PASSWORD)
    with Client.login(live_server.url, "ada", PASSWORD, token_name="tests", save=False) as client:
        return live_server.url, client.token


@pytest.fixture
def client(server):
    with Client(*server, retry_delays=(0.2,)) as c:
        yield c


@pytest.fixture
def iris_csv(tmp_path) -> Path:
    path = tmp_path / "iris.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(iris_rows())
    return path


@pytest.fixture
def downhill(tmp_path, server):
    """Run `downhill ARGS` in a fresh home (no config file), with DOWNHILL_URL/TOKEN set
    unless `env` says otherwise; returns the CompletedProcess."""
    home = tmp_path / "home"
    home.mkdir()

    def environment(extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOWNHILL_")}
        env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "NO_COLOR": "1"}
        env |= {"DOWNHILL_URL": server[0], "DOWNHILL_TOKEN": server[1]} | (extra or {})
        return {k: v for k, v in env.items() if v is not None}

    def _run(*args, env=None, input=None, timeout=120):
        return subprocess.run(
            [DOWNHILL, *map(str, args)],
            env=environment(env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
        )

    _run.environment = environment
    _run.home = home
    return _run
