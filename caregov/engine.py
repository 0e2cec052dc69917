"""The scheduler's work: open due review cycles, evaluate triggers, escalate what is overdue.

Safe to run twice for the same moment, and from two processes at once: cycles and escalations are
unique per (kind or trigger, scope, period), and a clash with a concurrent run is taken as "already
done".
"""

from __future__ import annotations

import fcntl
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from caregov.cadence import LONDON, Period, local_date, period_at
from caregov.history import save_with_reason
from caregov.models import (
    Escalation,
    Organisation,
    ReviewCycle,
    Service,
    TriggerSetting,
)
from caregov.registry import (
    Finding,
    Scope,
    ScopeKind,
    Trigger,
    review_kinds,
    scheduled_jobs,
    triggers,
)
from caregov.reminders import remind
from caregov.roles import ESCALATION_CHAIN
from caregov.selectors import owner_for

log = logging.getLogger("caregov.engine")
#: A fixed key for the PostgreSQL advisory lock that lets one scheduler run at a time.
SCHEDULER_LOCK_KEY = 7_351_002


@dataclass
class RunSummary:
    at: datetime
    cycles_opened: list[int] = field(default_factory=list)
    escalations_raised: list[int] = field(default_factory=list)
    escalations_raised_further: list[int] = field(default_factory=list)
    escalations_resolved: list[int] = field(default_factory=list)
    #: What the apps' scheduled jobs did, in their own words.
    jobs: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        done = "".join(f"; {line}" for line in self.jobs)
        return (
            f"{self.at.astimezone(LONDON):%d %b %Y %H:%M %Z}: {len(self.cycles_opened)} review cycles opened, "
            f"{len(self.escalations_raised)} escalations raised, "
            f"{len(self.escalations_raised_further)} escalated further, "
            f"{len(self.escalations_resolved)} resolved automatically{done}"
        )


def phase_on(service: Service, day: date) -> str:
    """The service's implementation phase on a given day, read from its history when in the past.
    Before its first recorded phase a service was in that first phase, not in today's."""
    if day >= service.phase_changed_on:
        return service.phase
    end_of_day = datetime.combine(day, time.max, tzinfo=LONDON)
    history = service.history.order_by("history_date", "history_id")
    record = history.filter(history_date__lte=end_of_day).last() or history.first()
    return record.phase if record else service.phase


def scope_started_on(scope: Scope) -> date:
    """The first London day the scope was on caregov: nothing before it is reviewed or judged."""
    started = scope.service.created_at if scope.service else scope.organisation.created_at
    return local_date(started)


def _scopes(
    organisation: Organisation, services: list[Service], scope_kind: str, *, on: date
) -> list[Scope]:
    """The scopes of a kind that existed on the day: a service added later is not there yet."""
    scopes = []
    if scope_kind in (ScopeKind.SERVICE, ScopeKind.EVERY):
        scopes += [Scope(organisation, s) for s in services]
    if scope_kind in (ScopeKind.ORGANISATION, ScopeKind.EVERY):
        scopes.append(Scope(organisation, None))
    return [scope for scope in scopes if scope_started_on(scope) <= on]


def open_due_cycles(*, at: datetime, summary: RunSummary | None = None) -> list[ReviewCycle]:
    summary = summary or RunSummary(at)
    today = local_date(at)
    opened = []
    for organisation in Organisation.objects.all():
        services = list(Service.objects.filter(organisation=organisation, is_active=True))
        wanted: list[tuple] = []
        for kind in review_kinds.all():
            for scope in _scopes(organisation, services, kind.scope, on=today):
                phase = phase_on(scope.service, today) if scope.service else None
                cadence = kind.cadence_for(phase)
                if cadence is None:
                    continue
                period = period_at(cadence, at)
                if kind.opens_when is not None and not kind.opens_when(scope, period):
                    continue
                wanted.append((kind, scope, period))
        if not wanted:
            continue
        existing = set(
            ReviewCycle.objects.filter(
                organisation=organisation, period_start__in={p.start for _, _, p in wanted}
            ).values_list("kind", "service_id", "cadence", "period_start")
        )
        for kind, scope, period in wanted:
            service_id = scope.service.pk if scope.service else None
            if (kind.code, service_id, period.cadence, period.start) in existing:
                continue
            cycle = _open_cycle(kind, organisation, scope, period, at)
            if cycle is not None:
                opened.append(cycle)
                summary.cycles_opened.append(cycle.pk)
    return opened


def _open_cycle(
    kind, organisation, scope: Scope, period: Period, at: datetime
) -> ReviewCycle | None:
    cycle = ReviewCycle(
        kind=kind.code,
        organisation=organisation,
        service=scope.service,
        cadence=period.cadence,
        period_start=period.start,
        period_end=period.end,
        body=kind.body,
        due_on=period.end + timedelta(days=kind.due_days),
        opened_at=at,
    )
    cycle._history_date = at
    try:
        with transaction.atomic():
            return save_with_reason(cycle, actor=None, reason="caregov.review.opened")
    except IntegrityError:
        return None


def thresholds_for(organisation: Organisation, trigger: Trigger) -> tuple[dict, bool]:
    setting = TriggerSetting.objects.filter(organisation=organisation, trigger=trigger.code).first()
    return _thresholds(trigger, setting)


def _thresholds(trigger: Trigger, setting: TriggerSetting | None) -> tuple[dict, bool]:
    values = trigger.defaults()
    if setting is None:
        return values, True
    values.update({k: v for k, v in setting.thresholds.items() if k in values})
    return values, setting.enabled


def _key(service_id, cadence, period_start, subject) -> tuple:
    return (service_id, cadence, period_start, subject)


#: Severities from lowest to highest; like the holder, an escalation's severity only rises.
SEVERITY_ORDER = [Escalation.Severity.LOW, Escalation.Severity.MEDIUM, Escalation.Severity.HIGH]


def _rank(body: str) -> int:
    """How far up the escalation chain a body sits; bodies off the chain sit with the first."""
    return ESCALATION_CHAIN.index(body) if body in ESCALATION_CHAIN else 0


@dataclass
class _Known:
    """One trigger's escalations in one organisation, as a run for a moment may treat them."""

    #: Open or acknowledged, raised by the moment and unchanged since: the run may move these.
    live: dict[tuple, Escalation]
    #: Raised after the moment, or changed after it (by a person or a later run): a run for the
    #: moment leaves them exactly as they are, and raises nothing in their place.
    later: set[tuple]


def _known_at(organisation: Organisation, trigger: Trigger, at: datetime) -> _Known:
    changed_later = set(
        Escalation.history.filter(
            organisation_id=organisation.pk, trigger=trigger.code, history_date__gt=at
        ).values_list("id", flat=True)
    )
    live: dict[tuple, Escalation] = {}
    later: set[tuple] = set()
    rows = Escalation.objects.filter(organisation=organisation, trigger=trigger.code).filter(
        Q(raised_at__gt=at) | Q(pk__in=changed_later) | ~Q(status=Escalation.Status.RESOLVED)
    )
    for escalation in rows:
        key = _key(
            escalation.service_id, escalation.cadence, escalation.period_start, escalation.subject
        )
        if escalation.raised_at > at or escalation.pk in changed_later:
            later.add(key)
        else:
            live[key] = escalation
    return _Known(live, later)


def _upsert(
    trigger: Trigger,
    scope: Scope,
    period: Period,
    finding: Finding,
    at: datetime,
    summary: RunSummary,
    known: _Known,
) -> tuple:
    finding_period = finding.period or period
    body = finding.escalate_to or trigger.default_body
    service_id = scope.service.pk if scope.service else None
    key = _key(service_id, finding_period.cadence, finding_period.start, finding.subject)
    if key in known.later:
        return key
    existing = known.live.get(key)
    if existing is None:
        escalation = Escalation(
            trigger=trigger.code,
            organisation=scope.organisation,
            service=scope.service,
            cadence=finding_period.cadence,
            period_start=finding_period.start,
            subject=finding.subject,
            period_end=finding_period.end,
            title=finding.title[:250],
            severity=finding.severity,
            escalated_to=body,
            owner=owner_for(scope.organisation, scope.service, body),
            evidence=finding.evidence(),
            raised_at=at,
        )
        escalation._history_date = at
        try:
            with transaction.atomic():
                save_with_reason(escalation, actor=None, reason=f"{trigger.code}.raised")
        except IntegrityError:
            return key  # a concurrent run raised it first
        known.live[key] = escalation
        summary.escalations_raised.append(escalation.pk)
        return key
    if existing.status == Escalation.Status.RESOLVED:
        return key
    # An escalation only ever moves up: once with the board it stays with the board, whatever
    # a later reading of the figures (or a run for an earlier moment) would say.
    if _rank(body) <= _rank(existing.escalated_to):
        body = existing.escalated_to
    severity = max(finding.severity, existing.severity, key=SEVERITY_ORDER.index)
    raised_further = existing.escalated_to != body
    # Figures such as "days overdue" grow every day; the escalation records them when it is
    # raised and each time it moves up or changes severity, not on every run.
    if not raised_further and existing.severity == severity:
        return key
    existing.title = finding.title[:250]
    existing.severity = severity
    existing.evidence = finding.evidence()
    if raised_further:
        existing.escalated_to = body
        existing.owner = owner_for(scope.organisation, scope.service, body) or existing.owner
        existing.status = Escalation.Status.OPEN
        summary.escalations_raised_further.append(existing.pk)
    existing._history_date = at
    reason = (
        "caregov.escalation.raised_further"
        if raised_further
        else "caregov.escalation.severity_changed"
    )
    save_with_reason(existing, actor=None, reason=reason)
    return key


def evaluate_triggers(
    *, at: datetime, summary: RunSummary | None = None, codes: list[str] | None = None
) -> RunSummary:
    """Evaluate every trigger, or only those in `codes` (an app asking for one to run at once)."""
    summary = summary or RunSummary(at)
    today = local_date(at)
    for organisation in Organisation.objects.all():
        services = list(
            Service.objects.filter(organisation=organisation, is_active=True).select_related(
                "registered_manager"
            )
        )
        overrides = {s.trigger: s for s in TriggerSetting.objects.filter(organisation=organisation)}
        for trigger in triggers.all():
            if codes is not None and trigger.code not in codes:
                continue
            thresholds, enabled = _thresholds(trigger, overrides.get(trigger.code))
            if not enabled:
                continue
            period = period_at(trigger.cadence, at)
            scopes = _scopes(organisation, services, trigger.scope, on=today)
            if not scopes:
                continue
            # Every escalation of this trigger that this run may change, fetched once per run.
            known = _known_at(organisation, trigger, at)
            # Only the scopes evaluated now may be cleared: a closed service's escalations stay
            # as they are, not "resolved" because nobody looked.
            evaluated = {scope.service.pk if scope.service else None for scope in scopes}
            clearable = {key: e for key, e in known.live.items() if e.service_id in evaluated}
            seen: set[tuple] = set()
            for scope, findings in trigger.evaluate_all(scopes, period, thresholds, at):
                for finding in findings:
                    seen.add(_upsert(trigger, scope, period, finding, at, summary, known))
            if trigger.auto_resolve:
                for key, escalation in clearable.items():
                    if key not in seen:
                        _clear(escalation, at, summary)
    return summary


def _clear(escalation: Escalation, at: datetime, summary: RunSummary) -> None:
    escalation.status = Escalation.Status.RESOLVED
    escalation.resolved_at = at
    escalation.resolution_note = (
        "Resolved automatically: the condition that raised it no longer holds."
    )
    escalation._history_date = at
    save_with_reason(escalation, actor=None, reason="caregov.escalation.cleared")
    summary.escalations_resolved.append(escalation.pk)


@contextmanager
def scheduler_lock():
    """Let one scheduler run at a time: a PostgreSQL advisory lock, or a file lock elsewhere.

    Uniqueness constraints already stop a second run from opening a period twice; the lock also
    stops two runs from moving the same escalation up the chain twice.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SCHEDULER_LOCK_KEY])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SCHEDULER_LOCK_KEY])
        return
    lock_path = Path(settings.VAR_DIR) / "scheduler.lock"
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_scheduler(*, at: datetime) -> RunSummary:
    """Open due cycles, evaluate triggers, escalate what is overdue. Idempotent for a moment."""
    summary = RunSummary(at)
    with scheduler_lock():
        open_due_cycles(at=at, summary=summary)
        evaluate_triggers(at=at, summary=summary)
        for job in scheduled_jobs.all():
            said = job(at=at)
            if said:
                summary.jobs.append(said)
        # Last, so owners hear about the cycles and escalations this run made.
        said = remind(at=at)
        if said:
            summary.jobs.append(said)
    log.info("%s", summary)
    return summary
