from django.apps import AppConfig


class AssuranceConfig(AppConfig):
    """Data assurance framework, record audits and board reliance (seed 000, example 2)."""

    name = "assurance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assurance import reviews  # noqa: F401  (registers this app's review kinds with the kernel)
