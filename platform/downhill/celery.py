"""The Celery application. The web side only sends tasks by name (see workers/contract.py);
the worker entry point, workers/app.py, registers the training task on this same app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "downhill.settings")

app = Celery("downhill")
app.config_from_object("django.conf:settings", namespace="CELERY")
