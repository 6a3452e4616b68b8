"""The Celery application. The web side only sends tasks by name (see workers/contract/tasks.py);
the worker entry point, workers/app.py, registers the training task on this same app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "downhill.settings")

app = Celery("downhill")
app.config_from_object("django.conf:settings", namespace="CELERY")


def send_by_name(task: str, *, args: list, queue: str) -> None:
    """Send a task by its name (workers/contract/tasks.py), retrying a moment when the broker does not
    answer; raises what the transport raised when it still does not."""
    app.send_task(
        task,
        args=args,
        queue=queue,
        retry=True,
        retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
    )


def queue_size(queue: str) -> int | None:
    """Messages waiting in `queue` on the broker; None when the broker does not answer."""
    try:
        with app.connection_for_read() as conn:
            # Not passive: Redis keeps no key for an empty queue, and a passive declaration of it fails.
            return conn.default_channel.queue_declare(queue).message_count
    except Exception:  # noqa: BLE001 (any transport error: the caller tries again later)
        return None
