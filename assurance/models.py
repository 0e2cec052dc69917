"""Data assurance records: thresholds, ECM exports, record audits, the figures computed from them,
trend review causes, cross-service comparisons and board reliance decisions."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from assurance.measures import CHECKED, MeasureCode, Source, percentage
from caregov.cadence import Cadence, period_containing
from caregov.models import Organisation, ReviewCycle, Service
from caregov.models.governance import Scoped

PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


def month_label(day) -> str:
    return period_containing(Cadence.MONTHLY, day).label


class ThresholdVersion(models.Model):
    """Red, amber and green thresholds for one measure, in force from the first of a month until
    the next version. A past month is always judged by the version in force then."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    measure = models.CharField(max_length=40, choices=MeasureCode.choices)
    effective_from = models.DateField(help_text="The first day of the month these apply from.")
    target = models.DecimalField(max_digits=4, decimal_places=1, validators=PERCENT)
    green_from = models.DecimalField(max_digits=4, decimal_places=1, validators=PERCENT)
    amber_from = models.DecimalField(max_digits=4, decimal_places=1, validators=PERCENT)
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["measure", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "measure", "effective_from"],
                name="assurance_threshold_one_version_a_month",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_measure_display()} from {month_label(self.effective_from)}"


class ThresholdReview(models.Model):
    """The data quality lead's confirmation that the measures and thresholds in force were
    reviewed and suit the organisation, as they stand that day (the framework's review)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    reviewed_on = models.DateField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-reviewed_at"]
        constraints = [
            # Confirming twice in a day (a double tap, a resent form) records one review.
            models.UniqueConstraint(
                fields=["organisation", "reviewed_on"], name="assurance_threshold_review_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"Thresholds reviewed on {self.reviewed_on:%-d %b %Y}"


class ImportProfile(models.Model):
    """How one ECM supplier's export reads as caregov's nine columns (the data assurance
    framework's ECM audit function): which column holds each field, or a fixed value, or none;
    the date format; the words meaning yes and no; the columns left out."""

    class DateFormat(models.TextChoices):
        ISO = "iso", "caregov or ISO 8601, like 2026-10-14 08:30"
        DMY = "dmy", "DD/MM/YYYY HH:MM, like 14/10/2026 08:30"
        MDY = "mdy", "MM/DD/YYYY HH:MM, like 10/14/2026 08:30"
        EXCEL = "excel", "Excel serial days, like 46309.354"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    #: The file's column names as caregov compares them (trimmed, lower case, single spaces), in
    #: the file's order: a later upload with this header uses this profile without asking.
    header = models.JSONField(default=list)
    #: The same column names as the file writes them, for people to read.
    column_names = models.JSONField(default=list)
    #: SHA-256 of the header above, to find the profile for an upload.
    header_key = models.CharField(max_length=64)
    #: For each of caregov's nine fields: {"column": name}, {"value": text} or {"absent": true}.
    fields = models.JSONField(default=dict)
    date_format = models.CharField(max_length=10, choices=DateFormat.choices, default="iso")
    yes_values = models.JSONField(default=list)
    no_values = models.JSONField(default=list)
    #: Columns of the file caregov leaves out (personal data among them): never read or kept.
    ignored = models.JSONField(default=list, blank=True)
    #: Columns refused because they look like personal data, each with why ({column: reason}):
    #: kept so a change made later, without the file's values to look at, refuses them too.
    personal_columns = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="assurance_profile_name_once"
            ),
            models.UniqueConstraint(
                fields=["organisation", "header_key"], name="assurance_profile_header_once"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("assurance:profile_detail", args=[self.pk])

    def shown_name(self, column: str) -> str:
        """A column (as compared) as the file writes it."""
        names = dict(zip(self.header, self.column_names, strict=False))
        return names.get(column, column)

    def as_mapping(self) -> dict:
        """What a reader needs, as kept with each import that used it."""
        return {
            "profile": self.name,
            "header": list(self.header),
            "fields": dict(self.fields),
            "date_format": self.date_format,
            "yes": list(self.yes_values),
            "no": list(self.no_values),
            "ignored": list(self.ignored),
        }


class EcmImport(models.Model):
    """One ECM export file for a service and month: what was read, what it said, what was wrong."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Importing"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Not imported"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="ecm_imports")
    period_start = models.DateField()
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    stored_path = models.CharField(max_length=500, blank=True)
    tolerance_minutes = models.PositiveIntegerField(default=120)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    bytes_read = models.BigIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    problem_count = models.PositiveIntegerField(default=0)
    #: Up to the first 1,000 problems: {"row": 12, "column": "due_time", "message": "..."}.
    problems = models.JSONField(default=list, blank=True)
    figures = models.JSONField(default=dict, blank=True)
    #: What the month's ECM figures are made of, counted over the export's rows once, as it is
    #: imported (see assurance.figures.count_rows): submitting an audit never rescans the rows.
    counts = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    #: When the run that holds the import ("Importing") claimed it; one run at a time.
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: Runs that have claimed it, ever: a run's number tells it whether the claim is still its own.
    attempts = models.PositiveIntegerField(default=0)
    #: The Celery task whose run holds the claim: that same message delivered again means the
    #: run died with its worker process (Celery puts the message back), so it is taken over.
    claimed_by = models.CharField(max_length=64, blank=True)
    #: Runs lost with their worker since it was last queued by a person; bounded by the sweeper.
    lost_runs = models.PositiveSmallIntegerField(default=0)
    #: The column mapping the file is read through (a supplier's own columns), or none for a
    #: file in caregov's nine columns; `mapping` is the profile as it was when the file came.
    profile = models.ForeignKey(
        ImportProfile, on_delete=models.PROTECT, null=True, blank=True, related_name="imports"
    )
    mapping = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords(excluded_fields=["bytes_read", "rows_read"])

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["service", "period_start", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "period_start", "sha256"],
                condition=Q(status="imported"),
                name="assurance_import_same_file_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.file_name} for {self.service} ({self.period_label})"

    def get_absolute_url(self) -> str:
        return reverse("assurance:import_detail", args=[self.pk])

    @property
    def period_label(self) -> str:
        return month_label(self.period_start)

    @property
    def progress_percent(self) -> int:
        if self.status in (self.Status.IMPORTED, self.Status.FAILED):
            return 100
        if not self.size_bytes:
            return 0
        return min(99, int(100 * self.bytes_read / self.size_bytes))

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.IMPORTED, self.Status.FAILED)


class EcmRecord(models.Model):
    """One row of an imported export: care-record metadata, referred to by its ECM reference only.

    Imported rows are facts as the ECM reported them and never change; the import carries the
    history. Loaded with COPY on PostgreSQL.
    """

    # Rows are loaded a whole file at a time and never change, so the database keeps no per-row
    # foreign-key check and no primary-key b-tree: its one b-tree is the unique (import, row)
    # below, which keeps a file from being stored twice and finds an import's rows (0006 drops
    # the BRIN index 0003 added for that on PostgreSQL; elsewhere 0003's (import, reference)
    # b-tree stays).
    ecm_import = models.ForeignKey(
        EcmImport,
        on_delete=models.CASCADE,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )
    row_number = models.PositiveIntegerField()
    reference = models.CharField(max_length=64)
    record_type = models.CharField(max_length=60)
    due_at = models.DateTimeField()
    recorded_at = models.DateTimeField(null=True, blank=True)
    author_role = models.CharField(max_length=60, blank=True)
    outcome_recorded = models.BooleanField()
    last_review_on = models.DateField(null=True, blank=True)
    review_due_on = models.DateField(null=True, blank=True)
    narrative_length = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "ECM record"
        constraints = [
            # One copy of each row of a file, whatever runs the import: on PostgreSQL the only
            # b-tree the table keeps (it also finds an import's rows).
            models.UniqueConstraint(
                fields=["ecm_import", "row_number"], name="assurance_ecm_row_once"
            )
        ]

    def __str__(self) -> str:
        return self.reference


class Audit(Scoped):
    """A team leader's routine check of a sample of care records for a service and month."""

    class Status(models.TextChoices):
        DRAFT = "draft", "In progress"
        SUBMITTED = "submitted", "Submitted"
        #: Abandoned before submission by the person who started it: kept, counted nowhere.
        DISCARDED = "discarded", "Discarded"

    class Sampling(models.TextChoices):
        TYPED = "typed", "References typed in"
        RANDOM = "random", "Random sample from the latest ECM export"

    period_start = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    sampling = models.CharField(max_length=10, choices=Sampling.choices, default=Sampling.TYPED)
    ecm_import = models.ForeignKey(
        EcmImport, on_delete=models.PROTECT, null=True, blank=True, related_name="audits"
    )
    #: The key the start form carried: a repeat of the same start answers with this audit.
    idempotency_key = models.UUIDField(unique=True, default=uuid.uuid4)
    #: The key the submit form carried: a repeat of the same submission answers with the first.
    submission_key = models.UUIDField(null=True, blank=True, unique=True)
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    correction_reason = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    discarded_at = models.DateTimeField(null=True, blank=True)
    discard_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "-started_at"]
        indexes = [models.Index(fields=["service", "period_start", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="discarded") | Q(discarded_at__isnull=False),
                name="assurance_audit_discarded_when",
            )
        ]

    def __str__(self) -> str:
        return f"Audit {self.pk}: {self.service} {self.period_label}"

    def get_absolute_url(self) -> str:
        return reverse("assurance:audit_detail", args=[self.pk])

    @property
    def period_label(self) -> str:
        return month_label(self.period_start)

    @property
    def is_frozen(self) -> bool:
        return self.status == self.Status.SUBMITTED

    @property
    def is_discarded(self) -> bool:
        return self.status == self.Status.DISCARDED

    @property
    def is_open(self) -> bool:
        """Still being answered: neither submitted nor discarded."""
        return self.status == self.Status.DRAFT


class AuditRecord(models.Model):
    """One care record in an audit: its checks, the corrections made and staff support needs."""

    class Need(models.TextChoices):
        NONE = "none", "None"
        TRAINING = "training", "Training"
        SUPERVISION = "supervision", "Supervision"
        COACHING = "coaching", "Coaching"

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="records")
    position = models.PositiveIntegerField()
    reference = models.CharField(
        max_length=64, help_text="The ECM record reference. Never a person's name."
    )
    correction_made = models.TextField(blank=True)
    corrected_by = models.CharField(max_length=100, blank=True)
    corrected_on = models.DateField(null=True, blank=True)
    support_staff = models.CharField(
        max_length=100, blank=True, help_text="A role or staff reference, not a name."
    )
    support_need = models.CharField(max_length=20, choices=Need.choices, blank=True)
    saved_at = models.DateTimeField(null=True, blank=True)
    #: The key the last accepted save carried. Every accepted key is in this record's history, so
    #: a save sent again from a device's queue (same key) changes nothing the second time.
    save_key = models.UUIDField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["audit", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["audit", "reference"], name="assurance_record_once_an_audit"
            ),
            models.UniqueConstraint(fields=["audit", "position"], name="assurance_record_position"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_answered(self) -> bool:
        return self.saved_at is not None


class AuditCheck(models.Model):
    """The answer to one measure's question for one audited record."""

    class Answer(models.TextChoices):
        MET = "met", "Met"
        NOT_MET = "not_met", "Not met"
        NOT_APPLICABLE = "na", "Not applicable"

    record = models.ForeignKey(AuditRecord, on_delete=models.CASCADE, related_name="checks")
    measure = models.CharField(max_length=40, choices=[(c, MeasureCode(c).label) for c in CHECKED])
    answer = models.CharField(max_length=10, choices=Answer.choices)
    note = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["record", "measure"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "measure"], name="assurance_check_once_a_measure"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record}: {self.get_measure_display()} {self.get_answer_display()}"


class AuditAgreement(models.Model):
    """Two audits of the same service and month that checked some of the same records: how many of
    the shared checks they answered differently. Kept up to date as audits are submitted."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    first = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="+")
    shared_records = models.PositiveIntegerField()
    shared_checks = models.PositiveIntegerField()
    disagreements = models.PositiveIntegerField()

    class Meta:
        ordering = ["service", "period_start", "first", "second"]
        indexes = [models.Index(fields=["organisation", "period_start"])]

    def __str__(self) -> str:
        return f"Audits {self.first_id} and {self.second_id}"

    @property
    def disagreement_percent(self) -> Decimal | None:
        return percentage(self.disagreements, self.shared_checks)


class MeasureResult(models.Model):
    """A figure for one service, month, measure and source, kept up to date as exports are
    imported and audits submitted, so pages and triggers never rescan the raw rows."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    measure = models.CharField(max_length=40, choices=MeasureCode.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    numerator = models.PositiveIntegerField()
    denominator = models.PositiveIntegerField()
    detail = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service", "period_start", "measure", "source"]
        indexes = [models.Index(fields=["organisation", "period_start"])]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "period_start", "measure", "source"],
                name="assurance_one_result",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.period_start} {self.measure} {self.source}"

    @property
    def value(self) -> Decimal | None:
        return percentage(self.numerator, self.denominator)


class FigureRefresh(models.Model):
    """A service-month whose figures are being updated: something they count has changed (an audit
    was submitted) and the worker has not yet rewritten them. One row per service and month,
    however many changes are waiting; `generation` goes up with each, so the worker, once done,
    removes the row only if nothing changed while it counted. Pages say which figures are being
    updated while a row is here."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    generation = models.PositiveBigIntegerField(default=1)
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "period_start"], name="assurance_one_refresh_a_month"
            )
        ]

    def __str__(self) -> str:
        return f"Figures for {self.service_id} {self.period_start} (generation {self.generation})"

    @property
    def period_label(self) -> str:
        return month_label(self.period_start)


class GapCause(models.Model):
    """In a monthly trend review, the registered manager's judgement of why a measure fell short."""

    class Cause(models.TextChoices):
        TRAINING = "training", "Training"
        WORKLOAD = "workload", "Workload"
        SYSTEM_CONFIGURATION = "system_configuration", "System configuration"
        LOCAL_PRACTICE = "local_practice", "Local practice"

    review_cycle = models.ForeignKey(
        ReviewCycle, on_delete=models.CASCADE, related_name="gap_causes"
    )
    measure = models.CharField(max_length=40, choices=MeasureCode.choices)
    cause = models.CharField(max_length=30, choices=Cause.choices)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_cycle", "measure"]
        constraints = [
            models.UniqueConstraint(
                fields=["review_cycle", "measure"], name="assurance_one_cause_a_measure"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_measure_display()}: {self.get_cause_display()}"


class Comparison(models.Model):
    """The quality lead's cross-service comparison for a month: themes and risks in words."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    themes = models.TextField(blank=True)
    risks = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "period_start"], name="assurance_one_comparison_a_month"
            )
        ]

    def __str__(self) -> str:
        return f"Cross-service comparison, {month_label(self.period_start)}"

    def get_absolute_url(self) -> str:
        return reverse("assurance:compare") + f"?period={self.period_start:%Y-%m}"


class Verdict(models.TextChoices):
    YES = "yes", "Yes"
    CAVEATS = "caveats", "Yes, with caveats"
    NO = "no", "No"


class RelianceDecision(models.Model):
    """The board's quarterly decision: can leaders rely on ECM information? Frozen once recorded,
    with the evidence the board saw."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    quarter_start = models.DateField()
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    reasons = models.TextField()
    snapshot = models.JSONField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-quarter_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "quarter_start"], name="assurance_one_reliance_a_quarter"
            )
        ]

    def __str__(self) -> str:
        return f"Reliance on ECM information, {self.quarter_label}"

    def get_absolute_url(self) -> str:
        quarter = (self.quarter_start.month - 1) // 3 + 1
        return reverse("assurance:reliance_detail", args=[f"{self.quarter_start.year}-Q{quarter}"])

    @property
    def quarter_label(self) -> str:
        return period_containing(Cadence.QUARTERLY, self.quarter_start).label


class ServiceReliance(models.Model):
    decision = models.ForeignKey(
        RelianceDecision, on_delete=models.CASCADE, related_name="services"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    reasons = models.TextField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["service__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "service"], name="assurance_one_verdict_a_service"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.get_verdict_display()}"
