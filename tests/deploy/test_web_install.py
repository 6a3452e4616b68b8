"""The web install has no torch: a fresh virtualenv with the project's dependencies and its
`web` extra (what deploy/Dockerfile's web image installs, less the `s3` extra's boto3) cannot
import torch, yet serves Django, and imports the Celery app that beat and the datasets worker
run.

The virtualenv is built once per set of requirements and kept under var/ (about a minute
the first time); `make clean` removes it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from downhill.settings.env import VAR_DIR

ROOT = Path(__file__).resolve().parents[2]
ROLE_EXTRAS = ("web",)


def web_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return project["dependencies"] + [req for extra in ROLE_EXTRAS for req in extras[extra]]


@pytest.fixture(scope="module")
def web_python() -> Path:
    requirements = web_requirements()
    key = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()[:12]
    venv = VAR_DIR / f"web-venv-{key}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        for old in VAR_DIR.glob("web-venv-*"):
            shutil.rmtree(old, ignore_errors=True)
        # No pip inside: this interpreter's pip installs into it (pip --python), and skipping
        # the byte-compilation saves a third of the time.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
        subprocess.run(
            [*pip, "install", "--quiet", "--no-compile", *requirements], check=True, timeout=600
        )
        (venv / ".complete").touch()
    return python


def run(python: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'platform'}{os.pathsep}{ROOT}"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [python, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_web_requirements_name_no_torch():
    assert web_requirements()
    assert not [req for req in web_requirements() if req.lower().startswith("torch")]


def test_a_web_install_cannot_import_torch(web_python):
    result = run(web_python, "import torch")
    assert result.returncode != 0
    assert "No module named 'torch'" in result.stderr


def test_a_web_install_serves_django_and_runs_the_celery_app_without_torch(web_python):
    result = run(
        web_python,
        "import sys\n"
        "from django.core.management import call_command\n"
        "import workers.app  # beat and the datasets worker: django.setup() and the tasks\n"
        "call_command('check')\n"
        "from downhill.wsgi import application\n"
        "import gunicorn\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
