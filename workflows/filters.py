import django_filters

from caregov.access import services_where
from caregov.models import Service
from workflows.models import CoreWorkflow, PracticeGap, Risk


class GapFilter(django_filters.FilterSet):
    """The service review log's filters: open gaps first, most recent first."""

    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.none(), label="Service", empty_label="All services"
    )
    workflow = django_filters.ChoiceFilter(
        field_name="step__version__map__workflow",
        choices=CoreWorkflow.choices,
        label="Workflow",
        empty_label="Any workflow",
    )
    kind = django_filters.ChoiceFilter(
        choices=PracticeGap.Kind.choices, label="Kind", empty_label="Any kind"
    )
    risk = django_filters.ChoiceFilter(
        choices=Risk.choices, label="Risk to care", empty_label="Any"
    )
    affects_safe_care = django_filters.ChoiceFilter(
        label="Affects safe care",
        choices=[("yes", "Yes"), ("no", "No")],
        empty_label="Any",
        method="safe_care",
    )
    status = django_filters.ChoiceFilter(
        choices=PracticeGap.Status.choices, label="Status", empty_label="Open or resolved"
    )

    class Meta:
        model = PracticeGap
        fields = ["service", "workflow", "kind", "risk", "affects_safe_care", "status"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        if request is not None:
            self.filters["service"].queryset = services_where(
                request.user, "practice.view"
            ).order_by("name")

    def safe_care(self, queryset, name, value):
        return queryset.filter(affects_safe_care=value == "yes")

    @property
    def qs(self):
        return super().qs.order_by("status", "-observed_on", "-pk")
