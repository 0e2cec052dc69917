"""Reads for workflow governance, scoped to what the person may see.

Templates belong to the organisation: everyone who may read workflows at any of its services may
read them, because a service's map is a copy of one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from caregov import access
from caregov.cadence import Period
from caregov.models import Organisation, Service, User
from caregov.selectors import scoped
from workflows.models import (
    CoreWorkflow,
    PracticeGap,
    QualityFinding,
    StaffTest,
    WorkflowMap,
    WorkflowVersion,
)


def map_list(*, user: User, capability: str = "workflows.view") -> QuerySet[WorkflowMap]:
    services = access.services_where(user, capability)
    organisations = set(services.values_list("organisation_id", flat=True))
    organisations |= access.organisation_ids_where(user, capability)
    return WorkflowMap.objects.filter(
        Q(service__in=services.values("pk"))
        | Q(service__isnull=True, organisation_id__in=organisations)
    ).select_related("organisation", "service")


def version_list(*, user: User, capability: str = "workflows.view") -> QuerySet[WorkflowVersion]:
    return WorkflowVersion.objects.filter(
        map__in=map_list(user=user, capability=capability)
    ).select_related("map__organisation", "map__service", "approved_by", "decision__meeting")


def gap_list(*, user: User, capability: str = "practice.view") -> QuerySet[PracticeGap]:
    return scoped(
        PracticeGap.objects.select_related("service", "step__version__map", "recorded_by"),
        user=user,
        capability=capability,
    )


def staff_test_list(*, user: User, capability: str = "practice.view") -> QuerySet[StaffTest]:
    return scoped(
        StaffTest.objects.select_related("service", "step", "version__map", "tested_by"),
        user=user,
        capability=capability,
    )


def current_version(versions: list[WorkflowVersion]) -> WorkflowVersion | None:
    """The version in use (approved), else the newest."""
    approved = [v for v in versions if v.status == WorkflowVersion.Status.APPROVED]
    if approved:
        return approved[0]
    return max(versions, key=lambda v: v.number) if versions else None


@dataclass
class MapState:
    """A map's versions as they stood at a moment: the one in use and the one being worked on."""

    map: WorkflowMap
    in_use: WorkflowVersion | None = None
    in_progress: WorkflowVersion | None = None
    in_progress_status: str | None = None

    @property
    def label(self) -> str:
        return self.map.get_workflow_display()


def map_states(maps: list[WorkflowMap], *, at: datetime | None = None) -> dict[int, MapState]:
    """Each map's state now, or at a past moment (read from the versions' dates), in one query."""
    versions = defaultdict(list)
    for version in WorkflowVersion.objects.filter(map__in=maps).order_by("-number"):
        versions[version.map_id].append(version)
    states = {}
    for workflow_map in maps:
        state = MapState(workflow_map)
        for version in versions[workflow_map.pk]:
            status = version.status_at(at) if at else version.status
            if status == WorkflowVersion.Status.APPROVED and state.in_use is None:
                state.in_use = version
            elif status in WorkflowVersion.OPEN and state.in_progress is None:
                state.in_progress = version
                state.in_progress_status = status
        states[workflow_map.pk] = state
    return states


@dataclass
class ServiceRow:
    service: Service | None
    cells: list[MapState | None] = field(default_factory=list)
    open_gaps: int = 0
    high_risk_gaps: int = 0
    #: (label, state, adopt url) per core workflow, filled in by the page that shows the row.
    items: list = field(default_factory=list)


def workflow_grid(
    *, organisation: Organisation, services: list[Service], at: datetime | None = None
) -> list[ServiceRow]:
    """The organisation's templates and each service's maps, one row each, one column per core
    workflow, with the open gaps counted."""
    maps = list(
        WorkflowMap.objects.filter(organisation=organisation).filter(
            Q(service__isnull=True) | Q(service__in=services)
        )
    )
    states = map_states(maps, at=at)
    by_scope = {(m.service_id, m.workflow): states[m.pk] for m in maps}
    gaps = (
        PracticeGap.objects.filter(service__in=services, status=PracticeGap.Status.OPEN)
        .values("service_id")
        .annotate(
            total=Count("pk"),
            high=Count("pk", filter=Q(risk="high") | Q(affects_safe_care=True)),
        )
    )
    counts = {row["service_id"]: row for row in gaps}
    rows = []
    for service in [None, *services]:
        service_id = service.pk if service else None
        row = ServiceRow(service, [by_scope.get((service_id, w)) for w in CoreWorkflow.values])
        if service is not None:
            row.open_gaps = counts.get(service.pk, {}).get("total", 0)
            row.high_risk_gaps = counts.get(service.pk, {}).get("high", 0)
        rows.append(row)
    return rows


@dataclass
class QuarterEvidence:
    """What the quarterly workflow governance review presents for one service."""

    service: Service
    maps: list[MapState]
    gaps: list[PracticeGap]
    tests: list[StaffTest]
    findings: list[QualityFinding]
    #: High-risk or safe-care gaps open at the time, whenever they were logged.
    open_high_risk: list[PracticeGap] = field(default_factory=list)

    @property
    def gaps_by_kind(self) -> dict[str, int]:
        counts = {label: 0 for _, label in PracticeGap.Kind.choices}
        for gap in self.gaps:
            counts[gap.get_kind_display()] += 1
        return counts

    @property
    def safe_care_flags(self) -> int:
        return sum(1 for g in self.gaps if g.affects_safe_care) + sum(
            1 for t in self.tests if t.affects_safe_care
        )

    @property
    def map_summary(self) -> str:
        """Like "6 approved, 1 under test, 1 draft"."""
        approved = sum(1 for m in self.maps if m.in_use)
        testing = sum(1 for m in self.maps if m.in_progress_status == "under_test")
        drafts = sum(1 for m in self.maps if m.in_progress_status == "draft")
        parts = [f"{approved} approved"]
        if testing:
            parts.append(f"{testing} under test")
        if drafts:
            parts.append(f"{drafts} draft{'s' if drafts != 1 else ''}")
        return ", ".join(parts)

    @property
    def failed_tests(self) -> int:
        return sum(1 for t in self.tests if t.failed)


def quarter_evidence(
    *,
    organisation: Organisation,
    services: list[Service],
    quarter: Period,
    at: datetime | None = None,
) -> list[QuarterEvidence]:
    """Per service: maps and their state (at `at`, for a signed-off review), and the quarter's
    gaps, staff tests and quality findings; a handful of queries whatever the number of services."""
    maps = list(WorkflowMap.objects.filter(organisation=organisation, service__in=services))
    states = map_states(maps, at=at)
    gaps = defaultdict(list)
    for gap in PracticeGap.objects.filter(
        service__in=services, observed_on__gte=quarter.start, observed_on__lte=quarter.end
    ).select_related("step__version__map"):
        gaps[gap.service_id].append(gap)
    tests = defaultdict(list)
    for test in StaffTest.objects.filter(
        service__in=services, tested_on__gte=quarter.start, tested_on__lte=quarter.end
    ).select_related("step", "version__map"):
        tests[test.service_id].append(test)
    findings = defaultdict(list)
    for finding in QualityFinding.objects.filter(
        version__map__service__in=services,
        recorded_at__date__gte=quarter.start,
        recorded_at__date__lte=quarter.end,
    ).select_related("version__map", "recorded_by"):
        findings[finding.version.map.service_id].append(finding)
    moment = at or timezone.now()
    carried = defaultdict(list)
    for gap in (
        PracticeGap.objects.filter(service__in=services, recorded_at__lte=moment)
        .filter(Q(risk="high") | Q(affects_safe_care=True))
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=moment))
        .select_related("step__version__map")
        .order_by("observed_on")
    ):
        carried[gap.service_id].append(gap)
    by_service = defaultdict(list)
    for workflow_map in sorted(maps, key=lambda m: CoreWorkflow.values.index(m.workflow)):
        by_service[workflow_map.service_id].append(states[workflow_map.pk])
    return [
        QuarterEvidence(
            service=service,
            maps=by_service[service.pk],
            gaps=gaps[service.pk],
            tests=tests[service.pk],
            findings=findings[service.pk],
            open_high_risk=carried[service.pk],
        )
        for service in services
    ]


def audits_for_evidence(
    *, user: User, service: Service, since: date | None = None, limit: int = 24
) -> list[dict]:
    """Submitted record audits of the service (from the month of `since`, oldest first, when
    given; else the latest), when the assurance app is installed, as evidence a quality finding
    can link to."""
    from django.apps import apps

    if not apps.is_installed("assurance") or not access.has_capability(
        user, "audits.view", service
    ):
        return []
    from assurance.selectors import audit_list

    audits = audit_list(user=user).filter(service=service, status="submitted")
    if since is not None:
        audits = audits.filter(period_start__gte=since.replace(day=1)).order_by(
            "period_start", "pk"
        )
    return [
        {
            "id": audit.pk,
            "label": f"Audit {audit.pk}, {audit.period_label}, submitted "
            f"{audit.submitted_at:%-d %b %Y}",
            "url": audit.get_absolute_url(),
        }
        for audit in audits[:limit]
    ]


def approved_versions_of(decisions: list) -> dict[int, list[tuple[str, str]]]:
    """For the kernel's minutes page: the workflow versions its decisions approved."""
    versions = WorkflowVersion.objects.filter(decision__in=decisions).select_related(
        "map__organisation", "map__service"
    )
    return {
        v.decision_id: [
            (f"{v.map.title} ({v.map.scope_label}), version {v.number}", v.get_absolute_url())
        ]
        for v in versions
    }
