"""The kernel's own triggers: reviews not signed off, and actions not done, in time."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Q

from caregov.cadence import Cadence, Period, local_date, period_containing
from caregov.models import Action, Body, Escalation, ReviewCycle
from caregov.registry import (
    EvidenceRecord,
    Finding,
    Scope,
    ScopeKind,
    Threshold,
    Trigger,
    register_trigger,
)
from caregov.roles import body_above


def _raise_levels(body: str, levels: int) -> str:
    for _ in range(levels):
        body = body_above(body)
    return body


def _by_scope(rows, scopes: list[Scope], make) -> list[tuple[Scope, list[Finding]]]:
    """Group one query's rows by service, so every scope is evaluated from a single read."""
    grouped = defaultdict(list)
    for row in rows:
        grouped[row.service_id].append(row)
    return [
        (
            scope,
            [
                make(row, scope)
                for row in grouped.get(scope.service.pk if scope.service else None, [])
            ],
        )
        for scope in scopes
    ]


@register_trigger
class ReviewOverdue(Trigger):
    code = "caregov.review_overdue"
    name = "Review overdue"
    description = (
        "A review cycle not signed off N days after its period ends escalates to the body above: "
        "registered manager, then quality lead, then senior leadership team."
    )
    rule = (
        "A review not signed off {days_after_period} days after its period ends is escalated to "
        "the body above, and a further step up every {days_per_level} days after that."
    )
    scope = ScopeKind.EVERY
    cadence = Cadence.WEEKLY
    auto_resolve = True
    thresholds = (
        Threshold("days_after_period", "Days after the period ends before escalating", 14, 1, 180),
        Threshold(
            "days_per_level", "Further days before escalating to the next body up", 14, 1, 180
        ),
    )

    def _late(self, organisation, at: datetime, thresholds: dict):
        """Cycles open at the moment (opened by then, not signed off by then) and late by then."""
        cutoff = local_date(at) - timedelta(days=int(thresholds["days_after_period"]))
        not_signed_off = Q(status__in=[ReviewCycle.Status.OPEN, ReviewCycle.Status.IN_REVIEW])
        return (
            ReviewCycle.objects.filter(
                not_signed_off | Q(signed_off_at__gt=at),
                organisation=organisation,
                opened_at__lte=at,
                period_end__lte=cutoff,
            )
            .select_related("organisation", "service")
            .order_by("period_end", "pk")
        )

    def _finding(self, cycle: ReviewCycle, today: date, thresholds: dict) -> Finding:
        after = int(thresholds["days_after_period"])
        signed_off_later = cycle.status == ReviewCycle.Status.SIGNED_OFF
        days = (today - cycle.period_end).days
        levels = 1 + (days - after) // int(thresholds["days_per_level"])
        return Finding(
            subject=f"review:{cycle.pk}",
            period=cycle.period,
            title=f"{cycle.kind_name} for {cycle.scope_label}, {cycle.period.label}: "
            f"not signed off {after} days after the period ended",
            severity=Escalation.Severity.HIGH if levels > 1 else Escalation.Severity.MEDIUM,
            escalate_to=_raise_levels(cycle.body, levels),
            figures={
                "days_since_period_end": days,
                "threshold_days": after,
                "levels_up": levels,
                "review_body": cycle.get_body_display(),
                "status": "Open" if signed_off_later else cycle.get_status_display(),
            },
            records=[EvidenceRecord("caregov.ReviewCycle", cycle.pk, str(cycle))],
        )

    def evaluate(
        self, scope: Scope, period: Period, thresholds: dict, at: datetime
    ) -> list[Finding]:
        today = local_date(at)
        late = self._late(scope.organisation, at, thresholds).filter(service=scope.service)
        return [self._finding(cycle, today, thresholds) for cycle in late]

    def evaluate_all(self, scopes, period, thresholds, at):
        if not scopes:
            return []
        today = local_date(at)
        late = self._late(scopes[0].organisation, at, thresholds)
        return _by_scope(late, scopes, lambda cycle, scope: self._finding(cycle, today, thresholds))


@register_trigger
class ActionOverdue(Trigger):
    code = "caregov.action_overdue"
    name = "Action overdue"
    description = "Overdue actions escalate: an action not done N days after its due date."
    rule = (
        "An action not done {days_overdue} day(s) after its due date is escalated, and a further "
        "step up every {days_per_level} days after that."
    )
    scope = ScopeKind.EVERY
    cadence = Cadence.WEEKLY
    auto_resolve = True
    thresholds = (
        Threshold("days_overdue", "Days past the due date before escalating", 1, 0, 180),
        Threshold(
            "days_per_level", "Further days before escalating to the next body up", 14, 1, 180
        ),
    )

    def _overdue(self, organisation, at: datetime, thresholds: dict):
        """Actions open at the moment (raised by then, not done by then) and overdue by then."""
        cutoff = local_date(at) - timedelta(days=int(thresholds["days_overdue"]))
        return (
            Action.objects.filter(
                Q(status=Action.Status.OPEN) | Q(completed_at__gt=at),
                organisation=organisation,
                created_at__lte=at,
                due_on__lte=cutoff,
            )
            .select_related("owner", "service", "organisation")
            .order_by("due_on", "pk")
        )

    def _finding(self, action: Action, scope: Scope, today: date, thresholds: dict) -> Finding:
        grace = int(thresholds["days_overdue"])
        days = (today - action.due_on).days
        levels = (days - grace) // int(thresholds["days_per_level"])
        start = Body.REGISTERED_MANAGER if scope.service else Body.SENIOR_LEADERSHIP_TEAM
        return Finding(
            subject=f"action:{action.pk}",
            period=period_containing(Cadence.MONTHLY, action.due_on),
            title=f"Action overdue at {scope.label}: {action.title}",
            severity=Escalation.Severity.HIGH if levels else Escalation.Severity.MEDIUM,
            escalate_to=_raise_levels(start, levels),
            figures={"days_overdue": days, "threshold_days": grace, "owner": str(action.owner)},
            records=[EvidenceRecord("caregov.Action", action.pk, action.title)],
        )

    def evaluate(
        self, scope: Scope, period: Period, thresholds: dict, at: datetime
    ) -> list[Finding]:
        today = local_date(at)
        overdue = self._overdue(scope.organisation, at, thresholds).filter(service=scope.service)
        return [self._finding(action, scope, today, thresholds) for action in overdue]

    def evaluate_all(self, scopes, period, thresholds, at):
        if not scopes:
            return []
        today = local_date(at)
        overdue = self._overdue(scopes[0].organisation, at, thresholds)
        return _by_scope(
            overdue, scopes, lambda action, scope: self._finding(action, scope, today, thresholds)
        )
