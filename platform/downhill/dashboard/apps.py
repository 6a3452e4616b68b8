from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "downhill.dashboard"
    label = "dashboard"
