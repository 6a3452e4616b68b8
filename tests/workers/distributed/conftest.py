from tests.workers.test_tasks import queue_run  # noqa: F401  (an experiment queued, not sent)
