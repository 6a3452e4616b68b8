"""The worker side: Celery tasks and the PyTorch training engine."""
