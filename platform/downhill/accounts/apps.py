from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "downhill.accounts"
    label = "accounts"
