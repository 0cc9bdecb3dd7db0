from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts, plans and API keys"

    def ready(self):
        from accounts import mail  # noqa: F401  (registers the mail deploy check)
