"""The kernel's own triggers: reviews not signed off, and actions not done, in time."""

from __future__ import annotations

from datetime import datetime

from caregov.cadence import Cadence, Period, local_date, period_containing
from caregov.models import Action, Body, Escalation, ReviewCycle
from caregov.registry import (
    EvidenceRecord,
    Finding,
    Scope,
    ScopeKind,
    Threshold,
    Trigger,
    body_above,
    register_trigger,
)


def _raise_levels(body: str, levels: int) -> str:
    for _ in range(levels):
        body = body_above(body)
    return body


@register_trigger
class ReviewOverdue(Trigger):
    code = "caregov.review_overdue"
    name = "Review overdue"
    description = (
        "A review cycle not signed off N days after its period ends escalates to the body above: "
        "registered manager, then quality lead, then senior leadership team."
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

    def evaluate(
        self, scope: Scope, period: Period, thresholds: dict, at: datetime
    ) -> list[Finding]:
        today = local_date(at)
        after = int(thresholds["days_after_period"])
        step = int(thresholds["days_per_level"])
        late = ReviewCycle.objects.filter(
            organisation=scope.organisation,
            service=scope.service,
            status__in=[ReviewCycle.Status.OPEN, ReviewCycle.Status.IN_REVIEW],
            period_end__lte=today.fromordinal(today.toordinal() - after),
        ).select_related("organisation", "service")
        findings = []
        for cycle in late:
            days = (today - cycle.period_end).days
            levels = 1 + (days - after) // step
            body = _raise_levels(cycle.body, levels)
            findings.append(
                Finding(
                    subject=f"review:{cycle.pk}",
                    period=cycle.period,
                    title=f"{cycle.kind_name} for {cycle.scope_label}, {cycle.period.label}, "
                    f"not signed off {days} days after the period ended",
                    severity=Escalation.Severity.HIGH if levels > 1 else Escalation.Severity.MEDIUM,
                    escalate_to=body,
                    figures={
                        "days_since_period_end": days,
                        "threshold_days": after,
                        "levels_up": levels,
                        "review_body": cycle.get_body_display(),
                        "status": cycle.get_status_display(),
                    },
                    records=[EvidenceRecord("caregov.ReviewCycle", cycle.pk, str(cycle))],
                )
            )
        return findings


@register_trigger
class ActionOverdue(Trigger):
    code = "caregov.action_overdue"
    name = "Action overdue"
    description = "Overdue actions escalate: an action not done N days after its due date."
    scope = ScopeKind.EVERY
    cadence = Cadence.WEEKLY
    auto_resolve = True
    thresholds = (
        Threshold("days_overdue", "Days past the due date before escalating", 1, 0, 180),
        Threshold(
            "days_per_level", "Further days before escalating to the next body up", 14, 1, 180
        ),
    )

    def evaluate(
        self, scope: Scope, period: Period, thresholds: dict, at: datetime
    ) -> list[Finding]:
        today = local_date(at)
        grace = int(thresholds["days_overdue"])
        step = int(thresholds["days_per_level"])
        overdue = Action.objects.filter(
            organisation=scope.organisation,
            service=scope.service,
            status=Action.Status.OPEN,
            due_on__lte=today.fromordinal(today.toordinal() - grace),
        ).select_related("owner")
        start = Body.REGISTERED_MANAGER if scope.service else Body.SENIOR_LEADERSHIP_TEAM
        findings = []
        for action in overdue:
            days = (today - action.due_on).days
            levels = (days - grace) // step
            findings.append(
                Finding(
                    subject=f"action:{action.pk}",
                    period=period_containing(Cadence.MONTHLY, action.due_on),
                    title=f"Action overdue by {days} days at {scope.label}: {action.title}",
                    severity=Escalation.Severity.HIGH if levels else Escalation.Severity.MEDIUM,
                    escalate_to=_raise_levels(start, levels),
                    figures={
                        "days_overdue": days,
                        "threshold_days": grace,
                        "owner": str(action.owner),
                    },
                    records=[EvidenceRecord("caregov.Action", action.pk, action.title)],
                )
            )
        return findings
