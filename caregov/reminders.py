"""Owners hear about their work before it is late.

The one scheduler run calls `remind(at=...)`: it notes what each owner should be told (an action,
review or escalation given to them; a week and a day before it is due; once it is overdue) as
`Reminder` rows, unique per (person, item, occasion), then sends what is unsent: an email each,
or one daily digest at 07:00 UK time for those who chose it. A reminder whose work was done or
given to someone else before it went out is withdrawn, not sent. Reminders are about now: a run
for a moment in the past (a replay, the demo) tells nobody anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format

from caregov.cadence import LONDON, local_date
from caregov.models import Action, Escalation, Reminder, ReviewCycle, User
from caregov.selectors import owner_for

Kind = Reminder.Kind
#: An owner is told about work given to them this recently; older assignments, from before
#: reminders existed or while the scheduler was down, are not announced afresh.
ASSIGNED_WITHIN = timedelta(days=2)
#: Work is told overdue in its first days overdue, not every day after (nor afresh on deploy).
OVERDUE_WITHIN = timedelta(days=3)
#: How far from now a run may be and still remind anyone.
NOW_WITHIN = timedelta(hours=1)
#: Escalation history reasons that give it to someone.
ESCALATION_GIVEN = (
    "caregov.escalation.assigned",
    "caregov.escalation.raised_further",
    "caregov.escalation.acknowledged",
)


@dataclass(frozen=True)
class Work:
    """One piece of open work and the one person who answers for it now."""

    organisation_id: int
    recipient: User
    item: str
    title: str
    url: str
    due_on: date | None
    given_recently: bool
    #: What the assignment is: a new body holding an escalation is a new assignment.
    holder: str = ""


def _actions(at: datetime) -> list[Work]:
    rows = Action.objects.filter(
        status=Action.Status.OPEN, created_at__lte=at, owner__is_active=True
    ).select_related("owner", "service", "organisation")
    return [
        Work(
            a.organisation_id,
            a.owner,
            f"caregov.action:{a.pk}",
            f"Action: {a.title} ({a.scope_label})",
            a.get_absolute_url(),
            a.due_on,
            a.created_at >= at - ASSIGNED_WITHIN,
        )
        for a in rows
    ]


def _reviews(at: datetime) -> list[Work]:

    rows = ReviewCycle.objects.filter(
        status__in=[ReviewCycle.Status.OPEN, ReviewCycle.Status.IN_REVIEW], opened_at__lte=at
    ).select_related("organisation", "service", "service__registered_manager")
    work = []
    owners: dict[tuple, User | None] = {}
    for cycle in rows:
        key = (cycle.organisation_id, cycle.service_id, cycle.body)
        if key not in owners:
            owners[key] = owner_for(cycle.organisation, cycle.service, cycle.body)
        owner = owners[key]
        if owner is None or not owner.is_active:
            continue
        work.append(
            Work(
                cycle.organisation_id,
                owner,
                f"caregov.reviewcycle:{cycle.pk}",
                f"Review: {cycle}",
                cycle.get_absolute_url(),
                cycle.due_on,
                cycle.opened_at >= at - ASSIGNED_WITHIN,
            )
        )
    return work


def _escalations(at: datetime) -> list[Work]:
    rows = (
        Escalation.objects.exclude(status=Escalation.Status.RESOLVED)
        .filter(raised_at__lte=at, owner__is_active=True)
        .select_related("owner", "service", "organisation")
    )
    given = set(
        Escalation.history.filter(
            history_change_reason__in=ESCALATION_GIVEN, history_date__gte=at - ASSIGNED_WITHIN
        ).values_list("id", flat=True)
    )
    return [
        Work(
            e.organisation_id,
            e.owner,
            f"caregov.escalation:{e.pk}",
            f"Escalation: {e.title}",
            e.get_absolute_url(),
            None,
            e.raised_at >= at - ASSIGNED_WITHIN or e.pk in given,
            holder=e.escalated_to,
        )
        for e in rows
    ]


def _occasions(work: Work, today: date) -> list[tuple[str, str]]:
    """(kind, occasion) pairs this work calls for today."""
    found = []
    if work.given_recently:
        found.append((Kind.ASSIGNED, f"assigned:{work.holder}" if work.holder else "assigned"))
    if work.due_on is not None:
        days_left = (work.due_on - today).days
        due = work.due_on.isoformat()
        if -OVERDUE_WITHIN.days <= days_left < 0:
            # Told as it becomes overdue; work long overdue is the escalations' business.
            found.append((Kind.OVERDUE, f"overdue:{due}"))
        elif 0 <= days_left <= 1:
            found.append((Kind.DAY_BEFORE, f"day_before:{due}"))
        elif 2 <= days_left <= 7 and not work.given_recently:
            # Work given with under a week to go is told once, as given, not twice in a day.
            found.append((Kind.WEEK_BEFORE, f"week_before:{due}"))
    return found


def note_reminders(*, at: datetime) -> list[Reminder]:
    """Write the reminders owners should have at `at`; those already written stay as they are."""
    today = local_date(at)
    wanted = []
    for work in [*_actions(at), *_reviews(at), *_escalations(at)]:
        for kind, occasion in _occasions(work, today):
            wanted.append(
                Reminder(
                    organisation_id=work.organisation_id,
                    recipient=work.recipient,
                    kind=kind,
                    item=work.item,
                    occasion=occasion,
                    title=work.title[:300],
                    url=work.url,
                    due_on=work.due_on,
                    created_at=at,
                )
            )
    if not wanted:
        return []
    existing = set(
        Reminder.objects.filter(item__in={r.item for r in wanted}).values_list(
            "recipient_id", "item", "occasion"
        )
    )
    new = [r for r in wanted if (r.recipient_id, r.item, r.occasion) not in existing]
    # The database's unique constraint settles a concurrent run; the scheduler lock prevents one.
    Reminder.objects.bulk_create(new, ignore_conflicts=True)
    return new


def _still_theirs(reminder: Reminder) -> bool:
    """Whether the work is still open and still this person's."""
    model, _, pk = reminder.item.partition(":")
    if model == "caregov.action":
        return Action.objects.filter(
            pk=pk, status=Action.Status.OPEN, owner_id=reminder.recipient_id
        ).exists()
    if model == "caregov.escalation":
        return (
            Escalation.objects.filter(pk=pk, owner_id=reminder.recipient_id)
            .exclude(status=Escalation.Status.RESOLVED)
            .exists()
        )
    if model == "caregov.reviewcycle":
        cycle = (
            ReviewCycle.objects.filter(pk=pk)
            .exclude(status=ReviewCycle.Status.SIGNED_OFF)
            .select_related("organisation", "service")
            .first()
        )
        if cycle is None:
            return False
        owner = owner_for(cycle.organisation, cycle.service, cycle.body)
        return owner is not None and owner.pk == reminder.recipient_id
    return False


def _withdraw_stale(reminders: list[Reminder], at: datetime) -> list[Reminder]:
    current, stale = [], []
    for reminder in reminders:
        (current if _still_theirs(reminder) else stale).append(reminder)
    if stale:
        Reminder.objects.filter(pk__in=[r.pk for r in stale]).update(withdrawn_at=at)
    return current


def _line(reminder: Reminder) -> str:
    due = f", due {date_format(reminder.due_on, 'j M Y')}" if reminder.due_on else ""
    return f"{reminder.get_kind_display()}: {reminder.title}{due}"


def _send(user: User, reminders: list[Reminder], *, digest: bool, at: datetime) -> None:
    context = {
        "user": user,
        "reminders": [
            {"line": _line(r), "link": settings.SITE_URL.rstrip("/") + r.url} for r in reminders
        ],
        "notices_link": settings.SITE_URL.rstrip("/") + "/notices/",
        "digest": digest,
        "day": date_format(local_date(at), "j M Y"),
    }
    if digest:
        count = len(reminders)
        subject = (
            f"caregov: {count} thing{'s' if count != 1 else ''} about your work, {context['day']}"
        )
    else:
        subject = f"caregov: {_line(reminders[0])}"[:200]
    send_mail(
        subject=subject,
        message=render_to_string("caregov/reminder_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
    Reminder.objects.filter(pk__in=[r.pk for r in reminders]).update(emailed_at=at)


def send_reminders(*, at: datetime) -> int:
    """Email what is unsent and still current: each at once, or the daily digest from 07:00."""
    unsent = list(
        Reminder.objects.filter(emailed_at=None, withdrawn_at=None, created_at__lte=at)
        .select_related("recipient")
        .order_by("recipient_id", "created_at", "pk")
    )
    by_person: dict[int, list[Reminder]] = {}
    for reminder in _withdraw_stale(unsent, at):
        by_person.setdefault(reminder.recipient_id, []).append(reminder)
    local = at.astimezone(LONDON)
    today_began = datetime.combine(local.date(), datetime.min.time(), tzinfo=LONDON)
    digested_today = set(
        Reminder.objects.filter(emailed_at__gte=today_began, emailed_at__lte=at)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    sent = 0
    for reminders in by_person.values():
        user = reminders[0].recipient
        if not user.is_active:
            continue
        if user.reminders_by == "digest":
            if local.hour < settings.REMINDER_DIGEST_HOUR or user.pk in digested_today:
                continue  # today's digest has gone: the rest waits for tomorrow's
            _send(user, reminders, digest=True, at=at)
            sent += 1
            continue
        for reminder in reminders:
            _send(user, [reminder], digest=False, at=at)
            sent += 1
    return sent


def remind(*, at: datetime) -> str:
    """The scheduler's step: note and send reminders for now; nothing for a moment long past
    (a replay, the demo) or ahead (a simulated year)."""
    if abs(at - timezone.now()) > NOW_WITHIN:
        return ""
    noted = note_reminders(at=at)
    sent = send_reminders(at=at)
    if not noted and not sent:
        return ""
    return f"{len(noted)} reminders noted, {sent} emails sent"


def current_notices(*, user: User, at: datetime, limit: int = 50) -> list[Reminder]:
    """The person's notices, newest first: reminders about work that is still open and still
    theirs (the rest are withdrawn as they are found), read ones for 30 days."""
    rows = list(
        Reminder.objects.filter(recipient=user, withdrawn_at=None)
        .filter(Q(read_at=None) | Q(created_at__gte=at - timedelta(days=30)))
        .order_by("-created_at", "-pk")[:limit]
    )
    return _withdraw_stale(rows, at)
