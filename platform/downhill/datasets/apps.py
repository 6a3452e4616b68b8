from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "downhill.datasets"
    label = "datasets"

    def ready(self):
        from . import cleanup  # noqa: F401  (a deleted dataset's files go with it)
