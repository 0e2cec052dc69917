import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from caregov.access import Role
from caregov.models import (
    Action,
    Body,
    Escalation,
    Meeting,
    ReviewCycle,
    SecurityEvent,
    Service,
    User,
)


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
        empty_label="All services",
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


# Governance kernel ---------------------------------------------------------------------------


class ReviewFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[("due", "Not signed off"), ("overdue", "Overdue"), *ReviewCycle.Status.choices],
        method="by_status",
        label="Status",
    )
    kind = django_filters.ChoiceFilter(choices=[], label="Review")
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.none(), label="Service", empty_label="All services"
    )

    class Meta:
        model = ReviewCycle
        fields = ["status", "kind", "service"]

    def __init__(self, *args, services=None, **kwargs):
        from caregov.registry import review_kinds

        super().__init__(*args, **kwargs)
        self.filters["kind"].extra["choices"] = review_kinds.choices()
        if services is not None:
            self.filters["service"].queryset = services

    def by_status(self, queryset, name, value):
        today = timezone.localdate()
        if value == "due":
            return queryset.exclude(status=ReviewCycle.Status.SIGNED_OFF)
        if value == "overdue":
            return queryset.exclude(status=ReviewCycle.Status.SIGNED_OFF).filter(due_on__lt=today)
        return queryset.filter(status=value)


class EscalationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[("unresolved", "Open or acknowledged"), *Escalation.Status.choices],
        method="by_status",
        label="Status",
    )
    trigger = django_filters.ChoiceFilter(choices=[], label="Trigger")
    severity = django_filters.ChoiceFilter(choices=Escalation.Severity.choices, label="Severity")
    escalated_to = django_filters.ChoiceFilter(choices=Body.choices, label="Escalated to")
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.none(), label="Service", empty_label="All services"
    )

    class Meta:
        model = Escalation
        fields = ["status", "trigger", "severity", "escalated_to", "service"]

    def __init__(self, *args, services=None, **kwargs):
        from caregov.registry import triggers

        super().__init__(*args, **kwargs)
        self.filters["trigger"].extra["choices"] = triggers.choices()
        if services is not None:
            self.filters["service"].queryset = services

    def by_status(self, queryset, name, value):
        if value == "unresolved":
            return queryset.exclude(status=Escalation.Status.RESOLVED)
        return queryset.filter(status=value)


class ActionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[
            ("open", "Open"),
            ("overdue", "Overdue"),
            ("done", "Done"),
            ("check_due", "Effectiveness check due"),
            ("not_improved", "Not effective"),
            ("improved", "Effective"),
        ],
        method="by_status",
        label="Status",
    )
    mine = django_filters.BooleanFilter(
        method="by_owner",
        label="Owner",
        widget=forms.Select(choices=[("", "Anyone"), ("true", "Me")]),
    )
    source = django_filters.ChoiceFilter(choices=Action.Source.choices, label="Raised from")
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.none(), label="Service", empty_label="All services"
    )

    class Meta:
        model = Action
        fields = ["status", "mine", "source", "service"]

    def __init__(self, *args, services=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if services is not None:
            self.filters["service"].queryset = services

    def by_owner(self, queryset, name, value):
        return queryset.filter(owner=self.user) if value else queryset

    def by_status(self, queryset, name, value):
        today = timezone.localdate()
        done = Action.Status.DONE
        return {
            "open": lambda: queryset.filter(status=Action.Status.OPEN),
            "overdue": lambda: queryset.filter(status=Action.Status.OPEN, due_on__lt=today),
            "done": lambda: queryset.filter(status=done),
            "check_due": lambda: queryset.filter(
                status=done, effectiveness="", effectiveness_due_on__lte=today
            ),
            "not_improved": lambda: queryset.filter(effectiveness=Action.Effect.NOT_IMPROVED),
            "improved": lambda: queryset.filter(effectiveness=Action.Effect.IMPROVED),
        }[value]()


class MeetingFilter(django_filters.FilterSet):
    body = django_filters.ChoiceFilter(choices=Body.choices, label="Body")
    status = django_filters.ChoiceFilter(choices=Meeting.Status.choices, label="Status")

    class Meta:
        model = Meeting
        fields = ["body", "status"]
