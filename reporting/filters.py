"""What a dashboard shows: which of the person's services, up to which month, over how many
months, and which measures. Choices come only from the services the person may see, so an
address naming another service is a form error, never a leak."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from assurance.forms import last_complete_month
from assurance.measures import MEASURES
from assurance.selectors import months_back
from caregov.cadence import Period, parse_month
from caregov.models import Service

#: How many months a dashboard can show; the first is the default, as in the monthly review.
MONTHS_SHOWN = [6, 12, 24]
#: How far back the month can be chosen.
MONTHS_CHOSEN_FROM = 24


class DashboardFilter(django_filters.FilterSet):
    """Filters the services shown; the month, months and measure choose what is shown of them."""

    service = django_filters.ChoiceFilter(
        choices=[], method="in_service", label="Service", empty_label="All your services"
    )
    period = django_filters.ChoiceFilter(
        choices=[], method="shows_only", label="Month", empty_label=None
    )
    months = django_filters.ChoiceFilter(
        choices=[(str(n), f"{n} months") for n in MONTHS_SHOWN],
        method="shows_only",
        label="Months shown",
        empty_label=None,
    )
    measure = django_filters.ChoiceFilter(
        choices=[(code, m.name) for code, m in MEASURES.items()],
        method="shows_only",
        label="Measure",
        empty_label="All measures",
    )

    class Meta:
        model = Service
        fields = ["service", "period", "months", "measure"]

    def __init__(self, data=None, *, queryset: QuerySet[Service], **kwargs):
        super().__init__(data, queryset=queryset, **kwargs)
        self.filters["service"].extra["choices"] = [(str(s.pk), s.name) for s in queryset]
        # Complete months only, newest first: the first is the default, so the list shows
        # the month the page shows even when none was chosen.
        self.filters["period"].extra["choices"] = [
            (m.start.strftime("%Y-%m"), m.label)
            for m in reversed(months_back(last_complete_month(), MONTHS_CHOSEN_FROM))
        ]

    def in_service(self, queryset, name, value):
        return queryset.filter(pk=value)

    def shows_only(self, queryset, name, value):
        return queryset

    def _chosen(self, name: str) -> str:
        """A filter's value as chosen; an invalid one is left out, so its default applies."""
        if not self.is_bound:
            return ""
        self.form.is_valid()  # cleans every field; cleaned_data holds only the valid ones
        return self.form.cleaned_data.get(name) or ""

    @property
    def services(self) -> list[Service]:
        """The services shown, from those the choices were made of: no second query."""
        chosen = self._chosen("service")
        return [s for s in self.queryset if not chosen or str(s.pk) == chosen]

    @property
    def one_service(self) -> bool:
        return bool(self._chosen("service"))

    @property
    def month(self) -> Period:
        chosen = self._chosen("period")
        return parse_month(chosen) if chosen else last_complete_month()

    @property
    def months_shown(self) -> list[Period]:
        return months_back(self.month, int(self._chosen("months") or MONTHS_SHOWN[0]))

    @property
    def measure_codes(self) -> list[str]:
        chosen = self._chosen("measure")
        return [chosen] if chosen else list(MEASURES)
