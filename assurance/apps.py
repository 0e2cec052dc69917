from django.apps import AppConfig


class AssuranceConfig(AppConfig):
    """Data assurance framework, record audits and board reliance (seed 000, example 2)."""

    name = "assurance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assurance import reviews, triggers  # noqa: F401  (register with the kernel)
        from caregov.registry import register_menu_item

        register_menu_item("Data assurance", "assurance:overview", "assurance.view")
        register_menu_item("Audits", "assurance:audit_list", "audits.view")
