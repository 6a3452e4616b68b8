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
