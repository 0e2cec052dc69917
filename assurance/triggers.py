"""The seed's early warning signs for data assurance, as kernel triggers.

"Action is triggered by repeated data gaps, unreliable reports, weak outcome evidence or lack of
improvement after manager intervention." Early warning signs "include high completion rates but
weak narrative, missing outcomes or inconsistent audit results."

Each trigger looks at the last complete month (the month before the one the scheduler runs in),
reads the summary figures for all of an organisation's services in one query, and says which
figures and records fired it. A person resolves these escalations: figures can change when a late
audit arrives, and a person should see that they did.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from assurance.measures import MEASURES, UNRELIABLE_REPORTS, MeasureCode, Rating
from assurance.models import AuditAgreement, month_label
from assurance.selectors import FigureTable, months_back
from caregov.cadence import Cadence, Period, local_date, period_containing
from caregov.models import Action, Body, Escalation
from caregov.registry import (
    EvidenceRecord,
    Finding,
    Scope,
    ScopeKind,
    Threshold,
    Trigger,
    register_trigger,
)


def _percent(threshold) -> Decimal:
    """A threshold as the same kind of number as the figures it is compared with."""
    return Decimal(str(threshold))


def _pct(value) -> str:
    return "no data" if value is None else f"{value}%"


def _evidence_of(figure, service_name: str) -> list[EvidenceRecord]:
    records = []
    if figure.detail.get("ecm_import"):
        records.append(
            EvidenceRecord(
                "assurance.EcmImport",
                figure.detail["ecm_import"],
                f"ECM export for {service_name}, {month_label(figure.period_start)}",
            )
        )
    for audit_id in figure.detail.get("audits", []):
        records.append(EvidenceRecord("assurance.Audit", audit_id, f"Audit {audit_id}"))
    return records


class MonthlyDataTrigger(Trigger):
    """Evaluates the last complete month for every service of an organisation at once."""

    scope = ScopeKind.SERVICE
    cadence = Cadence.MONTHLY
    default_body = Body.REGISTERED_MANAGER
    #: How many complete months the trigger reads, ending with the last complete one.
    months_needed = 1

    def window(self, period: Period, thresholds: dict) -> list[Period]:
        last = period_containing(Cadence.MONTHLY, period.start).previous()
        return months_back(last, max(1, self.months(thresholds)))

    def months(self, thresholds: dict) -> int:
        return self.months_needed

    def evaluate(self, scope: Scope, period: Period, thresholds: dict, at: datetime):
        return self.evaluate_all([scope], period, thresholds, at)[0][1]

    def evaluate_all(self, scopes, period, thresholds, at):
        if not scopes:
            return []
        months = self.window(period, thresholds)
        table = FigureTable(scopes[0].organisation, [s.service for s in scopes], months, fresh=True)
        return [(scope, self.check(table, scope, months, thresholds, at)) for scope in scopes]

    def check(self, table: FigureTable, scope: Scope, months, thresholds, at) -> list[Finding]:
        """The findings for one service, read from the figures. Triggers that read other records
        override evaluate_all instead."""
        raise NotImplementedError


@register_trigger
class RepeatedDataGaps(MonthlyDataTrigger):
    code = "assurance.repeated_data_gaps"
    name = "Repeated data gaps"
    description = (
        "Action is triggered by repeated data gaps: the same assurance measure red month after "
        "month."
    )
    rule = (
        "A measure rated red in at least {red_months} of the last {window_months} complete months."
    )
    thresholds = (
        Threshold("red_months", "Red months that fire the trigger", 3, 1, 24),
        Threshold("window_months", "Complete months looked at", 6, 1, 24),
    )

    def months(self, thresholds: dict) -> int:
        return int(thresholds["window_months"])

    def check(self, table, scope, months, thresholds, at):
        findings = []
        needed = int(thresholds["red_months"])
        for code, measure in MEASURES.items():
            trend = table.trend(scope.service.pk, code)
            red = [f for f in trend if f.rating == Rating.RED]
            if len(red) < needed:
                continue
            records = []
            for f in red:
                records += _evidence_of(f, scope.service.name)
            findings.append(
                Finding(
                    subject=f"measure:{code}",
                    title=f"{measure.name} red in {len(red)} of the last {len(months)} months "
                    f"at {scope.service.name}",
                    severity=Escalation.Severity.HIGH
                    if len(red) >= len(months)
                    else Escalation.Severity.MEDIUM,
                    figures={
                        "measure": measure.name,
                        "red_months": ", ".join(
                            f"{month_label(f.period_start)} {_pct(f.value)}" for f in red
                        ),
                        "rule": f"red in {needed} of {len(months)} months",
                    },
                    records=records[:12],
                    period=months[-1],
                )
            )
        return findings


@register_trigger
class UnreliableReports(MonthlyDataTrigger):
    code = UNRELIABLE_REPORTS
    name = "Unreliable reports"
    description = (
        "Action is triggered by unreliable reports: what the ECM dashboard reports does not match "
        "what auditors find in the same records."
    )
    rule = (
        "ECM-reported and audit-verified completion of the same records differ by "
        "{divergence_points} percentage points or more, over at least {minimum_records} records."
    )
    thresholds = (
        Threshold("divergence_points", "Percentage points of difference", 10, 1, 100),
        Threshold("minimum_records", "Fewest audited records to compare", 5, 1, 500),
    )

    def check(self, table, scope, months, thresholds, at):
        month = months[-1]
        figure = table.figure(scope.service.pk, month.start, MeasureCode.DASHBOARD_RELIABILITY)
        detail = figure.detail
        if not detail or figure.denominator < int(thresholds["minimum_records"]):
            return []
        divergence = Decimal(detail["divergence"])
        if divergence < _percent(thresholds["divergence_points"]):
            return []
        return [
            Finding(
                subject="completion",
                title=f"ECM reports {detail['ecm_completion']}% complete but audits found "
                f"{detail['audit_completion']}% at {scope.service.name}, {month.label}",
                severity=Escalation.Severity.HIGH,
                figures={
                    "ecm_reported_completion": f"{detail['ecm_completion']}%",
                    "audit_verified_completion": f"{detail['audit_completion']}%",
                    "divergence": f"{divergence} points",
                    "records_compared": figure.denominator,
                },
                records=_evidence_of(figure, scope.service.name),
                period=month,
            )
        ]


@register_trigger
class WeakOutcomeEvidence(MonthlyDataTrigger):
    code = "assurance.weak_outcome_evidence"
    name = "Weak outcome evidence"
    description = (
        "Action is triggered by weak outcome evidence: records that say what was done but not "
        "what difference it made (missing outcomes)."
    )
    rule = "The ECM's outcome evidence rate for a month is below {minimum_rate}%."
    thresholds = (
        Threshold("minimum_rate", "Lowest acceptable outcome evidence rate (%)", 80, 0, 100),
    )

    def check(self, table, scope, months, thresholds, at):
        month = months[-1]
        figure = table.figure(scope.service.pk, month.start, MeasureCode.OUTCOME_EVIDENCE)
        if figure.value is None or figure.value >= _percent(thresholds["minimum_rate"]):
            return []
        return [
            Finding(
                subject="outcome_evidence",
                title=f"Outcomes recorded in {figure.value}% of records at "
                f"{scope.service.name}, {month.label}",
                severity=Escalation.Severity.MEDIUM,
                figures={
                    "outcome_evidence_rate": f"{figure.value}%",
                    "records_with_outcome": f"{figure.numerator} of {figure.denominator}",
                    "lowest_acceptable": f"{thresholds['minimum_rate']}%",
                },
                records=_evidence_of(figure, scope.service.name),
                period=month,
            )
        ]


@register_trigger
class LackOfImprovement(MonthlyDataTrigger):
    code = "assurance.lack_of_improvement"
    name = "Lack of improvement after manager intervention"
    description = (
        "Action is triggered by lack of improvement after manager intervention: an action on a "
        "measure was completed and the measure did not get better."
    )
    rule = (
        "An action on a measure completed in a month, and the measure less than "
        "{improvement_points} points better the month after; or an action whose effectiveness "
        "check says it did not improve."
    )
    thresholds = (
        Threshold("improvement_points", "Percentage points of improvement expected", 1, 0, 100),
    )
    months_needed = 2

    def evaluate_all(self, scopes, period, thresholds, at):
        if not scopes:
            return []
        months = self.window(period, thresholds)
        table = FigureTable(scopes[0].organisation, [s.service for s in scopes], months, fresh=True)
        before, after = months
        actions = list(
            Action.objects.filter(
                organisation=scopes[0].organisation,
                service__in=[s.service for s in scopes],
                status=Action.Status.DONE,
            )
            .filter(measure__in=list(MEASURES))
            .filter(completed_at__gte=before.starts_at, completed_at__lt=after.ends_at)
            | Action.objects.filter(
                organisation=scopes[0].organisation,
                service__in=[s.service for s in scopes],
                measure__in=list(MEASURES),
                effectiveness=Action.Effect.NOT_IMPROVED,
                effectiveness_checked_at__gte=after.starts_at,
                effectiveness_checked_at__lt=after.ends_at,
            )
        )
        by_service: dict[int, list[Action]] = {}
        for action in actions:
            by_service.setdefault(action.service_id, []).append(action)
        results = []
        for scope in scopes:
            findings = []
            for action in by_service.get(scope.service.pk, []):
                finding = self._finding(table, scope, action, before, after, thresholds)
                if finding is not None:
                    findings.append(finding)
            results.append((scope, findings))
        return results

    def _finding(self, table, scope, action, before, after, thresholds):
        records = [EvidenceRecord("caregov.Action", action.pk, f"Action: {action.title}")]
        if action.effectiveness == Action.Effect.NOT_IMPROVED and action.effectiveness_checked_at:
            if not after.contains(local_date(action.effectiveness_checked_at)):
                return None
            return Finding(
                subject=f"action:{action.pk}",
                title=f"Action did not improve things at {scope.service.name}: {action.title}",
                severity=Escalation.Severity.MEDIUM,
                figures={
                    "effectiveness_check": "Not improved",
                    "note": action.effectiveness_note or "none given",
                },
                records=records,
                period=after,
                escalate_to=Body.QUALITY_LEAD,
            )
        if action.measure not in MEASURES or action.completed_at is None:
            return None
        if not before.contains(local_date(action.completed_at)):
            return None
        was = table.figure(scope.service.pk, before.start, action.measure)
        now = table.figure(scope.service.pk, after.start, action.measure)
        if was.value is None or now.value is None:
            return None
        gain = now.value - was.value
        if gain >= _percent(thresholds["improvement_points"]):
            return None
        name = MEASURES[action.measure].name
        return Finding(
            subject=f"action:{action.pk}",
            title=f"{name} no better at {scope.service.name} after action: {action.title}",
            severity=Escalation.Severity.MEDIUM,
            figures={
                "measure": name,
                f"before ({before.label})": f"{was.value}%",
                f"after ({after.label})": f"{now.value}%",
                "change": f"{gain:+} points",
            },
            records=records + _evidence_of(now, scope.service.name),
            period=after,
            escalate_to=Body.QUALITY_LEAD,
        )


@register_trigger
class HighCompletionWeakNarrative(MonthlyDataTrigger):
    code = "assurance.high_completion_weak_narrative"
    name = "High completion but weak narrative"
    description = (
        "Early warning signs include high completion rates but weak narrative: the dashboard "
        "looks complete while the records say little."
    )
    rule = (
        "ECM completeness at or above {completeness_at_least}% while audited narrative quality is "
        "at or below {narrative_at_most}%."
    )
    thresholds = (
        Threshold("completeness_at_least", "ECM completeness at or above (%)", 95, 0, 100),
        Threshold("narrative_at_most", "Audited narrative quality at or below (%)", 60, 0, 100),
    )

    def check(self, table, scope, months, thresholds, at):
        month = months[-1]
        complete = table.figure(scope.service.pk, month.start, MeasureCode.COMPLETENESS)
        narrative = table.figure(scope.service.pk, month.start, MeasureCode.NARRATIVE_QUALITY)
        if complete.value is None or narrative.value is None:
            return []
        if complete.value < _percent(thresholds["completeness_at_least"]):
            return []
        if narrative.value > _percent(thresholds["narrative_at_most"]):
            return []
        return [
            Finding(
                subject="narrative",
                title=f"{complete.value}% complete but narrative good in only "
                f"{narrative.value}% of audited records at {scope.service.name}, {month.label}",
                severity=Escalation.Severity.MEDIUM,
                figures={
                    "ecm_completeness": f"{complete.value}%",
                    "audited_narrative_quality": f"{narrative.value}%",
                },
                records=_evidence_of(complete, scope.service.name)
                + _evidence_of(narrative, scope.service.name),
                period=month,
            )
        ]


@register_trigger
class InconsistentAudits(MonthlyDataTrigger):
    code = "assurance.inconsistent_audits"
    name = "Inconsistent audit results"
    description = (
        "Early warning signs include inconsistent audit results: two audits of the same records "
        "reach different answers."
    )
    rule = (
        "Two audits of the same records in the same month disagree on {disagreement_percent}% "
        "or more of the checks they share."
    )
    thresholds = (
        Threshold(
            "disagreement_percent", "Share of shared checks answered differently (%)", 20, 1, 100
        ),
    )

    def evaluate_all(self, scopes, period, thresholds, at):
        if not scopes:
            return []
        month = self.window(period, thresholds)[-1]
        pairs = AuditAgreement.objects.filter(
            organisation=scopes[0].organisation,
            period_start=month.start,
            service__in=[s.service for s in scopes],
        )
        grouped: dict[int, list[AuditAgreement]] = {}
        for pair in pairs:
            grouped.setdefault(pair.service_id, []).append(pair)
        limit = _percent(thresholds["disagreement_percent"])
        results = []
        for scope in scopes:
            findings = []
            for pair in grouped.get(scope.service.pk, []):
                share = pair.disagreement_percent
                if share is None or share < limit:
                    continue
                findings.append(
                    Finding(
                        subject=f"audits:{pair.first_id}:{pair.second_id}",
                        title=f"Audits {pair.first_id} and {pair.second_id} disagree on {share}% "
                        f"of shared checks at {scope.service.name}, {month.label}",
                        severity=Escalation.Severity.MEDIUM,
                        figures={
                            "records_in_both": pair.shared_records,
                            "checks_in_both": pair.shared_checks,
                            "answered_differently": f"{pair.disagreements} ({share}%)",
                        },
                        records=[
                            EvidenceRecord(
                                "assurance.Audit", pair.first_id, f"Audit {pair.first_id}"
                            ),
                            EvidenceRecord(
                                "assurance.Audit", pair.second_id, f"Audit {pair.second_id}"
                            ),
                        ],
                        period=month,
                    )
                )
            results.append((scope, findings))
        return results
