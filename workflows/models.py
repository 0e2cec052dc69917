"""Workflow governance records (seed 000, example 1): the digital operating model's workflow maps,
the service review log, staff testing records and quality findings.

A map belongs to the organisation (its template) or to one service (the service's adapted copy).
Its content lives in versions; a version moves draft -> under test -> approved -> superseded (or is
withdrawn when a revision replaces it before approval). Only a draft can change: an approved
version is frozen, and the state of every version at any past moment can be read from its dates.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from caregov.models import Decision
from caregov.models.governance import Scoped


class CoreWorkflow(models.TextChoices):
    """The core care workflows the operations director maps (Step 1)."""

    CARE_PLANNING = "care_planning", "Care planning"
    DAILY_NOTES = "daily_notes", "Daily notes"
    INCIDENTS = "incidents", "Incidents"
    MEDICATION = "medication", "Medication"
    AUDITS = "audits", "Audits"
    REVIEWS = "reviews", "Reviews"


class CareRole(models.TextChoices):
    """Who does a step in a service, or who took part in a staff test."""

    CARE_WORKER = "care_worker", "Care worker"
    SENIOR_CARE_WORKER = "senior_care_worker", "Senior care worker"
    NURSE = "nurse", "Nurse"
    TEAM_LEADER = "team_leader", "Team leader"
    DEPUTY_MANAGER = "deputy_manager", "Deputy manager"
    REGISTERED_MANAGER = "registered_manager", "Registered manager"
    ADMINISTRATOR = "administrator", "Administrator"
    QUALITY_LEAD = "quality_lead", "Quality lead"


class WorkflowMap(Scoped):
    """A core care workflow in the digital operating model: the organisation's template, or a
    service's adopted copy."""

    workflow = models.CharField(max_length=30, choices=CoreWorkflow.choices)
    title = models.CharField(max_length=200)
    purpose = models.TextField(
        blank=True, help_text="What this workflow is for in daily care, in a sentence or two."
    )
    adopted_from = models.ForeignKey(
        "WorkflowVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adoptions",
        help_text="The template version this service's copy started from.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["workflow", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "workflow"],
                condition=models.Q(service__isnull=False),
                name="workflowmap_one_per_service_workflow",
            ),
            models.UniqueConstraint(
                fields=["organisation", "workflow"],
                condition=models.Q(service__isnull=True),
                name="workflowmap_one_template_per_workflow",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_workflow_display()}: {self.scope_label}"

    def get_absolute_url(self) -> str:
        return reverse("workflows:map_detail", kwargs={"pk": self.pk})

    @property
    def is_template(self) -> bool:
        return self.service_id is None


class WorkflowVersion(models.Model):
    """One version of a workflow map: its ordered steps and where it is in its life."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        UNDER_TEST = "under_test", "Under test"
        APPROVED = "approved", "Approved"
        SUPERSEDED = "superseded", "Superseded"
        WITHDRAWN = "withdrawn", "Withdrawn"

    OPEN = (Status.DRAFT, Status.UNDER_TEST)
    COLOURS = {
        Status.DRAFT: "grey",
        Status.UNDER_TEST: "blue",
        Status.APPROVED: "green",
        Status.SUPERSEDED: "grey",
        Status.WITHDRAWN: "grey",
    }

    map = models.ForeignKey(WorkflowMap, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    based_on = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="revisions"
    )
    change_summary = models.TextField(
        blank=True, help_text="What changed from the version before, and why."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    test_started_at = models.DateTimeField(null=True, blank=True)
    test_started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision = models.OneToOneField(
        Decision,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="workflow_version",
        help_text="The senior leadership team's decision in the governance minutes.",
    )
    implementation_expectations = models.TextField(blank=True)
    override_reason = models.TextField(
        blank=True,
        help_text="Why it was approved with open high-risk gaps or failed staff tests.",
    )
    approval_blockers = models.JSONField(
        default=dict, blank=True, help_text="The open gaps and failed tests at approval."
    )
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was superseded or withdrawn."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["map", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["map", "number"], name="workflowversion_unique_number"),
            models.UniqueConstraint(
                fields=["map"],
                condition=models.Q(status="approved"),
                name="workflowversion_one_approved_per_map",
            ),
            models.UniqueConstraint(
                fields=["map"],
                condition=models.Q(status__in=["draft", "under_test"]),
                name="workflowversion_one_open_per_map",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.map}, version {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("workflows:version_detail", kwargs={"pk": self.pk})

    @property
    def is_frozen(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def status_colour(self) -> str:
        return self.COLOURS[self.status]

    def status_at(self, moment: datetime) -> str | None:
        """The version's state at a past moment, from its dates; None before it existed."""
        if moment < self.created_at:
            return None
        if self.closed_at and moment >= self.closed_at:
            return self.status
        if self.approved_at and moment >= self.approved_at:
            return self.Status.APPROVED
        if self.test_started_at and moment >= self.test_started_at:
            return self.Status.UNDER_TEST
        return self.Status.DRAFT


class WorkflowStep(models.Model):
    """One step of a version: who does it, what is done, where it is recorded in the ECM, the
    prompt or recording expectation, and the time it is expected to take."""

    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    role = models.CharField("Who does it", max_length=30, choices=CareRole.choices)
    action = models.CharField("What is done", max_length=250)
    ecm_location = models.CharField(
        "Where it is recorded in the ECM",
        max_length=150,
        help_text="The ECM screen or record type, like “Daily note” or “eMAR”.",
    )
    recorded_item = models.CharField(
        "What is recorded",
        max_length=120,
        blank=True,
        help_text="The piece of information kept, like “fluid intake”. The same item expected in "
        "two places is flagged as duplicated recording.",
    )
    prompt = models.TextField(
        "Prompt or recording expectation",
        help_text="What the ECM prompts, or what staff are expected to record.",
    )
    minutes_expected = models.PositiveSmallIntegerField(
        "Time expected (minutes)", help_text="Whole minutes."
    )
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "position"], name="workflowstep_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"Step {self.position}: {self.action}"


class Practical(models.TextChoices):
    YES = "yes", "Yes"
    PARTLY = "partly", "Partly"
    NO = "no", "No"


class Risk(models.TextChoices):
    NONE = "none", "None"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class PracticeGap(Scoped):
    """An entry in the service review log: a gap, duplication or workaround between a mapped
    workflow step and what staff actually do (Step 2)."""

    class Kind(models.TextChoices):
        GAP = "gap", "Gap"
        DUPLICATION = "duplication", "Duplication"
        WORKAROUND = "workaround", "Workaround"

    class Frequency(models.TextChoices):
        ONCE = "once", "Seen once"
        SOME_SHIFTS = "some_shifts", "On some shifts"
        MOST_SHIFTS = "most_shifts", "On most shifts"
        EVERY_SHIFT = "every_shift", "On every shift"

    class Evidence(models.TextChoices):
        OBSERVATION = "observation", "Observation"
        RECORD_SAMPLE = "record_sample", "Record sample"
        STAFF_FEEDBACK = "staff_feedback", "Staff feedback"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    step = models.ForeignKey(WorkflowStep, on_delete=models.PROTECT, related_name="gaps")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField()
    frequency = models.CharField("How often it happens", max_length=20, choices=Frequency.choices)
    risk = models.CharField("Risk to care", max_length=10, choices=Risk.choices)
    affects_safe_care = models.BooleanField("Affects safe care", default=False)
    evidence = models.JSONField(default=list, help_text="Evidence kinds, from Evidence.")
    evidence_detail = models.TextField(
        blank=True,
        help_text="What was seen or said, with ECM record references rather than names.",
    )
    observed_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.TextField(blank=True)
    #: The key the log form carried: a repeat of the same submission answers with this gap.
    idempotency_key = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-observed_on", "-pk"]
        indexes = [models.Index(fields=["service", "observed_on"], name="practicegap_service_day")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at step {self.step.position}: {self.description[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("workflows:gap_detail", kwargs={"pk": self.pk})

    @property
    def is_high_risk(self) -> bool:
        return self.risk == Risk.HIGH or self.affects_safe_care

    @property
    def evidence_labels(self) -> list[str]:
        labels = dict(self.Evidence.choices)
        return [labels.get(code, code) for code in self.evidence]

    def is_open_at(self, moment: datetime) -> bool:
        return self.recorded_at <= moment and (
            self.resolved_at is None or self.resolved_at > moment
        )


class StaffTest(Scoped):
    """A staff testing record: one step of a revised version tried with staff in live care (Step 3)."""

    class Shift(models.TextChoices):
        EARLY = "early", "Early"
        LATE = "late", "Late"
        LONG_DAY = "long_day", "Long day"
        NIGHT = "night", "Night"

    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="tests")
    step = models.ForeignKey(WorkflowStep, on_delete=models.PROTECT, related_name="tests")
    staff_role = models.CharField(max_length=30, choices=CareRole.choices)
    shift = models.CharField(max_length=20, choices=Shift.choices)
    task_practical = models.CharField(
        "Was the task practical?", max_length=10, choices=Practical.choices
    )
    prompt_practical = models.CharField(
        "Was the prompt practical?", max_length=10, choices=Practical.choices
    )
    recording_practical = models.CharField(
        "Was the recording expectation practical?", max_length=10, choices=Practical.choices
    )
    minutes_taken = models.PositiveSmallIntegerField("Time taken (minutes)")
    comments = models.TextField(blank=True)
    affects_safe_care = models.BooleanField("Affects safe care", default=False)
    tested_on = models.DateField()
    tested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.UUIDField(unique=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-tested_on", "-pk"]

    def __str__(self) -> str:
        return f"Test of step {self.step.position}, {self.get_shift_display().lower()} shift"

    def get_absolute_url(self) -> str:
        return (
            reverse("workflows:version_tests", kwargs={"pk": self.version_id}) + f"#test-{self.pk}"
        )

    ANSWERS = ("task_practical", "prompt_practical", "recording_practical")

    @property
    def failed(self) -> bool:
        """A test fails when any of the task, the prompt or the recording was not practical."""
        return any(getattr(self, name) == Practical.NO for name in self.ANSWERS)

    @property
    def result(self) -> str:
        if self.failed:
            return "Failed"
        if any(getattr(self, name) == Practical.PARTLY for name in self.ANSWERS):
            return "Partly practical"
        return "Practical"


class QualityFinding(models.Model):
    """The quality lead's finding on a version under test, with its evidence (Step 4)."""

    class Effect(models.TextChoices):
        IMPROVES = "improves", "Improves"
        NO_CHANGE = "no_change", "No change"
        WORSE = "worse", "Worse"

    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="findings")
    consistency = models.CharField("Consistency of practice", max_length=20, choices=Effect.choices)
    record_quality = models.CharField("Record quality", max_length=20, choices=Effect.choices)
    risk_visibility = models.CharField("Risk visibility", max_length=20, choices=Effect.choices)
    summary = models.TextField(help_text="What the evidence shows, in a few sentences.")
    tests = models.ManyToManyField(StaffTest, blank=True, related_name="findings")
    gaps = models.ManyToManyField(PracticeGap, blank=True, related_name="findings")
    audit_evidence = models.JSONField(
        default=list,
        blank=True,
        help_text="Assurance audits of the same service, as they stood when the finding was made.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords(m2m_fields=[tests, gaps])

    class Meta:
        ordering = ["-recorded_at", "-pk"]

    def __str__(self) -> str:
        return f"Quality finding on {self.version}"

    EFFECTS = ("consistency", "record_quality", "risk_visibility")

    @property
    def improves_all(self) -> bool:
        return all(getattr(self, name) == self.Effect.IMPROVES for name in self.EFFECTS)
