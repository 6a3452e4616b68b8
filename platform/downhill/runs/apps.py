from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "downhill.runs"
    label = "runs"

    def ready(self):
        from . import deletion  # noqa: F401  (a deleted run's files go with it)
