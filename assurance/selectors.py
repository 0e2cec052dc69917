"""Reads for data assurance, scoped to what the user may see, and the figures pages show.

Figures come from MeasureResult, the summary kept as exports and audits arrive: a page for many
services and months reads one row per service, month, measure and source, never the raw rows.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db.models import Case, Count, F, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from assurance.figures import refresh_waiting
from assurance.measures import (
    MEASURES,
    UNRELIABLE_REPORTS,
    Rating,
    Thresholds,
    default_thresholds,
    percentage,
    rating_words,
)
from assurance.models import (
    Audit,
    AuditAgreement,
    EcmImport,
    FigureRefresh,
    GapCause,
    ImportProfile,
    MeasureResult,
    RelianceDecision,
    ThresholdReview,
    ThresholdVersion,
    month_label,
)
from caregov.access import has_capability, services_where
from caregov.cadence import Cadence, Period, period_containing
from caregov.models import Escalation, Organisation, Service, User
from caregov.registry import RecordedEntry

#: The figure each measure is judged on: the ECM's own for what the ECM records, the auditors'
#: for narrative quality, and the comparison of the two for dashboard reliability.
JUDGED_ON = {code: m.source for code, m in MEASURES.items()}
ASSURANCE_TRIGGERS_PREFIX = "assurance."


def audit_list(*, user: User, capability: str = "audits.view") -> QuerySet[Audit]:
    return Audit.objects.filter(service__in=services_where(user, capability)).select_related(
        "service", "started_by", "submitted_by", "corrects"
    )


def import_list(*, user: User, capability: str = "ecm.import") -> QuerySet[EcmImport]:
    return EcmImport.objects.filter(service__in=services_where(user, capability)).select_related(
        "service", "uploaded_by"
    )


def profile_list(*, user: User) -> QuerySet[ImportProfile]:
    """The import profiles of the person's organisation, for those who import ECM exports."""
    if not has_capability(user, "ecm.import"):
        return ImportProfile.objects.none()
    return ImportProfile.objects.filter(organisation_id=user.organisation_id).select_related(
        "created_by"
    )


def months_back(last: Period, count: int) -> list[Period]:
    months = [last]
    while len(months) < count:
        months.insert(0, months[0].previous())
    return months


def threshold_review_latest(*, organisation: Organisation | None) -> ThresholdReview | None:
    """The latest confirmation that the measures and thresholds were reviewed, if any."""
    if organisation is None:
        return None
    return (
        ThresholdReview.objects.filter(organisation=organisation)
        .select_related("reviewed_by")
        .first()
    )


class ThresholdBook:
    """Every threshold version of an organisation, read once, answering 'in force in month X'."""

    def __init__(self, organisation: Organisation | int):
        self.versions: dict[str, list[ThresholdVersion]] = defaultdict(list)
        for version in ThresholdVersion.objects.filter(organisation=organisation).order_by(
            "effective_from"
        ):
            self.versions[version.measure].append(version)

    def in_force(self, measure: str, month_start: date) -> Thresholds:
        versions = self.versions.get(measure, [])
        index = bisect_right([v.effective_from for v in versions], month_start)
        if index == 0:
            return default_thresholds(measure)
        v = versions[index - 1]
        return Thresholds(v.target, v.green_from, v.amber_from, v.effective_from, v.pk)


@dataclass
class Figure:
    """A measure's figure for one service and month, rated against the thresholds then in force."""

    measure: str
    period_start: date
    numerator: int = 0
    denominator: int = 0
    thresholds: Thresholds | None = None
    detail: dict = field(default_factory=dict)

    @property
    def value(self) -> Decimal | None:
        return percentage(self.numerator, self.denominator)

    @property
    def rating(self) -> str | None:
        return self.thresholds.rate(self.value) if self.thresholds else None

    @property
    def words(self) -> str:
        return rating_words(self.rating, self.value, self.thresholds)

    @property
    def rating_label(self) -> str:
        return Rating(self.rating).label if self.rating else "No data"

    def as_dict(self) -> dict:
        return {
            "measure": self.measure,
            "month": self.period_start.isoformat(),
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": str(self.value) if self.value is not None else None,
            "rating": self.rating,
            "thresholds": self.thresholds.as_dict() if self.thresholds else None,
        }


class Cell:
    """One summary row, read as plain values (no model instance)."""

    __slots__ = ("numerator", "denominator", "detail")

    def __init__(self, numerator: int, denominator: int, detail: dict):
        self.numerator, self.denominator, self.detail = numerator, denominator, detail


class FigureTable:
    """Figures for a set of services and months, from one query over the summary.

    A page of many services and months can read less: with `judged_only`, only the figure each
    measure is judged on (not what the audits found for a measure judged on the ECM export);
    `detail_sources` names the sources whose detail is read (all when None), so a page that
    shows only the comparison's detail does not fetch and decode the rest.

    A month whose figures the worker has yet to rewrite (an audit was just submitted) is read as
    it stands, and listed in `updating` for the page to say so; with `fresh`, for triggers and
    evidence frozen for the board, such a month is rewritten here first.
    """

    def __init__(
        self,
        organisation: Organisation,
        services: list[Service],
        months: list[Period],
        *,
        judged_only: bool = False,
        detail_sources: Collection[str] | None = None,
        fresh: bool = False,
    ):
        self.services = services
        self.months = months
        self.book = ThresholdBook(organisation)
        self.cells: dict[tuple[int, date, str, str], Cell] = {}
        #: (service id, month start) of the figures shown that are being updated, oldest first.
        self.updating: list[tuple[int, date]] = []
        if services and months:
            in_range = {
                "service__in": [s.pk for s in services],
                "period_start__gte": months[0].start,
                "period_start__lte": months[-1].start,
            }
            if fresh:
                refresh_waiting(**in_range)
            else:
                self.updating = list(
                    FigureRefresh.objects.filter(**in_range).values_list(
                        "service_id", "period_start"
                    )
                )
            # Asked-for details come as text and are decoded here, row by row where present:
            # reading them as JSON would run a converter on every row, detail or none.
            detail = (
                F("detail")
                if detail_sources is None
                else Case(
                    When(source__in=list(detail_sources), then=Cast("detail", TextField())),
                    default=Value(None),
                    output_field=TextField(),
                )
            )
            # Unordered: cells are found by key, and the model's ordering joins services to
            # sort by name.
            rows = MeasureResult.objects.filter(
                service__in=[s.pk for s in services],
                period_start__gte=months[0].start,
                period_start__lte=months[-1].start,
            ).order_by()
            if judged_only:
                rows = rows.filter(
                    reduce(or_, (Q(measure=code, source=src) for code, src in JUDGED_ON.items()))
                )
            rows = rows.values_list(
                "service_id",
                "period_start",
                "measure",
                "source",
                "numerator",
                "denominator",
                detail,
            )
            for service_id, start, measure, source, numerator, denominator, found in rows:
                if isinstance(found, str):
                    found = json.loads(found)
                self.cells[(service_id, start, measure, source)] = Cell(
                    numerator, denominator, found or {}
                )

    @property
    def updating_note(self) -> str:
        """What the page says while some of its figures are being updated, or nothing."""
        if not self.updating:
            return ""
        names = {s.pk: s.name for s in self.services}
        which = [f"{names[pk]}, {month_label(start)}" for pk, start in self.updating]
        if len(which) == 1:
            return (
                f"Figures being updated: those for {which[0]} do not count an audit submitted "
                "moments ago yet. Reload the page in a minute to see them with it."
            )
        shown = "; ".join(which[:5]) + ("; and more" if len(which) > 5 else "")
        return (
            f"Figures being updated: those for {len(which)} service-months ({shown}) do not "
            "count audits submitted moments ago yet. Reload the page in a minute to see them "
            "with them."
        )

    def result(self, service_id: int, month: date, measure: str, source: str | None = None):
        return self.cells.get((service_id, month, measure, source or JUDGED_ON[measure]))

    def figure(
        self, service_id: int, month: date, measure: str, source: str | None = None
    ) -> Figure:
        result = self.result(service_id, month, measure, source)
        figure = Figure(measure, month, thresholds=self.book.in_force(measure, month))
        if result is not None:
            figure.numerator, figure.denominator = result.numerator, result.denominator
            figure.detail = result.detail
        return figure

    def combined(self, service_ids: list[int], months: list[Period], measure: str) -> Figure:
        """Numerators and denominators added across services and months, rated by the thresholds
        in force in the last month."""
        figure = Figure(
            measure, months[-1].start, thresholds=self.book.in_force(measure, months[-1].start)
        )
        for service_id in service_ids:
            for month in months:
                result = self.result(service_id, month.start, measure)
                if result is not None:
                    figure.numerator += result.numerator
                    figure.denominator += result.denominator
        return figure

    def trend(self, service_id: int, measure: str, source: str | None = None) -> list[Figure]:
        return [self.figure(service_id, m.start, measure, source) for m in self.months]


def divergence_tolerance(organisation: Organisation):
    """Percentage points by which ECM and audit completion may differ before the unreliable
    reports trigger fires: the organisation's setting, else the trigger's default."""
    # The trigger, found by its code in the kernel's registry: the triggers read figures through
    # this module, so it does not import them.
    from caregov.engine import thresholds_for
    from caregov.registry import triggers

    values, _ = thresholds_for(organisation, triggers.get(UNRELIABLE_REPORTS))
    return values["divergence_points"]


def open_assurance_escalations(*, organisation: Organisation, services: list[Service]):
    return (
        Escalation.objects.filter(
            organisation=organisation,
            trigger__startswith=ASSURANCE_TRIGGERS_PREFIX,
            service__in=services,
        )
        .exclude(status=Escalation.Status.RESOLVED)
        .select_related("service")
        .order_by("raised_at")
    )


def _count_by_service(queryset) -> dict[int, int]:
    return dict(
        queryset.values("service_id").annotate(n=Count("pk")).values_list("service_id", "n")
    )


def reliance_snapshot(*, organisation: Organisation, quarter: Period) -> dict:
    """The evidence the board sees for a quarter, as plain JSON to freeze with its decision."""
    services = list(
        Service.objects.filter(organisation=organisation, is_active=True).order_by("name")
    )
    months = months_back(period_containing(Cadence.MONTHLY, quarter.end), 3)
    # Frozen with the board's decision: never a month still being updated.
    table = FigureTable(organisation, services, months, fresh=True)
    # Counts and open escalations for every service at once, not three queries a service.
    in_quarter = {"period_start__gte": quarter.start, "period_start__lte": quarter.end}
    audits = _count_by_service(
        Audit.objects.filter(organisation=organisation, status=Audit.Status.SUBMITTED, **in_quarter)
    )
    pairs = _count_by_service(
        AuditAgreement.objects.filter(organisation=organisation, **in_quarter)
    )
    escalations = defaultdict(list)
    for e in open_assurance_escalations(organisation=organisation, services=services):
        escalations[e.service_id].append(
            {
                "id": e.pk,
                "title": e.title,
                "trigger": e.trigger,
                "raised": timezone.localdate(e.raised_at).isoformat(),
            }
        )
    rows = [
        {
            "id": service.pk,
            "name": service.name,
            "figures": {
                code: table.combined([service.pk], months, code).as_dict() for code in MEASURES
            },
            "audits": audits.get(service.pk, 0),
            "audit_pairs": pairs.get(service.pk, 0),
            "open_escalations": escalations[service.pk],
        }
        for service in services
    ]
    overall = {
        code: table.combined([s.pk for s in services], months, code).as_dict() for code in MEASURES
    }
    return {
        "quarter": quarter.label,
        "quarter_start": quarter.start.isoformat(),
        "months": [m.label for m in months],
        "measures": {code: m.name for code, m in MEASURES.items()},
        "services": rows,
        "overall": overall,
    }


def reliance_decision(*, organisation: Organisation, quarter: Period) -> RelianceDecision | None:
    """The board's reliance decision for a quarter, with its per-service verdicts, if taken."""
    return (
        RelianceDecision.objects.filter(organisation=organisation, quarter_start=quarter.start)
        .select_related("decided_by")
        .prefetch_related("services__service")
        .first()
    )


def red_figures(
    *, organisation: Organisation, services: list[Service], month: Period
) -> dict[int, list[Figure]]:
    """Each service's measures rated red in a month, for other apps' triggers to read."""
    table = FigureTable(organisation, services, [month], fresh=True)
    red: dict[int, list[Figure]] = {}
    for service in services:
        figures = [table.figure(service.pk, month.start, code) for code in MEASURES]
        found = [f for f in figures if f.rating == Rating.RED]
        if found:
            red[service.pk] = found
    return red


def evidence_received(*, services: list[Service], months: list[Period], after) -> dict:
    """What the figures for these months were computed from: the audits submitted and ECM
    exports imported for them, the last of each, and how many arrived after `after` (a quarter's
    end), so a pack can say its figures include records sent in after the months they cover."""
    starts = [m.start for m in months]
    audits = Audit.objects.filter(
        service__in=services, period_start__in=starts, status=Audit.Status.SUBMITTED
    ).aggregate(
        count=Count("pk"),
        after=Count("pk", filter=Q(submitted_at__gte=after)),
    )
    last_audit = (
        Audit.objects.filter(
            service__in=services, period_start__in=starts, status=Audit.Status.SUBMITTED
        )
        .order_by("-submitted_at")
        .values_list("submitted_at", flat=True)
        .first()
    )
    imports = EcmImport.objects.filter(
        service__in=services, period_start__in=starts, status=EcmImport.Status.IMPORTED
    ).aggregate(count=Count("pk"), after=Count("pk", filter=Q(finished_at__gte=after)))
    last_import = (
        EcmImport.objects.filter(
            service__in=services, period_start__in=starts, status=EcmImport.Status.IMPORTED
        )
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return {
        "audits": audits["count"],
        "audits_after": audits["after"],
        "last_audit": last_audit,
        "imports": imports["count"],
        "imports_after": imports["after"],
        "last_import": last_import,
    }


def gap_causes_recorded(cycle) -> list[RecordedEntry]:
    """The causes a registered manager recorded in a monthly trend review, in measure order."""
    order = list(MEASURES)
    causes = sorted(
        GapCause.objects.filter(review_cycle=cycle).select_related("recorded_by"),
        key=lambda g: order.index(g.measure) if g.measure in order else len(order),
    )
    return [
        RecordedEntry(
            subject=MEASURES[g.measure].name if g.measure in MEASURES else g.measure,
            judgement=g.get_cause_display(),
            note=g.note,
            recorded_by=str(g.recorded_by),
            recorded_at=g.recorded_at,
        )
        for g in causes
    ]
