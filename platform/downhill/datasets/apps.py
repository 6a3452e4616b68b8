from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "downhill.datasets"
    label = "datasets"
