from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "downhill.api"
    label = "api"
