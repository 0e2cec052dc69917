"""Eighteen months of believable governance history for the demo provider.

The scheduler is replayed day by day, so cycles open when their period starts and escalations
rise and clear when they would have. People sign off most reviews on time, some late and a few
not at all; actions are raised from reviews and escalations, most done and checked, some not.
"""

from __future__ import annotations

import heapq
import itertools
import random
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from caregov import access
from caregov.cadence import LONDON
from caregov.engine import evaluate_triggers, open_due_cycles
from caregov.history import save_with_reason
from caregov.models import Action, Body, Escalation, ReviewCycle
from caregov.selectors import owner_for
from caregov.services import governance as gov

MINUTES = [
    "Reviewed the period's records and the open actions with the team. {finding} Agreed next steps "
    "and owners; evidence is in the ECM audit function.",
    "Walked through the figures and the previous actions. {finding} No new risks to care identified.",
    "Discussed with team leaders and the digital champion. {finding} Actions recorded below.",
]
FINDINGS = [
    "Recording was mostly timely; night-shift notes were late on several days.",
    "Care plan reviews were up to date except for two records (ECM refs noted in the audit).",
    "Staff reported duplicated recording of fluid charts; raised as a workflow question.",
    "Outcome evidence was thin in daily notes for people with dementia.",
    "Alerts were acknowledged late after the system update; supplier contacted.",
]
DECISIONS = [
    "Practice is reliable for this period; continue routine checks.",
    "Reliable with exceptions: targeted audit of the night-shift notes next month.",
    "Not yet reliable: refresher training and a follow-up audit agreed.",
]
ACTION_TITLES = [
    "Refresher session on recording outcomes in daily notes",
    "Targeted audit of night-shift daily notes",
    "Ask the supplier to fix the alert acknowledgement delay",
    "Agree one place to record fluid intake and remove the duplicate chart",
    "Supervision for staff with repeated late entries",
    "Update the care plan review reminder in the ECM",
]
#: The measure each action is meant to move, so its effect check can be read against it
#: (the supplier's fix has none of its own).
ACTION_MEASURES = {
    "Refresher session on recording outcomes in daily notes": "outcome_evidence",
    "Targeted audit of night-shift daily notes": "narrative_quality",
    "Agree one place to record fluid intake and remove the duplicate chart": "completeness",
    "Supervision for staff with repeated late entries": "timeliness",
    "Update the care plan review reminder in the ECM": "review_compliance",
}


def _effect_note(action: Action, day: date, improved: bool) -> str:
    """What the person checking wrote, naming the months they compared."""
    done = action.completed_at.date()
    before = (done.replace(day=1) - timedelta(days=1)).strftime("%B")
    after = (day.replace(day=1) - timedelta(days=1)).strftime("%B")
    if improved:
        return f"{after}'s audit against {before}'s: the change is showing in the records."
    return f"{after}'s audit showed the same gaps as {before}'s: needs a different approach."


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=LONDON)


class _Replay:
    def __init__(self, organisation, *, rng: random.Random, today: date, story_service=None):
        self.organisation = organisation
        # The service the demo logins work at always has something overdue to show.
        self.story_service = story_service
        self.rng = rng
        self.today = today
        self.queue: list = []
        self.counter = itertools.count()
        self.planned: set[int] = set()

    def later(self, day: date, fn, *args) -> None:
        heapq.heappush(self.queue, (day, next(self.counter), fn, args))

    def due(self, day: date):
        while self.queue and self.queue[0][0] <= day:
            _, _, fn, args = heapq.heappop(self.queue)
            fn(day, *args)

    # Reviews -----------------------------------------------------------------------------------

    def plan_cycles(self, day: date) -> None:
        fresh = ReviewCycle.objects.filter(organisation=self.organisation).exclude(
            pk__in=self.planned
        )
        for cycle in fresh:
            self.planned.add(cycle.pk)
            recent = (self.today - cycle.period_end).days < 45
            if (
                self.story_service is not None
                and cycle.service_id == self.story_service.pk
                and cycle.kind == "assurance.trend_review"
                and 15 <= (self.today - cycle.period_end).days <= 45
            ):
                continue  # last month's trend review at the story service: still not signed off
            roll = self.rng.random()
            if recent and roll < 0.35:
                continue  # still to be done: the manager will find it on "My work"
            if not recent and roll < 0.012:
                continue  # never signed off: escalated up the chain
            if roll < 0.82:
                when = cycle.period_end + timedelta(
                    days=self.rng.randint(
                        1, max(1, cycle.due_on.toordinal() - cycle.period_end.toordinal())
                    )
                )
            else:
                when = cycle.due_on + timedelta(days=self.rng.randint(12, 40))
            if when < self.today:
                self.later(when, self.sign_off, cycle.pk)

    def sign_off(self, day: date, cycle_pk: int) -> None:
        cycle = ReviewCycle.objects.select_related("service", "organisation").get(pk=cycle_pk)
        actor = owner_for(cycle.organisation, cycle.service, cycle.body)
        if actor is None or cycle.is_frozen:
            return
        finding = self.rng.choice(FINDINGS)
        gov.review_sign_off(
            actor=actor,
            cycle=cycle,
            decision=self.rng.choice(DECISIONS),
            minutes=self.rng.choice(MINUTES).format(finding=finding),
            at=_at(day, 15),
        )
        if self.rng.random() < 0.3:
            self.raise_action(day, actor, review_cycle=cycle)

    # Actions -----------------------------------------------------------------------------------

    def raise_action(self, day: date, actor, **source) -> None:
        record = next(iter(source.values()))
        if not access.has_capability(actor, "actions.manage", record.service):
            # Board members decide; a senior leader records the action and owns it.
            actor = owner_for(self.organisation, None, Body.SENIOR_LEADERSHIP_TEAM)
        owner = actor
        due = day + timedelta(days=self.rng.randint(14, 35))
        title = self.rng.choice(ACTION_TITLES)
        action = gov.action_raise(
            actor=actor,
            title=title,
            owner=owner,
            due_on=due,
            measure=ACTION_MEASURES.get(title, "") if getattr(record, "service_id", None) else "",
            created_at=_at(day, 16),
            **source,
        )
        roll = self.rng.random()
        if roll < 0.7:
            done = due - timedelta(days=self.rng.randint(0, 10))
        elif roll < 0.75 or (self.today - due).days > 75:
            done = due + timedelta(days=self.rng.randint(5, 20))
        else:
            return  # left open: overdue once its date passes
        if done < self.today:
            self.later(done, self.complete, action.pk)

    def complete(self, day: date, action_pk: int) -> None:
        action = Action.objects.get(pk=action_pk)
        gov.action_complete(
            actor=action.owner,
            action=action,
            at=_at(day, 11),
            evidence="Done and recorded: see the team meeting notes and the ECM audit entry for this period.",
        )
        check = day + timedelta(days=28)
        if check < self.today:
            self.later(check, self.check_effect, action_pk)

    def check_effect(self, day: date, action_pk: int) -> None:
        action = Action.objects.get(pk=action_pk)
        improved = self.rng.random() < 0.75
        gov.action_check_effect(
            actor=action.owner,
            action=action,
            at=_at(day, 12),
            result=Action.Effect.IMPROVED if improved else Action.Effect.NOT_IMPROVED,
            note=_effect_note(action, day, improved),
        )

    # Escalations -------------------------------------------------------------------------------

    def work_escalations(self, day: date) -> None:
        fresh = Escalation.objects.filter(
            organisation=self.organisation,
            status=Escalation.Status.OPEN,
            acknowledged_at__isnull=True,
            raised_at__lt=_at(day, 0),
        )
        for escalation in fresh:
            roll = self.rng.random()
            actor = escalation.owner or owner_for(
                escalation.organisation, escalation.service, escalation.escalated_to
            )
            if actor is None or roll < 0.2:
                continue
            with transaction.atomic():
                escalation.status = Escalation.Status.ACKNOWLEDGED
                escalation.acknowledged_at = _at(day, 9)
                escalation.acknowledged_by = actor
                escalation.owner = escalation.owner or actor
                escalation._history_date = _at(day, 9)
                save_with_reason(escalation, actor=actor, reason="caregov.escalation.acknowledged")
            if roll > 0.75:
                self.raise_action(day, actor, escalation=escalation)
            elif roll < 0.35 and escalation.trigger == "caregov.review_overdue":
                self.later(
                    day + timedelta(days=self.rng.randint(3, 12)),
                    self.resolve,
                    escalation.pk,
                    actor,
                )

    def resolve(self, day: date, escalation_pk: int, actor) -> None:
        escalation = Escalation.objects.get(pk=escalation_pk)
        if escalation.status == Escalation.Status.RESOLVED:
            return
        # Whoever answers for the body it is with now resolves it.
        actor = owner_for(escalation.organisation, escalation.service, escalation.escalated_to)
        if actor is None:
            return
        gov.escalation_resolve(
            actor=actor,
            escalation=escalation,
            at=_at(day, 14),
            note="Spoke with the manager; the review is booked for this week and cover arranged.",
        )


def _meetings(organisation, *, rng: random.Random, start: date, today: date) -> None:
    """Quarterly senior leadership and board meetings, minuted, decided and signed off."""
    quarter_starts = []
    day = date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    while day < today:
        quarter_starts.append(day)
        day = date(day.year + (day.month == 10), (day.month + 2) % 12 + 1, 1)
    for q_start in quarter_starts[1:]:
        for body, offset, title in (
            (Body.SENIOR_LEADERSHIP_TEAM, 18, "Quarterly digital governance review"),
            (Body.BOARD, 25, "Board: quarterly assurance"),
        ):
            meeting_day = q_start + timedelta(days=offset)
            if meeting_day >= today:
                continue
            # A senior leader keeps the minutes of both meetings.
            chair = owner_for(organisation, None, Body.SENIOR_LEADERSHIP_TEAM)
            if chair is None:
                continue
            meeting = gov.meeting_record(
                actor=chair,
                organisation=organisation,
                body=body,
                meeting_date=meeting_day,
                title=title,
                attendees="Chief executive (chair)\nOperations director\nHead of quality\nDigital project lead",
                minutes="Reviewed the quarter's review cycles, open escalations and actions. "
                "Discussed whether leaders can rely on ECM information for decisions.",
            )
            previous = ReviewCycle.objects.filter(
                organisation=organisation,
                period_end__lt=q_start,
                period_end__gte=q_start - timedelta(days=92),
            )
            late = Escalation.objects.filter(
                organisation=organisation,
                raised_at__lt=_at(meeting_day),
                raised_at__gte=_at(q_start - timedelta(days=92)),
            )[:3]
            gov.decision_record(
                actor=chair,
                meeting=meeting,
                text=rng.choice(
                    [
                        "Leaders can rely on ECM information for the services reviewed, with the exceptions noted.",
                        "Reliance is limited until the audit actions at two services show improvement.",
                    ]
                ),
                review_cycles=list(previous.filter(service__isnull=True)[:2]),
                escalations=list(late),
            )
            gov.decision_record(
                actor=chair,
                meeting=meeting,
                text="Overdue reviews to be signed off within two weeks; quality lead to follow up.",
            )
            if meeting_day < today - timedelta(days=10):
                gov.meeting_sign_off(
                    actor=chair, meeting=meeting, at=_at(meeting_day + timedelta(days=3))
                )


def _draft_meeting(organisation, *, today: date) -> None:
    chair = owner_for(organisation, None, Body.PROJECT_BOARD)
    if chair is None:
        return
    meeting = gov.meeting_record(
        actor=chair,
        organisation=organisation,
        body=Body.PROJECT_BOARD,
        meeting_date=today - timedelta(days=3),
        title="Project board: champion feedback and configuration changes",
        attendees="Digital project lead (chair)\nHead of quality\nTwo digital champions",
        minutes="Draft. Champions reported repeated questions about recording PRN medication; "
        "supplier asked about the alert delay.",
    )
    gov.decision_record(
        actor=chair,
        meeting=meeting,
        text="Publish one-page guidance on PRN recording and brief all champions.",
    )


def _story_action(organisation, service, *, today: date) -> None:
    """An action at the story service, raised a month ago, now ten days overdue."""
    review = (
        ReviewCycle.objects.filter(service=service, status=ReviewCycle.Status.SIGNED_OFF)
        .order_by("-period_end")
        .first()
    )
    owner = service.registered_manager
    if review is None or owner is None:
        return
    raised = today - timedelta(days=30)
    gov.action_raise(
        actor=owner,
        owner=owner,
        review_cycle=review,
        due_on=today - timedelta(days=10),
        title="Audit ten night-shift daily notes for outcome evidence",
        detail="The trend review found outcomes missing from night-shift notes.",
        created_at=_at(raised, 16),
    )


def build_governance_history(
    organisation, *, start: date, today: date, rng: random.Random, story_service=None
) -> None:
    replay = _Replay(organisation, rng=rng, today=today, story_service=story_service)
    day = start
    while day < today:
        at = _at(day, 6)
        open_due_cycles(at=at)
        replay.plan_cycles(day)
        replay.due(day)
        if day.weekday() == 0:
            evaluate_triggers(at=at)
            replay.work_escalations(day)
        day += timedelta(days=1)
    replay.due(today - timedelta(days=1))
    _meetings(organisation, rng=rng, start=start, today=today)
    _draft_meeting(organisation, today=today)
    if story_service is not None:
        _story_action(organisation, story_service, today=today)
    evaluate_triggers(at=timezone.now())
