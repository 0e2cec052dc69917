import django_filters
from django import forms
from django.db.models import Q

from caregov.access import Role
from caregov.models import SecurityEvent, Service, User


class ServiceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or code")
    service_type = django_filters.ChoiceFilter(choices=Service.Type.choices, label="Type")
    phase = django_filters.ChoiceFilter(choices=Service.Phase.choices, label="Phase")

    class Meta:
        model = Service
        fields = ["q", "service_type", "phase"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


class PersonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or email")
    role = django_filters.ChoiceFilter(
        choices=Role.choices, field_name="memberships__role", label="Role", distinct=True
    )
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.none(),
        field_name="memberships__service",
        label="Service",
        distinct=True,
    )
    is_active = django_filters.BooleanFilter(
        label="Status",
        widget=forms.Select(choices=[("", "Any"), ("true", "Active"), ("false", "Deactivated")]),
    )

    class Meta:
        model = User
        fields = ["q", "role", "service", "is_active"]

    def __init__(self, *args, services=None, **kwargs):
        super().__init__(*args, **kwargs)
        if services is not None:
            self.filters["service"].queryset = services

    def search(self, queryset, name, value):
        return queryset.filter(Q(full_name__icontains=value) | Q(email__icontains=value))


class SecurityEventFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=SecurityEvent.Kind.choices, label="What happened")
    email = django_filters.CharFilter(lookup_expr="icontains", label="Email")
    since = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = SecurityEvent
        fields = ["kind", "email", "since", "until"]
