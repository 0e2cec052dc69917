from django.apps import AppConfig


class ChampionsConfig(AppConfig):
    """Digital champions programme (seed 002)."""

    name = "champions"
    default_auto_field = "django.db.models.BigAutoField"
