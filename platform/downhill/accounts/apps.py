from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "downhill.accounts"
    label = "accounts"

    def ready(self):
        from django.contrib import admin

        from . import signin_limits  # noqa: F401  (counts failed sign-ins on every door)
        from .forms import AdminSignInForm

        admin.site.login_form = AdminSignInForm
