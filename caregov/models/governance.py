"""The governance kernel's records: review cycles, escalations, actions, meetings and decisions."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from caregov.cadence import Cadence, Period
from caregov.models.organisation import Organisation, Service
from caregov.roles import Body


class Scoped(models.Model):
    """A record that belongs to one service, or to the whole organisation when service is empty."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def scope_label(self) -> str:
        return (
            self.service.name
            if self.service_id
            else f"{self.organisation.name} (whole organisation)"
        )


class ReviewCycle(Scoped):
    """One review of one kind, for one scope and one calendar period; signed off, it is frozen."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_REVIEW = "in_review", "In review"
        SIGNED_OFF = "signed_off", "Signed off"

    kind = models.CharField(max_length=80)
    cadence = models.CharField(max_length=20, choices=Cadence.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    body = models.CharField(max_length=40, choices=Body.choices)
    due_on = models.DateField(help_text="Sign-off is expected by this day.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision = models.TextField(blank=True)
    minutes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "service", "cadence", "period_start"],
                condition=models.Q(service__isnull=False),
                name="reviewcycle_unique_per_service_period",
            ),
            models.UniqueConstraint(
                fields=["kind", "organisation", "cadence", "period_start"],
                condition=models.Q(service__isnull=True),
                name="reviewcycle_unique_per_organisation_period",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="reviewcycle_status_due")]

    def __str__(self) -> str:
        return f"{self.kind_name}, {self.scope_label}, {self.period.label}"

    def get_absolute_url(self) -> str:
        return reverse("review_detail", kwargs={"pk": self.pk})

    @property
    def period(self) -> Period:
        return Period(self.cadence, self.period_start, self.period_end)

    @property
    def review_kind(self):
        from caregov.registry import review_kinds

        return review_kinds.get(self.kind)

    @property
    def kind_name(self) -> str:
        kind = self.review_kind
        return kind.name if kind else self.kind

    @property
    def is_frozen(self) -> bool:
        return self.status == self.Status.SIGNED_OFF

    def is_overdue(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return not self.is_frozen and today > self.due_on

    @property
    def display_status(self) -> str:
        return "Overdue" if self.is_overdue() else self.get_status_display()


class Escalation(Scoped):
    """A trigger's finding, with the evidence that fired it; one per trigger, scope, period and subject."""

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    trigger = models.CharField(max_length=80)
    cadence = models.CharField(max_length=20, choices=Cadence.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    subject = models.CharField(
        max_length=120, blank=True, help_text="What in the scope and period fired it."
    )
    title = models.CharField(max_length=250)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    escalated_to = models.CharField(max_length=40, choices=Body.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    evidence = models.JSONField(default=dict)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "service", "cadence", "period_start", "subject"],
                condition=models.Q(service__isnull=False),
                name="escalation_unique_per_service_period",
            ),
            models.UniqueConstraint(
                fields=["trigger", "organisation", "cadence", "period_start", "subject"],
                condition=models.Q(service__isnull=True),
                name="escalation_unique_per_organisation_period",
            ),
            # An escalation is acknowledged or resolved after it was raised, never before; a
            # scheduler run for a past moment once resolved later escalations "before" they rose.
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True)
                | models.Q(resolved_at__gte=models.F("raised_at")),
                name="escalation_resolved_after_raised",
            ),
            models.CheckConstraint(
                condition=models.Q(acknowledged_at__isnull=True)
                | models.Q(acknowledged_at__gte=models.F("raised_at")),
                name="escalation_acknowledged_after_raised",
            ),
        ]
        indexes = [models.Index(fields=["status", "raised_at"], name="escalation_status_raised")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("escalation_detail", kwargs={"pk": self.pk})

    @property
    def period(self) -> Period:
        return Period(self.cadence, self.period_start, self.period_end)

    @property
    def trigger_definition(self):
        from caregov.registry import triggers

        return triggers.get(self.trigger)

    @property
    def trigger_name(self) -> str:
        definition = self.trigger_definition
        return definition.name if definition else self.trigger

    @property
    def age_days(self) -> int:
        return max(0, (timezone.now() - self.raised_at).days)


class Meeting(Scoped):
    """Governance minutes: a body's meeting, its attendees, minutes and decisions; signed off, frozen."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED_OFF = "signed_off", "Signed off"

    body = models.CharField(max_length=40, choices=Body.choices)
    meeting_date = models.DateField()
    title = models.CharField(max_length=200)
    attendees = models.TextField(help_text="One name and role per line.")
    minutes = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-meeting_date", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_body_display()}, {self.meeting_date:%d %b %Y}"

    def get_absolute_url(self) -> str:
        return reverse("meeting_detail", kwargs={"pk": self.pk})

    @property
    def is_frozen(self) -> bool:
        return self.status == self.Status.SIGNED_OFF


class Decision(models.Model):
    """One decision recorded in a meeting's minutes, linked to what it decided about."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    text = models.TextField()
    review_cycles = models.ManyToManyField(ReviewCycle, blank=True, related_name="decisions")
    escalations = models.ManyToManyField(Escalation, blank=True, related_name="decisions")
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords(m2m_fields=[review_cycles, escalations])

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.text[:80]


class Action(Scoped):
    """An action with an owner and a due date, its completion evidence, and whether it worked."""

    class Source(models.TextChoices):
        ESCALATION = "escalation", "Escalation"
        REVIEW = "review", "Review"
        FINDING = "finding", "Finding"
        DECISION = "decision", "Decision"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    class Effect(models.TextChoices):
        IMPROVED = "improved", "Improved"
        NOT_IMPROVED = "not_improved", "Not improved"

    title = models.CharField(max_length=250)
    detail = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="actions"
    )
    due_on = models.DateField()
    source = models.CharField(max_length=20, choices=Source.choices)
    escalation = models.ForeignKey(
        Escalation, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    review_cycle = models.ForeignKey(
        ReviewCycle, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    decision = models.ForeignKey(
        Decision, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    finding_ref = models.CharField(
        max_length=120,
        blank=True,
        help_text="The app record a finding came from, like assurance.audit:12.",
    )
    measure = models.CharField(
        max_length=80, blank=True, help_text="The measure this action is meant to improve, if any."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completion_evidence = models.TextField(blank=True)
    effectiveness_due_on = models.DateField(null=True, blank=True)
    effectiveness = models.CharField(max_length=20, choices=Effect.choices, blank=True)
    effectiveness_note = models.TextField(blank=True)
    effectiveness_checked_at = models.DateTimeField(null=True, blank=True)
    effectiveness_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["status", "due_on"], name="action_status_due")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("action_detail", kwargs={"pk": self.pk})

    def is_overdue(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.status == self.Status.OPEN and today > self.due_on

    @property
    def display_status(self) -> str:
        if self.is_overdue():
            return "Overdue"
        if self.status == self.Status.DONE and self.effectiveness:
            return "Effective" if self.effectiveness == self.Effect.IMPROVED else "Not effective"
        if self.status == self.Status.DONE and self.effectiveness_due_on:
            return "Done, check due"
        return self.get_status_display()

    @property
    def status_colour(self) -> str:
        return {
            "Overdue": "red",
            "Not effective": "red",
            "Effective": "green",
            "Done": "green",
            "Done, check due": "blue",
        }.get(self.display_status, "grey")

    @staticmethod
    def default_effectiveness_due(completed: date) -> date:
        return completed + timedelta(days=28)


class TriggerSetting(models.Model):
    """An organisation's thresholds for one trigger, overriding the trigger's defaults."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    trigger = models.CharField(max_length=80)
    thresholds = models.JSONField(default=dict)
    enabled = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "trigger"], name="triggersetting_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trigger} for {self.organisation}"
