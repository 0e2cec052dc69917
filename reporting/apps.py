from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """Dashboards and the board, commissioner and CQC packs."""

    name = "reporting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from caregov.registry import (
            DemoBuilder,
            register_demo_builder,
            register_menu_item,
            register_scheduled_job,
        )
        from reporting import (  # noqa: F401  (they register the board pack and its step)
            board,
            demo,
            getting_started,
            services,
        )

        register_menu_item("Dashboard", "reporting:dashboard", "dashboards.view")
        register_menu_item(
            "Board packs", "reporting:pack_list", "packs.view", organisation_wide=True
        )
        register_scheduled_job("reporting.packs", services.build_due_packs)
        register_scheduled_job("reporting.sweep", services.sweep_packs)
        register_demo_builder(
            DemoBuilder("reporting", after_replay=demo.ask_for_packs, delete=demo.delete_packs)
        )
