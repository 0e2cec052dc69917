from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    """Workflow maps, service review log, staff testing and approval (seed 000, example 1)."""

    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"
