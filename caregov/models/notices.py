"""Reminders: what a person is told about their work, by email and on their Notices page."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from caregov.models.organisation import Organisation


class Reminder(models.Model):
    """One thing told to one person about one piece of their work, once: that it is theirs, that
    it is due in a week or tomorrow, that it is overdue. Unique per (person, item, occasion), so
    a scheduler run repeated for a moment tells nobody twice."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "Given to you"
        WEEK_BEFORE = "week_before", "Due within a week"
        DAY_BEFORE = "day_before", "Due tomorrow"
        OVERDUE = "overdue", "Overdue"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    #: The work it is about, as "caregov.action:12".
    item = models.CharField(max_length=80)
    #: What makes it this reminder and not another: its kind, and the due date or body it is for
    #: (a due date moved, or an escalation moved up, is a new occasion).
    occasion = models.CharField(max_length=80)
    title = models.CharField(max_length=300)
    url = models.CharField(max_length=300)
    due_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    #: Set when the work was done or given to someone else before the reminder went out.
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "item", "occasion"], name="reminder_once_per_occasion"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "emailed_at"], name="reminder_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"
