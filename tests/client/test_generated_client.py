"""Our OpenAPI schema works with the clients other people generate: openapi-python-client,
run in a virtualenv of its own, generates a client from the live /api/schema/; every module
of it imports, and it drives the README's walk-through (sign up, a token, an upload, an
experiment, its run trained by a real worker, metrics, predictions, a cancel) against a
live server.

The generator's virtualenv is built once per pin and kept under var/ (about 30 s the first
time); `make clean` removes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from downhill.settings.env import VAR_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GENERATOR = "openapi-python-client==0.29.1"
WALK_THROUGH = Path(__file__).with_name("generated_walk_through.py")


@pytest.fixture(scope="module")
def generator() -> Path:
    """The generator's command, in a virtualenv of its own (its pins are not ours)."""
    venv = VAR_DIR / f"openapi-generator-{GENERATOR.rpartition('==')[2]}"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        for old in VAR_DIR.glob("openapi-generator-*"):
            shutil.rmtree(old, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
        subprocess.run(
            [*pip, "install", "--quiet", "--no-compile", "--disable-pip-version-check", GENERATOR],
            check=True,
            timeout=600,
        )
        (venv / ".complete").touch()
    return venv / "bin"


def isolated_env(generator: Path, **extra) -> dict[str, str]:
    """Our environment less our virtualenv; the generator's first on PATH (it formats the
    code it writes with its own ruff)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return {**env, "PATH": f"{generator}{os.pathsep}{env['PATH']}", **extra}


def test_a_generated_client_imports_and_walks_through_the_readme(
    generator, live_server, celery_worker_process, iris_csv, tmp_path
):
    schema = tmp_path / "schema.json"
    answer = httpx.get(f"{live_server.url}/api/schema/?format=json", timeout=60)
    assert answer.status_code == 200
    schema.write_bytes(answer.content)

    generated = subprocess.run(
        [generator / "openapi-python-client", "generate", "--path", schema, "--meta", "none",
         "--output-path", tmp_path / "downhill_api"],
        cwd=tmp_path, env=isolated_env(generator), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # Every schema the generator could not turn into code is a warning: there must be none.
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout

    walked = subprocess.run(
        [generator / "python", WALK_THROUGH, live_server.url],
        cwd=tmp_path, env=isolated_env(generator, PYTHONPATH=str(tmp_path)), capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert walked.returncode == 0, walked.stdout + walked.stderr
    summary = json.loads(walked.stdout.splitlines()[-1])
    assert summary["modules"] > 20 and summary["dataset"]["n_rows"] == 150
    assert summary["run"]["status"] == "succeeded" and summary["run"]["steps"] > 0
    assert summary["predictions"][0]["label"] == "setosa"
    assert summary["series"] == ["train_loss", "val_loss"]
    assert summary["named"] == ["sgd baseline", ["keep"]]
    assert summary["cancelled"] == "cancelled"
