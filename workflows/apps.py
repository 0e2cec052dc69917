from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    """Workflow maps, service review log, staff testing and approval (seed 000, example 1)."""

    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from caregov.registry import (
            DemoBuilder,
            register_decision_subjects,
            register_demo_builder,
            register_menu_item,
        )
        from workflows import demo, reviews, selectors, triggers  # noqa: F401  (register with the kernel)

        register_demo_builder(
            DemoBuilder(
                "workflows",
                before_replay=demo.build_workflow_history,
                after_replay=demo.build_workflow_findings,
                delete=demo.delete_workflow_history,
            )
        )

        register_menu_item("Workflows", "workflows:overview", "workflows.view")
        register_decision_subjects(selectors.approved_versions_of)
