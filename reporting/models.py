"""Packs: a PDF built from a frozen snapshot of its numbers, and who downloaded it.

Reporting reads every app through its selectors and writes only these two models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from caregov.cadence import Cadence, period_containing, quarter_key
from caregov.models.governance import Scoped


class Pack(Scoped):
    """One build of one pack kind for one scope and period.

    The snapshot is frozen before anything is drawn: a retry after a failure, or a rebuild from
    an earlier pack, lays out the same numbers. The file is written whole or not at all."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to build"
        BUILDING = "building", "Building"
        BUILT = "built", "Ready"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=40)
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    #: Built by the quarter-end schedule rather than asked for by a person.
    scheduled = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    #: The pack whose snapshot this one was rebuilt from, when it was.
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rebuilds"
    )
    snapshot = models.JSONField(null=True, blank=True)
    snapshot_sha256 = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    file_path = models.CharField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: Builds lost with their worker since the pack was last asked for; bounded by the sweeper.
    lost_runs = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "-requested_at"]
        indexes = [models.Index(fields=["organisation", "kind", "period_start"])]
        constraints = [
            # One build under way at a time for a pack: a second request joins it.
            models.UniqueConstraint(
                fields=["organisation", "kind", "period_start"],
                condition=models.Q(status__in=["queued", "building"]),
                name="reporting_one_active_build",
            ),
            # The schedule builds a quarter's pack once, however often it runs.
            models.UniqueConstraint(
                fields=["organisation", "kind", "period_start"],
                condition=models.Q(scheduled=True),
                name="reporting_one_scheduled_build",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_name}, {self.period_label}"

    def get_absolute_url(self) -> str:
        return reverse("reporting:pack_detail", args=[self.pk])

    @property
    def period(self):
        return period_containing(Cadence.QUARTERLY, self.period_start)

    @property
    def period_label(self) -> str:
        return self.period.label

    @property
    def kind_name(self) -> str:
        from reporting.packs import pack_kinds

        kind = pack_kinds.get(self.kind)
        return kind.name if kind else self.kind

    @property
    def requested_how(self) -> str:
        """'by Dev Bennett', 'by the quarter-end schedule' or 'from the command line'."""
        if self.requested_by_id:
            return f"by {self.requested_by}"
        return "by the quarter-end schedule" if self.scheduled else "from the command line"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.BUILT, self.Status.FAILED)

    @property
    def file_name(self) -> str:
        return f"{self.kind}-pack-{quarter_key(self.period)}.pdf"


class PackDownload(models.Model):
    """Every download of a pack: who, when, from where. Written once, never changed."""

    pack = models.ForeignKey(Pack, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    downloaded_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-downloaded_at"]

    def __str__(self) -> str:
        return f"{self.user} downloaded {self.pack} on {self.downloaded_at:%d %b %Y %H:%M}"
