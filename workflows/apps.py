from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    """Workflow maps, service review log, staff testing and approval (seed 000, example 1)."""

    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from caregov.registry import register_menu_item
        from workflows import reviews, triggers  # noqa: F401  (register with the kernel)

        register_menu_item("Workflows", "workflows:overview", "workflows.view")
