from django.apps import AppConfig


class CaregovConfig(AppConfig):
    """The governance kernel: organisation, services, people, roles, access and history."""

    name = "caregov"
    verbose_name = "caregov"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from caregov import (
            getting_started,  # noqa: F401  (registers the kernel's getting-started steps)
            security,  # noqa: F401  (connects the sign-in signal receivers)
            triggers,  # noqa: F401  (registers the kernel's own triggers)
        )
