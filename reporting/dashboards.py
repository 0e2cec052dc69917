"""Reads for the dashboards: for a set of services and months, the figures from the summary the
assurance app keeps, and escalations, actions, reviews and workflow status counted in grouped
queries. The number of queries is fixed: it does not grow with the services or months shown.

Kernel records are read through the kernel's selectors, so they are already scoped to what the
person may see; here they are narrowed to the services the dashboard shows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from assurance.measures import MEASURES, Measure, MeasureCode, Rating, Thresholds, percentage
from assurance.selectors import JUDGED_ON, Figure, FigureTable
from caregov import selectors as kernel
from caregov.cadence import Period
from caregov.models import Action, Escalation, Organisation, ReviewCycle, Service, User
from caregov.registry import triggers
from workflows.selectors import workflow_grid

#: Services drawn as lines of their own in a trend chart. With more, a chart shows them
#: combined, with the range from the lowest to the highest: forty lines would be unreadable.
TREND_LINES = 6
#: Open escalations by how long they have waited: label, from days, to days (exclusive).
AGES: list[tuple[str, int, int | None]] = [
    ("Under 7 days", 0, 7),
    ("7 to 27 days", 7, 28),
    ("28 days or more", 28, None),
]
#: The overview counts reviews as due when overdue or due within this many days. What needs a
#: person's own decision (the manager's dashboard and My work) is `caregov.selectors.needs_attention`.
REVIEWS_AHEAD_DAYS = 14
#: Escalations, actions and reviews listed by name; the counts cover them all.
LISTED = 10


# Figures ---------------------------------------------------------------------------------------


@dataclass
class GridCell:
    """A measure's figure for a month, and the month before, to say which way it moved."""

    figure: Figure
    previous: Figure

    @property
    def change(self) -> Decimal | None:
        if self.figure.value is None or self.previous.value is None:
            return None
        return self.figure.value - self.previous.value

    @cached_property
    def change_words(self) -> str:
        """Like "Up 2.1 points": the change from the month before, which the page names."""
        change = self.change
        if change is None:
            return ""
        if change == 0:
            return "No change"
        return f"{'Up' if change > 0 else 'Down'} {abs(change)} points"


@dataclass
class GridRow:
    service: Service | None
    cells: list[GridCell]

    @property
    def red(self) -> int:
        return sum(1 for cell in self.cells if cell.figure.rating == Rating.RED)


def figure_grid(
    table: FigureTable, services: list[Service], codes: list[str], month: Period
) -> tuple[list[GridRow], GridRow]:
    """A row a service, a cell a measure, for the month; and all the services combined."""
    before = month.previous()
    rows = [
        GridRow(
            service,
            [
                GridCell(
                    table.figure(service.pk, month.start, code),
                    table.figure(service.pk, before.start, code),
                )
                for code in codes
            ],
        )
        for service in services
    ]
    ids = [s.pk for s in services]
    total = GridRow(
        None,
        [
            GridCell(table.combined(ids, [month], code), table.combined(ids, [before], code))
            for code in codes
        ],
    )
    return rows, total


@dataclass
class Series:
    name: str
    figures: list[Figure]


@dataclass
class Extreme:
    """The service with the lowest or highest figure in a month."""

    figure: Figure
    service: Service


@dataclass
class MeasureTrend:
    """A measure month by month against the thresholds in force each month: a line a service,
    or, for many services, all of them combined with the lowest and highest each month."""

    measure: Measure
    months: list[Period]
    series: list[Series]
    thresholds: list[Thresholds]
    lowest: list[Extreme | None] = field(default_factory=list)
    highest: list[Extreme | None] = field(default_factory=list)

    @property
    def rows(self) -> list[dict]:
        """The chart's numbers, newest month first: the lowest and highest as words, like
        "62.0% at Beech Court"."""
        rows = []
        for i, month in enumerate(self.months):
            rows.append(
                {
                    "month": month.label,
                    "figures": [s.figures[i] for s in self.series],
                    "thresholds": _threshold_words(self.thresholds[i]),
                    "lowest": _extreme_words(self.lowest[i]) if self.lowest else "",
                    "highest": _extreme_words(self.highest[i]) if self.highest else "",
                }
            )
        return rows[::-1]


def _extreme_words(extreme: Extreme | None) -> str:
    return f"{extreme.figure.value}% at {extreme.service.name}" if extreme else "–"


def _threshold_words(thresholds: Thresholds) -> str:
    return (
        f"Green from {thresholds.green_from.normalize():f}%, "
        f"amber from {thresholds.amber_from.normalize():f}%"
    )


def measure_trends(
    table: FigureTable, services: list[Service], codes: list[str]
) -> list[MeasureTrend]:
    months = table.months
    trends = []
    by_month = _judged_by_measure_and_month(table, services) if len(services) > TREND_LINES else {}
    for code in codes:
        thresholds = [table.book.in_force(code, m.start) for m in months]
        if len(services) <= TREND_LINES:
            series = [Series(s.name, table.trend(s.pk, code)) for s in services]
            trends.append(MeasureTrend(MEASURES[code], months, series, thresholds))
            continue
        combined, lowest, highest = [], [], []
        for month, in_force in zip(months, thresholds, strict=True):
            # The services' sum, and the lowest and highest share: only those three become
            # rated figures.
            numerator = denominator = 0
            low = high = None
            for service, cell in by_month.get((code, month.start), ()):
                numerator += cell.numerator
                denominator += cell.denominator
                if cell.denominator:
                    share = (cell.numerator / cell.denominator, service, cell)
                    low = share if low is None or share[0] < low[0] else low
                    high = share if high is None or share[0] > high[0] else high
            combined.append(Figure(code, month.start, numerator, denominator, in_force))
            lowest.append(_extreme(code, month, in_force, low))
            highest.append(_extreme(code, month, in_force, high))
        series = [Series(f"All {len(services)} services combined", combined)]
        trends.append(MeasureTrend(MEASURES[code], months, series, thresholds, lowest, highest))
    return trends


def _judged_by_measure_and_month(table: FigureTable, services: list[Service]) -> dict:
    """Each service's judged figures, grouped by measure and month in one pass over the table."""
    by_id = {s.pk: s for s in services}
    groups: dict[tuple[str, date], list] = defaultdict(list)
    for (service_id, start, measure, source), cell in table.cells.items():
        if source == JUDGED_ON[measure] and service_id in by_id:
            groups[(measure, start)].append((by_id[service_id], cell))
    return groups


def _extreme(code: str, month: Period, in_force: Thresholds, found) -> Extreme | None:
    if found is None:
        return None
    _, service, cell = found
    return Extreme(Figure(code, month.start, cell.numerator, cell.denominator, in_force), service)


@dataclass
class Reliability:
    """Whether a service's ECM dashboard can be relied on in a month: how often the ECM and the
    auditors agree on the same records, and how far their completion rates are apart. Shares
    and points are kept as the text the summary stores them in."""

    service: Service
    figure: Figure
    ecm_completion: str | None
    audit_completion: str | None
    divergence: str | None
    beyond_tolerance: bool
    not_in_export: int

    @property
    def counted(self) -> str:
        return f"{self.figure.numerator} of {self.figure.denominator} records"


def reliability(
    table: FigureTable, services: list[Service], month: Period, tolerance
) -> list[Reliability]:
    rows = []
    for service in services:
        figure = table.figure(service.pk, month.start, MeasureCode.DASHBOARD_RELIABILITY)
        detail = figure.detail
        divergence = detail.get("divergence")
        rows.append(
            Reliability(
                service,
                figure,
                detail.get("ecm_completion"),
                detail.get("audit_completion"),
                divergence,
                divergence is not None and Decimal(divergence) >= Decimal(str(tolerance)),
                detail.get("not_in_export", 0),
            )
        )
    return rows


def completion_compared(
    table: FigureTable, services: list[Service]
) -> tuple[list[Decimal | None], list[Decimal | None]]:
    """Each month, completeness of the audited records as the ECM reports it and as the auditors
    found it, across the services: counts added up, then turned into a share."""
    ecm_shares, audit_shares = [], []
    for month in table.months:
        matched = ecm = audit = 0
        for service in services:
            result = table.result(service.pk, month.start, MeasureCode.DASHBOARD_RELIABILITY)
            detail = result.detail if result is not None else {}
            if detail.get("ecm_completion") is None or detail.get("audit_completion") is None:
                continue
            matched += result.denominator
            # The summary keeps shares to one decimal place: this gives back the counts.
            ecm += round(Decimal(detail["ecm_completion"]) * result.denominator / 100)
            audit += round(Decimal(detail["audit_completion"]) * result.denominator / 100)
        ecm_shares.append(percentage(ecm, matched))
        audit_shares.append(percentage(audit, matched))
    return ecm_shares, audit_shares


# Escalations, actions and reviews ---------------------------------------------------------------


def _shown(queryset: QuerySet, services: list[Service], organisation_wide: bool) -> QuerySet:
    """Rows of the services shown, and the organisation's own rows when asked for."""
    where = Q(service__in=[s.pk for s in services])
    if organisation_wide:
        where |= Q(service__isnull=True)
    return queryset.filter(where)


def _listed(queryset: QuerySet, organisation_wide: bool, *related: str) -> QuerySet:
    """Only the related records a list shows, joined: the selectors join more, and planning
    each join costs PostgreSQL more than running these small queries. The organisation names
    the place of an organisation-wide row."""
    joins = ("service", *related, *(("organisation",) if organisation_wide else ()))
    return queryset.select_related(None).select_related(*joins)


@dataclass
class EscalationCounts:
    """Open or acknowledged escalations, by how long they have waited (one count per AGES)."""

    by_age: list[int] = field(default_factory=lambda: [0] * len(AGES))
    high: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_age)

    @property
    def oldest(self) -> int:
        return self.by_age[-1]

    def add(self, other: EscalationCounts) -> None:
        self.by_age = [a + b for a, b in zip(self.by_age, other.by_age, strict=True)]
        self.high += other.high


@dataclass
class TriggerRow:
    code: str
    name: str
    counts: EscalationCounts


@dataclass
class OpenEscalations:
    by_service: dict[int | None, EscalationCounts]
    by_trigger: list[TriggerRow]

    @property
    def total(self) -> EscalationCounts:
        total = EscalationCounts()
        for row in self.by_trigger:
            total.add(row.counts)
        return total


def open_escalations(
    *, user: User, services: list[Service], organisation_wide: bool = False
) -> OpenEscalations:
    """Unresolved escalations counted by service, trigger and age, in one grouped query."""
    now = timezone.now()
    ages = {}
    for i, (_, low, high) in enumerate(AGES):
        waited = Q(raised_at__lte=now - timedelta(days=low))
        if high is not None:
            waited &= Q(raised_at__gt=now - timedelta(days=high))
        ages[f"age_{i}"] = Count("pk", filter=waited)
    rows = (
        _shown(kernel.escalation_list(user=user), services, organisation_wide)
        .exclude(status=Escalation.Status.RESOLVED)
        .order_by()
        .values("service_id", "trigger")
        .annotate(**ages, high=Count("pk", filter=Q(severity=Escalation.Severity.HIGH)))
    )
    by_service: dict[int | None, EscalationCounts] = defaultdict(EscalationCounts)
    by_trigger: dict[str, EscalationCounts] = defaultdict(EscalationCounts)
    for row in rows:
        counts = EscalationCounts([row[f"age_{i}"] for i in range(len(AGES))], row["high"])
        by_service[row["service_id"]].add(counts)
        by_trigger[row["trigger"]].add(counts)
    trigger_rows = []
    for code, counts in by_trigger.items():
        definition = triggers.get(code)
        trigger_rows.append(TriggerRow(code, definition.name if definition else code, counts))
    # Those waiting longest first.
    trigger_rows.sort(key=lambda r: (-r.counts.oldest, -r.counts.total, r.name))
    return OpenEscalations(dict(by_service), trigger_rows)


def oldest_escalations(
    *, user: User, services: list[Service], organisation_wide: bool = False
) -> list[Escalation]:
    found = _shown(kernel.escalation_list(user=user), services, organisation_wide)
    return list(
        _listed(found, organisation_wide)
        .exclude(status=Escalation.Status.RESOLVED)
        .order_by("raised_at", "pk")[:LISTED]
    )


def action_counts(
    *, user: User, services: list[Service], organisation_wide: bool = False
) -> dict[int | None, dict[str, int]]:
    """Per service: open actions, overdue ones, and done ones whose effectiveness check is due."""
    today = timezone.localdate()
    is_open = Q(status=Action.Status.OPEN)
    rows = (
        _shown(kernel.action_list(user=user), services, organisation_wide)
        .order_by()
        .values("service_id")
        .annotate(
            open=Count("pk", filter=is_open),
            overdue=Count("pk", filter=is_open & Q(due_on__lt=today)),
            check_due=Count(
                "pk",
                filter=Q(
                    status=Action.Status.DONE, effectiveness="", effectiveness_due_on__lte=today
                ),
            ),
        )
    )
    return {row.pop("service_id"): row for row in rows}


def overdue_actions(
    *, user: User, services: list[Service], organisation_wide: bool = False
) -> list[Action]:
    """Open actions past their due date, most overdue first."""
    found = _shown(kernel.action_list(user=user), services, organisation_wide)
    return list(
        _listed(found, organisation_wide, "owner")
        .filter(status=Action.Status.OPEN, due_on__lt=timezone.localdate())
        .order_by("due_on", "pk")[:LISTED]
    )


def _reviews_due(user: User, services: list[Service]) -> QuerySet[ReviewCycle]:
    horizon = timezone.localdate() + timedelta(days=REVIEWS_AHEAD_DAYS)
    return (
        _shown(kernel.review_list(user=user), services, organisation_wide=False)
        .exclude(status=ReviewCycle.Status.SIGNED_OFF)
        .filter(due_on__lte=horizon)
    )


def review_counts(*, user: User, services: list[Service]) -> dict[int, dict[str, int]]:
    """Per service: reviews not signed off that are overdue or due soon, and the overdue ones."""
    rows = (
        _reviews_due(user, services)
        .order_by()
        .values("service_id")
        .annotate(due=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=timezone.localdate())))
    )
    return {row.pop("service_id"): row for row in rows}


# Workflow governance ----------------------------------------------------------------------------


@dataclass
class WorkflowStatus:
    """Where a service's core workflow maps stand, and its open practice gaps."""

    service: Service
    approved: int
    under_test: int
    drafts: int
    not_adopted: int
    open_gaps: int
    high_risk_gaps: int


def workflow_status(*, organisation: Organisation, services: list[Service]) -> list[WorkflowStatus]:
    """Services that have workflow maps or open gaps, in a fixed number of queries."""
    statuses = []
    for row in workflow_grid(organisation=organisation, services=services)[1:]:
        maps = [state for state in row.cells if state is not None]
        if not maps and not row.open_gaps:
            continue
        statuses.append(
            WorkflowStatus(
                service=row.service,
                approved=sum(1 for s in maps if s.in_use),
                under_test=sum(1 for s in maps if s.in_progress_status == "under_test"),
                drafts=sum(1 for s in maps if s.in_progress_status == "draft"),
                not_adopted=len(row.cells) - len(maps),
                open_gaps=row.open_gaps,
                high_risk_gaps=row.high_risk_gaps,
            )
        )
    return statuses


# The overview's services side by side ----------------------------------------------------------


@dataclass
class Attention:
    """What needs a leader's attention at a service (or, with no service, the organisation's
    own escalations and actions)."""

    service: Service | None
    red: int
    escalations: EscalationCounts
    overdue_actions: int
    overdue_reviews: int
    open_gaps: int
    high_risk_gaps: int


def attention(
    grid: list[GridRow],
    escalations: OpenEscalations,
    actions: dict[int | None, dict[str, int]],
    reviews: dict[int, dict[str, int]],
    workflows: list[WorkflowStatus],
) -> list[Attention]:
    """A row a service, those with the most red measures, longest-waiting escalations and
    overdue actions first."""
    gaps = {w.service.pk: w for w in workflows}
    rows = []
    for row in grid:
        pk = row.service.pk
        rows.append(
            Attention(
                service=row.service,
                red=row.red,
                escalations=escalations.by_service.get(pk, EscalationCounts()),
                overdue_actions=actions.get(pk, {}).get("overdue", 0),
                overdue_reviews=reviews.get(pk, {}).get("overdue", 0),
                open_gaps=gaps[pk].open_gaps if pk in gaps else 0,
                high_risk_gaps=gaps[pk].high_risk_gaps if pk in gaps else 0,
            )
        )
    rows.sort(key=lambda a: (-a.red, -a.escalations.oldest, -a.overdue_actions, a.service.name))
    if None in escalations.by_service or None in actions:
        rows.append(
            Attention(
                service=None,
                red=0,
                escalations=escalations.by_service.get(None, EscalationCounts()),
                overdue_actions=actions.get(None, {}).get("overdue", 0),
                overdue_reviews=0,
                open_gaps=0,
                high_risk_gaps=0,
            )
        )
    return rows
