from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "downhill.experiments"
    label = "experiments"
