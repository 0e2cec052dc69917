"""Writes about a person's own notices: reading them, and how they hear about their work."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caregov.history import save_with_reason
from caregov.models import Reminder, User


def notices_mark_read(*, actor: User, at: datetime | None = None) -> int:
    """Mark every unread notice of the actor's as read; returns how many."""
    return Reminder.objects.filter(recipient=actor, read_at=None).update(
        read_at=at or timezone.now()
    )


@transaction.atomic
def reminders_choose(*, actor: User, reminders_by: str) -> User:
    """The actor chooses an email each time, or one digest a day."""
    choices = dict(User._meta.get_field("reminders_by").choices)
    if reminders_by not in choices:
        raise ValidationError({"reminders_by": "Choose how you want to hear about your work."})
    actor.reminders_by = reminders_by
    return save_with_reason(actor, actor=actor, reason="caregov.person.reminders_chosen")
