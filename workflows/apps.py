from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    """Workflow maps, service review log, staff testing and approval (seed 000, example 1)."""

    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workflows import reviews  # noqa: F401  (registers this app's review kinds with the kernel)
