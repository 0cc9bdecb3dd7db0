from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """Every signed-in page: usage, keys, plan, collections, playground, video jobs,
    webhooks and the account. Reads through the apps' selectors, writes through their
    services; owns no model."""

    name = "dashboard"
    default_auto_field = "django.db.models.BigAutoField"
