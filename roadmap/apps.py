from django.apps import AppConfig


class RoadmapConfig(AppConfig):
    """Strategic themes, improvement priorities and the roadmap (seed 000, example 3)."""

    name = "roadmap"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from roadmap import reviews  # noqa: F401  (registers this app's review kinds with the kernel)
