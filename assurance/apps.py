from django.apps import AppConfig


class AssuranceConfig(AppConfig):
    """Data assurance framework, record audits and board reliance (seed 000, example 2)."""

    name = "assurance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assurance import (  # noqa: F401  (they register with the kernel)
            demo,
            figures,
            getting_started,
            reviews,
            services,
            triggers,
        )
        from caregov.registry import (
            DemoBuilder,
            register_demo_builder,
            register_menu_item,
            register_scheduled_job,
        )

        register_demo_builder(
            DemoBuilder(
                "assurance",
                before_replay=demo.build_assurance_history,
                after_replay=demo.build_assurance_reviews,
                delete=demo.delete_assurance_history,
            )
        )

        # Each run of the one scheduler rewrites figures still waiting a minute after a submission
        # (their queued rewrite was lost: the broker was down, or the task failed).
        register_scheduled_job("assurance.figures", figures.sweep)
        register_menu_item("Data assurance", "assurance:overview", "assurance.view")
        register_menu_item("Audits", "assurance:audit_list", "audits.view")
        register_scheduled_job("assurance.imports", services.sweep_imports)
        # Uploads in a supplier's columns wait for their mapping a day at most.
        register_scheduled_job("assurance.pending_uploads", services.pending_sweep)
