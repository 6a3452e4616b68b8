from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "downhill.runs"
    label = "runs"
