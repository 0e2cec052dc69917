from django.apps import AppConfig


class ChampionsConfig(AppConfig):
    """Digital champions programme (seed 002)."""

    name = "champions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from champions import reviews  # noqa: F401  (registers this app's review kinds with the kernel)
