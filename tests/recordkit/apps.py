from django.apps import AppConfig


class RecordKitExampleConfig(AppConfig):
    """The worked example of docs/adding-a-record-type.md: installed by the test settings only."""

    name = "tests.recordkit"
    label = "recordkit"
    default_auto_field = "django.db.models.BigAutoField"
