from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cvrtracker.accounts"
    label = "accounts"
