"""The seed's triggers for workflow governance, as kernel triggers.

"Action is triggered by repeated workarounds, poor record quality, workflow duplication or evidence
that digital processes are not supporting safe care." Each reads all of an organisation's services
in one query and names the gaps, tests, steps and figures that fired it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.apps import apps
from django.db.models import Q

from caregov.cadence import Cadence, Period, local_date, period_containing
from caregov.models import Body, Escalation
from caregov.registry import (
    EvidenceRecord,
    Finding,
    Scope,
    ScopeKind,
    Threshold,
    Trigger,
    register_trigger,
)
from workflows.models import PracticeGap, StaffTest, WorkflowStep, WorkflowVersion


def _gap_record(gap: PracticeGap) -> EvidenceRecord:
    return EvidenceRecord(
        "workflows.PracticeGap",
        gap.pk,
        f"{gap.get_kind_display()} at step {gap.step.position}, {gap.observed_on:%-d %b %Y}",
    )


def step_lineage(gaps: list[PracticeGap]) -> dict[int, int]:
    """Each gap's step as the same step through revisions: a step copied into a new version of the
    same map counts as the step it was copied from."""
    map_ids = {g.step.version.map_id for g in gaps}
    rows = WorkflowStep.objects.filter(version__map_id__in=map_ids).values_list(
        "pk", "copied_from_id", "version__map_id"
    )
    parent = {pk: (source, map_id) for pk, source, map_id in rows}

    def root(pk: int) -> int:
        seen = set()
        while pk not in seen:
            seen.add(pk)
            source, map_id = parent.get(pk, (None, None))
            if source is None or parent.get(source, (None, None))[1] != map_id:
                return pk
            pk = source
        return pk

    return {g.pk: root(g.step_id) for g in gaps}


def _by_service(rows, scopes: list[Scope], find) -> list[tuple[Scope, list[Finding]]]:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row.service_id].append(row)
    return [(scope, find(scope, grouped.get(scope.service.pk, []))) for scope in scopes]


class ServiceTrigger(Trigger):
    """Evaluated for every service of an organisation from one read."""

    scope = ScopeKind.SERVICE
    default_body = Body.REGISTERED_MANAGER

    def evaluate(self, scope: Scope, period: Period, thresholds: dict, at: datetime):
        return self.evaluate_all([scope], period, thresholds, at)[0][1]


def _gaps_in(scopes: list[Scope], period: Period, kind: str, at: datetime):
    """Gaps of a kind seen in the period and logged by the moment of evaluation."""
    return (
        PracticeGap.objects.filter(
            service__in=[s.service.pk for s in scopes],
            kind=kind,
            observed_on__gte=period.start,
            observed_on__lte=period.end,
            recorded_at__lte=at,
        )
        .select_related("step__version__map")
        .order_by("observed_on", "pk")
    )


@register_trigger
class RepeatedWorkarounds(ServiceTrigger):
    code = "workflows.repeated_workarounds"
    name = "Repeated workarounds"
    description = (
        "Action is triggered by repeated workarounds: early warning signs include staff "
        "workarounds."
    )
    rule = (
        "At least {per_workflow} workarounds on the same workflow, or {per_step} on the same step, "
        "recorded in the service review log in a quarter."
    )
    cadence = Cadence.QUARTERLY
    thresholds = (
        Threshold("per_workflow", "Workarounds on one workflow in a quarter", 3, 1, 50),
        Threshold("per_step", "Workarounds on one step in a quarter", 2, 1, 50),
    )

    def evaluate_all(self, scopes, period, thresholds, at):
        if not scopes:
            return []
        per_workflow, per_step = int(thresholds["per_workflow"]), int(thresholds["per_step"])

        workarounds = list(_gaps_in(scopes, period, PracticeGap.Kind.WORKAROUND, at))
        # Every service's steps traced through their revisions in one read.
        lineage = step_lineage(workarounds)

        def find(scope: Scope, gaps: list[PracticeGap]) -> list[Finding]:
            by_map, by_step = defaultdict(list), defaultdict(list)
            for gap in gaps:
                by_map[gap.step.version.map_id].append(gap)
                by_step[lineage[gap.pk]].append(gap)
            findings = []
            fired_maps = set()
            for map_id, found in by_map.items():
                if len(found) >= per_workflow:
                    fired_maps.add(map_id)
                    workflow = found[0].step.version.map
                    findings.append(
                        Finding(
                            subject=f"map:{map_id}",
                            title=f"Repeated workarounds at {scope.label}: {len(found)} on the "
                            f"{workflow.get_workflow_display().lower()} workflow in "
                            f"{period.label}",
                            severity=Escalation.Severity.MEDIUM,
                            figures={
                                "workarounds": len(found),
                                "threshold": per_workflow,
                                "workflow": workflow.get_workflow_display(),
                                "steps": sorted({g.step.position for g in found}),
                            },
                            records=[_gap_record(g) for g in found],
                        )
                    )
            for step_id, found in by_step.items():
                step = found[0].step
                if len(found) >= per_step and step.version.map_id not in fired_maps:
                    findings.append(
                        Finding(
                            subject=f"step:{step_id}",
                            title=f"Repeated workarounds at {scope.label}: {len(found)} at step "
                            f"{step.position} of the "
                            f"{step.version.map.get_workflow_display().lower()} workflow in "
                            f"{period.label}",
                            severity=Escalation.Severity.MEDIUM,
                            figures={
                                "workarounds": len(found),
                                "threshold": per_step,
                                "workflow": step.version.map.get_workflow_display(),
                                "step": f"{step.position}. {step.action}",
                            },
                            records=[_gap_record(g) for g in found],
                        )
                    )
            return findings

        return _by_service(workarounds, scopes, find)


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def steps_in_use(service_ids: list[int], at: datetime):
    """Steps of each service's workflows as staff followed them at a moment: the version approved
    then, or the version under test where none was approved. States are read from the versions'
    dates, so a past moment sees the workflows of that day."""
    in_use: dict[int, WorkflowVersion] = {}
    for version in WorkflowVersion.objects.filter(map__service__in=service_ids):
        status = version.status_at(at)
        current = in_use.get(version.map_id)
        if status == WorkflowVersion.Status.APPROVED or (
            status == WorkflowVersion.Status.UNDER_TEST and current is None
        ):
            in_use[version.map_id] = version
    return (
        WorkflowStep.objects.filter(version__in=[v.pk for v in in_use.values()])
        .select_related("version__map")
        .order_by("version__map__workflow", "position")
    )


@register_trigger
class WorkflowDuplication(ServiceTrigger):
    code = "workflows.workflow_duplication"
    name = "Workflow duplication"
    description = (
        "Action is triggered by workflow duplication: early warning signs include duplicated "
        "recording."
    )
    rule = (
        "Duplication recorded in the service review log on at least {duplicated_steps} steps in a "
        "quarter, or the same information expected to be recorded in {places} or more places in "
        "the workflows in use."
    )
    cadence = Cadence.QUARTERLY
    thresholds = (
        Threshold("duplicated_steps", "Steps with duplication recorded in a quarter", 2, 1, 50),
        Threshold("places", "Places the same information is recorded", 2, 2, 10),
    )

    def evaluate_all(self, scopes, period, thresholds, at):
        if not scopes:
            return []
        duplicated_steps, places = int(thresholds["duplicated_steps"]), int(thresholds["places"])
        service_ids = [s.service.pk for s in scopes]
        recordings = defaultdict(lambda: defaultdict(list))
        for step in steps_in_use(service_ids, at):
            if step.recorded_item.strip():
                recordings[step.version.map.service_id][_normalised(step.recorded_item)].append(
                    step
                )

        duplications = list(_gaps_in(scopes, period, PracticeGap.Kind.DUPLICATION, at))
        lineage = step_lineage(duplications)

        def find(scope: Scope, gaps: list[PracticeGap]) -> list[Finding]:
            findings = []
            steps = {lineage[g.pk] for g in gaps}
            if len(steps) >= duplicated_steps:
                findings.append(
                    Finding(
                        subject="logged",
                        title=f"Workflow duplication at {scope.label}: duplicated recording "
                        f"logged at {len(steps)} steps in {period.label}",
                        severity=Escalation.Severity.MEDIUM,
                        figures={
                            "steps_with_duplication": len(steps),
                            "threshold": duplicated_steps,
                        },
                        records=[_gap_record(g) for g in gaps],
                    )
                )
            for item, found in sorted(recordings[scope.service.pk].items()):
                locations = {_normalised(s.ecm_location) for s in found}
                if len(locations) >= places:
                    findings.append(
                        Finding(
                            subject=f"recorded:{item}"[:120],
                            title=f"Workflow duplication at {scope.label}: “{found[0].recorded_item}”"
                            f" is expected to be recorded in {len(locations)} places",
                            severity=Escalation.Severity.MEDIUM,
                            figures={
                                "recorded_item": found[0].recorded_item,
                                "places": len(locations),
                                "threshold": places,
                                "where": [
                                    f"{s.version.map.get_workflow_display()} step {s.position}: "
                                    f"{s.ecm_location}"
                                    for s in found
                                ],
                            },
                            records=[
                                EvidenceRecord(
                                    "workflows.WorkflowVersion",
                                    s.version_id,
                                    f"{s.version.map.get_workflow_display()}, version "
                                    f"{s.version.number}, step {s.position}",
                                )
                                for s in found
                            ],
                        )
                    )
            return findings

        return _by_service(duplications, scopes, find)


@register_trigger
class PoorRecordQuality(ServiceTrigger):
    code = "workflows.poor_record_quality"
    name = "Poor record quality after a workflow change"
    description = (
        "Action is triggered by poor record quality: early warning signs include incomplete notes."
    )
    rule = (
        "A data assurance measure is red in a month within {months_after_change} months of a "
        "change to the service's workflows (a revised version tested or approved)."
    )
    cadence = Cadence.MONTHLY
    thresholds = (
        Threshold("months_after_change", "Months a workflow change is watched for", 3, 1, 12),
    )

    def evaluate_all(self, scopes, period, thresholds, at):
        if not scopes or not apps.is_installed("assurance"):
            return [(scope, []) for scope in scopes]
        from assurance.selectors import red_figures

        # The last complete month: its figures are in.
        month = period_containing(Cadence.MONTHLY, period.start).previous()
        watched_from = month.start
        for _ in range(int(thresholds["months_after_change"])):
            watched_from = period_containing(
                Cadence.MONTHLY, watched_from - timedelta(days=1)
            ).start
        changes = defaultdict(list)
        changed = WorkflowVersion.objects.filter(
            map__service__in=[s.service.pk for s in scopes], map__service__isnull=False
        ).filter(
            Q(test_started_at__date__gte=watched_from, test_started_at__date__lte=month.end)
            | Q(approved_at__date__gte=watched_from, approved_at__date__lte=month.end)
        )
        for version in changed.select_related("map"):
            changes[version.map.service_id].append(version)
        services = [s.service for s in scopes if s.service.pk in changes]
        red = red_figures(organisation=scopes[0].organisation, services=services, month=month)
        results = []
        for scope in scopes:
            figures = red.get(scope.service.pk, [])
            versions = changes.get(scope.service.pk, [])
            if not figures or not versions:
                results.append((scope, []))
                continue
            results.append(
                (
                    scope,
                    [
                        Finding(
                            subject="red-after-change",
                            period=month,
                            title=f"Poor record quality at {scope.label} after a workflow change: "
                            f"{len(figures)} measure(s) red in {month.label}",
                            severity=Escalation.Severity.MEDIUM,
                            figures={
                                "month": month.label,
                                "red_measures": {f.measure: f.words for f in figures},
                                "workflow_changes": [
                                    f"{v.map.get_workflow_display()} version {v.number}"
                                    for v in versions
                                ],
                                "months_after_change": int(thresholds["months_after_change"]),
                            },
                            records=[
                                EvidenceRecord("workflows.WorkflowVersion", v.pk, str(v))
                                for v in versions
                            ],
                        )
                    ],
                )
            )
        return results


@register_trigger
class UnsafeDigitalProcess(ServiceTrigger):
    code = "workflows.unsafe_digital_process"
    name = "Digital process not supporting safe care"
    description = (
        "Action is triggered by evidence that digital processes are not supporting safe care."
    )
    rule = (
        "Any open gap, or any staff test, flagged as affecting safe care escalates at once to the "
        "senior leadership team, with high severity."
    )
    cadence = Cadence.MONTHLY
    #: Staff tests are not closed like gaps; those older than this are left to the escalations
    #: they raised at the time.
    TEST_LOOKBACK_DAYS = 92

    def evaluate_all(self, scopes, period, thresholds, at):
        if not scopes:
            return []
        service_ids = [s.service.pk for s in scopes]
        names = {s.service.pk: s.label for s in scopes}
        # Open at the moment of evaluation: logged by then and not yet resolved.
        gaps = (
            PracticeGap.objects.filter(
                service__in=service_ids, affects_safe_care=True, recorded_at__lte=at
            )
            .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=at))
            .select_related("step__version__map")
        )
        tests = StaffTest.objects.filter(
            service__in=service_ids,
            affects_safe_care=True,
            tested_on__gte=local_date(at) - timedelta(days=self.TEST_LOOKBACK_DAYS),
            recorded_at__lte=at,
        ).select_related("step", "version__map")
        found = defaultdict(list)
        for gap in gaps:
            workflow = gap.step.version.map.get_workflow_display().lower()
            found[gap.service_id].append(
                Finding(
                    subject=f"gap:{gap.pk}",
                    period=period_containing(Cadence.MONTHLY, gap.observed_on),
                    title=f"Not supporting safe care at {names[gap.service_id]}: "
                    f"{gap.get_kind_display().lower()} at step "
                    f"{gap.step.position} of the {workflow} workflow",
                    severity=Escalation.Severity.HIGH,
                    escalate_to=Body.SENIOR_LEADERSHIP_TEAM,
                    figures={
                        "risk": gap.get_risk_display(),
                        "how_often": gap.get_frequency_display(),
                        "observed_on": gap.observed_on.isoformat(),
                        "description": gap.description[:300],
                    },
                    records=[_gap_record(gap)],
                )
            )
        for test in tests:
            workflow = test.version.map.get_workflow_display().lower()
            found[test.service_id].append(
                Finding(
                    subject=f"test:{test.pk}",
                    period=period_containing(Cadence.MONTHLY, test.tested_on),
                    title=f"Not supporting safe care at {names[test.service_id]}: staff test of step "
                    f"{test.step.position} of the {workflow} workflow, version "
                    f"{test.version.number}",
                    severity=Escalation.Severity.HIGH,
                    escalate_to=Body.SENIOR_LEADERSHIP_TEAM,
                    figures={
                        "result": test.result,
                        "shift": test.get_shift_display(),
                        "tested_on": test.tested_on.isoformat(),
                        "comments": test.comments[:300],
                    },
                    records=[
                        EvidenceRecord(
                            "workflows.StaffTest",
                            test.pk,
                            f"Staff test of step {test.step.position}, {test.tested_on:%-d %b %Y}",
                        )
                    ],
                )
            )
        return [(scope, found.get(scope.service.pk, [])) for scope in scopes]
