"""Writes for packs: ask for a build, retry it, rebuild from a snapshot, send back builds a
worker left, record a download, and the quarter-end schedule. Every kind is built the same way,
by the `reporting.build_pack` task (reporting/building.py), which these enqueue once the asking
transaction has committed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from caregov.cadence import Period, local_date, period_at
from caregov.history import save_with_reason
from caregov.models import Organisation, User
from reporting.building import (
    STALE_AFTER,
    PackRefused,
    fail_lost,
    is_stale,
    pack_kind,
    set_progress,
)
from reporting.models import Pack, PackDownload
from reporting.packs import pack_kinds
from reporting.tasks import build_pack

ACTIVE = (Pack.Status.QUEUED, Pack.Status.BUILDING)
#: The sweeper acts for the scheduler's runs for now, not for replays or simulated years.
SWEEP_WITHIN = timedelta(hours=1)


def pack_request(
    *,
    actor: User | None,
    organisation: Organisation,
    kind: str,
    period: Period,
    scheduled: bool = False,
    source: Pack | None = None,
    at: datetime | None = None,
    enqueue: bool = True,
) -> tuple[Pack, bool]:
    """Ask for a pack to be built: (pack, created). A request while one is already waiting or
    building for the same pack joins it rather than starting a second. With `enqueue` False the
    caller builds it (the command line) instead of the worker."""
    at = at or timezone.now()
    spec = pack_kind(kind)
    if period.cadence != spec.cadence:
        raise PackRefused(f"A {spec.name.lower()} covers a {spec.cadence} period.")
    if period.start > local_date(at):
        raise PackRefused(f"{period.label} has not started yet.")
    existing = _active(organisation, kind, period)
    if existing is not None:
        return existing, False
    pack = Pack(
        organisation=organisation,
        kind=kind,
        period_start=period.start,
        period_end=period.end,
        scheduled=scheduled,
        requested_by=actor,
        requested_at=at,
        source=source,
    )
    if source is not None:
        pack.snapshot, pack.snapshot_sha256 = source.snapshot, source.snapshot_sha256
    try:
        with transaction.atomic():
            save_with_reason(pack, actor=actor, reason="reporting.pack.requested")
    except IntegrityError:
        existing = _active(organisation, kind, period)
        if existing is None:
            raise
        return existing, False
    set_progress(pack, 0, "Waiting for a worker")
    if enqueue:
        _enqueue(pack)
    return pack, True


def _active(organisation, kind: str, period: Period) -> Pack | None:
    return Pack.objects.filter(
        organisation=organisation, kind=kind, period_start=period.start, status__in=ACTIVE
    ).first()


def _enqueue(pack: Pack) -> None:
    pk = pack.pk
    transaction.on_commit(lambda: build_pack.delay(pk))


def pack_retry(*, actor: User, pack: Pack) -> Pack:
    """Send a failed build back to the queue, with the snapshot it had already frozen."""
    if pack.status != Pack.Status.FAILED:
        raise PackRefused("Only a failed build can be tried again.")
    if _active(pack.organisation, pack.kind, pack.period) is not None:
        raise PackRefused("This pack is already being built again.")
    pack.status = Pack.Status.QUEUED
    pack.error = ""
    pack.lost_runs = 0
    pack.requested_at = timezone.now()
    save_with_reason(pack, actor=actor, reason="reporting.pack.retried")
    set_progress(pack, 0, "Waiting for a worker")
    _enqueue(pack)
    return pack


def pack_rebuild(*, actor: User, pack: Pack) -> tuple[Pack, bool]:
    """A new build of a pack's period from that pack's frozen snapshot: the same numbers."""
    if not pack.snapshot:
        raise PackRefused("This build has no snapshot to rebuild from.")
    return pack_request(
        actor=actor,
        organisation=pack.organisation,
        kind=pack.kind,
        period=pack.period,
        source=pack,
    )


def sweep_packs(*, at: datetime) -> str:
    """The scheduler's step for builds a worker left "Building": back to the queue (the next
    build starts from the frozen snapshot), or, once builds have been lost as often as allowed,
    failed with the reason, for "Try building again"."""
    if abs(at - timezone.now()) > SWEEP_WITHIN:
        return ""
    requeued = failed = 0
    building = Pack.objects.filter(status=Pack.Status.BUILDING, started_at__lt=at - STALE_AFTER)
    for pk in list(building.values_list("pk", flat=True)):
        with transaction.atomic():
            pack = Pack.objects.select_for_update().get(pk=pk)
            if pack.status != Pack.Status.BUILDING or not is_stale(pack, at):
                continue
            pack.lost_runs += 1
            if pack.lost_runs >= settings.LONG_TASK_ATTEMPTS:
                fail_lost(pack, at)
                failed += 1
                continue
            pack.status = Pack.Status.QUEUED
            save_with_reason(pack, actor=None, reason="reporting.pack.requeued")
            set_progress(pack, 0, "Waiting for a worker")
            _enqueue(pack)
            requeued += 1
    said = []
    if requeued:
        said.append(f"{requeued} pack build{'s' if requeued != 1 else ''} sent back to the queue")
    if failed:
        said.append(f"{failed} pack build{'s' if failed != 1 else ''} failed after lost workers")
    return "; ".join(said)


# Downloads ------------------------------------------------------------------------------------


def pack_download_record(*, pack: Pack, user: User, ip_address: str | None, user_agent: str):
    return PackDownload.objects.create(
        pack=pack, user=user, ip_address=ip_address or None, user_agent=user_agent[:300]
    )


# The schedule ---------------------------------------------------------------------------------


def build_due_packs(*, at: datetime, organisations=None) -> str:
    """Once a period has ended, ask once for each scheduled kind's pack of it (the kernel's
    scheduler calls this on every run; the unique scheduled build makes repeats do nothing)."""
    if not settings.REPORTING_PACKS_ON_SCHEDULE:
        return ""
    asked = []
    for kind in pack_kinds.all():
        if not kind.on_schedule:
            continue
        ended = period_at(kind.cadence, at).previous()
        for organisation in organisations or Organisation.objects.all():
            if ended.end < local_date(organisation.created_at):
                continue  # the period ended before the provider was on caregov
            if Pack.objects.filter(
                organisation=organisation, kind=kind.code, period_start=ended.start, scheduled=True
            ).exists():
                continue
            try:
                with transaction.atomic():
                    pack, created = pack_request(
                        actor=None,
                        organisation=organisation,
                        kind=kind.code,
                        period=ended,
                        scheduled=True,
                        at=at,
                    )
            except IntegrityError:
                continue
            if not created:
                # A build someone asked for is under way: it stands for the scheduled one, so
                # the next run does not ask for the quarter again.
                pack.scheduled = True
                save_with_reason(pack, actor=None, reason="reporting.pack.scheduled")
            asked.append(f"{kind.name.lower()} for {organisation.name}, {ended.label}")
    return f"asked for {'; '.join(asked)}" if asked else ""
