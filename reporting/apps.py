from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """Dashboards and the board, commissioner and CQC packs."""

    name = "reporting"
    default_auto_field = "django.db.models.BigAutoField"
