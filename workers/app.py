"""Worker entry point: `celery -A workers.app worker -Q training`.

Sets up Django (platform/ is a source root, not a package) and registers the training task
on the project's Celery app. The web process never imports this module, so it never loads torch.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "platform") not in sys.path:
    sys.path.insert(0, str(ROOT / "platform"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "downhill.settings")

import django  # noqa: E402

django.setup()

from downhill.celery import app  # noqa: E402

from . import tasks  # noqa: E402, F401  (registers the task)

__all__ = ["app"]
