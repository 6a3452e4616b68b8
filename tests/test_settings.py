"""What the settings actually load: a misspelled setting fails silently, so pin them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_celery_loaded_the_training_settings():
    from downhill.celery import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result is True
    assert conf.task_default_queue == "training"
    assert conf.broker_url == (__import__("os").environ.get("CELERY_BROKER_URL") or "filesystem://")


def test_web_process_serves_the_api_without_importing_torch():
    code = """
import sys
sys.path[:0] = ["platform", "."]
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "downhill.settings"
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
import downhill.urls, downhill.api.views, downhill.dashboard.views
assert Client().get("/api/v1/health/").status_code in (200, 503)
assert "torch" not in sys.modules, "the web side imported torch"
assert "workers.engine" not in sys.modules
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def _check_deploy(env_overrides: dict) -> subprocess.CompletedProcess:
    import os
    import secrets

    env = {
        **os.environ,
        "DOWNHILL_SECRET_KEY": secrets.token_urlsafe(60),
        "DOWNHILL_DEBUG": "0",
        "DOWNHILL_ALLOWED_HOSTS": "downhill.example.com",
        **env_overrides,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_check_deploy_passes_with_production_settings():
    result = _check_deploy({"DOWNHILL_SECURE": "1"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_without_the_https_settings():
    result = _check_deploy({"DOWNHILL_SECURE": "0"})
    assert result.returncode != 0 and "SESSION_COOKIE_SECURE" in result.stdout + result.stderr
