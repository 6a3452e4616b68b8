from django.apps import AppConfig


class LabConfig(AppConfig):
    name = "downhill.lab"
    label = "lab"
    default_auto_field = "django.db.models.BigAutoField"
