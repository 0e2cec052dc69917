import django_filters

from assurance.models import Audit, EcmImport
from caregov.models import Service


def _month_choices():
    from assurance.forms import recent_months

    return recent_months(24)


class _ServiceScoped(django_filters.FilterSet):
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.none(), label="Service", empty_label="All services"
    )
    month = django_filters.ChoiceFilter(
        choices=_month_choices, method="in_month", label="Month", empty_label="Any month"
    )

    def __init__(self, *args, request=None, capability="audits.view", **kwargs):
        super().__init__(*args, **kwargs)
        if request is not None:
            from caregov.access import services_where

            self.filters["service"].queryset = services_where(
                request.user, self.capability
            ).order_by("name")

    def in_month(self, queryset, name, value):
        from caregov.cadence import parse_month

        return queryset.filter(period_start=parse_month(value).start)


class AuditFilter(_ServiceScoped):
    capability = "audits.view"
    status = django_filters.ChoiceFilter(
        choices=Audit.Status.choices, label="Status", empty_label="Any"
    )

    class Meta:
        model = Audit
        fields = ["service", "month", "status"]


class ImportFilter(_ServiceScoped):
    capability = "ecm.import"
    status = django_filters.ChoiceFilter(
        choices=EcmImport.Status.choices, label="Status", empty_label="Any"
    )

    class Meta:
        model = EcmImport
        fields = ["service", "month", "status"]
