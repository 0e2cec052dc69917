"""Writes for data assurance: thresholds, ECM imports, record audits, trend review causes,
cross-service comparisons and board reliance decisions. Each is atomic and writes history."""

from __future__ import annotations

import hashlib
import logging
import random
import time
import uuid
from contextlib import suppress
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from assurance import ecm, mapping
from assurance.figures import count_rows, figures_changed, latest_import, recompute_service_month
from assurance.measures import CHECKED, MEASURES
from assurance.models import (
    Audit,
    AuditCheck,
    AuditRecord,
    Comparison,
    EcmImport,
    EcmRecord,
    GapCause,
    ImportProfile,
    RelianceDecision,
    ServiceReliance,
    ThresholdReview,
    ThresholdVersion,
    Verdict,
)
from caregov.access import has_capability
from caregov.cadence import Cadence, Period, period_containing
from caregov.history import bulk_create_with_history, save_with_reason
from caregov.media import media_name, media_path, media_root
from caregov.models import Action, Organisation, ReviewCycle, Service, User
from caregov.records import create_once, replayed, require_capability
from caregov.services.governance import action_raise, can_conduct_review

MAX_AUDIT_RECORDS = 50
#: Uploaded exports wait for the worker here, under MEDIA_ROOT (storage the worker shares).
ECM_IMPORT_FOLDER = "ecm-imports"
log = logging.getLogger("caregov.assurance")


def month_of(day: date) -> Period:
    return period_containing(Cadence.MONTHLY, day)


# Thresholds ------------------------------------------------------------------------------------


@transaction.atomic
def threshold_version_save(
    *,
    actor: User,
    organisation: Organisation,
    measure: str,
    effective_from: date,
    target: Decimal,
    green_from: Decimal,
    amber_from: Decimal,
    reason: str,
    today: date | None = None,
) -> ThresholdVersion:
    """New thresholds from the first of a month. Past months keep the thresholds they were judged
    by, so a version can start this month or later, never earlier."""
    require_capability(actor, "measures.configure", organisation)
    today = today or timezone.localdate()
    errors = {}
    if measure not in MEASURES:
        errors["measure"] = "Choose a measure."
    if effective_from.day != 1:
        errors["effective_from"] = "Thresholds start on the first day of a month."
    elif effective_from < today.replace(day=1):
        errors["effective_from"] = (
            "Choose this month or a later one: past months keep the thresholds they were judged by."
        )
    if not Decimal(0) <= amber_from <= green_from <= Decimal(100):
        errors["amber_from"] = "Amber must start at or below green, and both between 0 and 100."
    if not Decimal(0) <= target <= Decimal(100):
        errors["target"] = "Enter a target between 0 and 100."
    if not reason.strip():
        errors["reason"] = "Say why the thresholds are changing."
    if errors:
        raise ValidationError(errors)
    version = ThresholdVersion.objects.filter(
        organisation=organisation, measure=measure, effective_from=effective_from
    ).first() or ThresholdVersion(
        organisation=organisation, measure=measure, effective_from=effective_from
    )
    changed = version.pk is not None
    version.target, version.green_from, version.amber_from = target, green_from, amber_from
    version.reason = reason.strip()
    version.created_by = actor
    return save_with_reason(
        version,
        actor=actor,
        reason="assurance.thresholds.changed" if changed else "assurance.thresholds.set",
    )


@transaction.atomic
def thresholds_review_confirm(
    *, actor: User, organisation: Organisation, at: datetime
) -> tuple[ThresholdReview, bool]:
    """The data quality lead confirms the measures and thresholds in force suit the organisation.
    One review a day: confirming again that day answers with the first (and False)."""
    require_capability(actor, "measures.configure", organisation)
    reviewed_on = timezone.localdate(at)
    existing = ThresholdReview.objects.filter(
        organisation=organisation, reviewed_on=reviewed_on
    ).first()
    if existing is not None:
        return existing, False
    review = ThresholdReview(
        organisation=organisation, reviewed_on=reviewed_on, reviewed_by=actor, reviewed_at=at
    )
    try:
        with transaction.atomic():
            save_with_reason(review, actor=actor, reason="assurance.thresholds.reviewed")
    except IntegrityError:
        # Another request confirmed the same day a moment before: that one stands.
        return ThresholdReview.objects.get(
            organisation=organisation, reviewed_on=reviewed_on
        ), False
    return review, True


# ECM imports -----------------------------------------------------------------------------------


def _progress_key(import_id: int) -> str:
    return f"assurance.import.{import_id}.progress"


def import_progress(ecm_import: EcmImport) -> tuple[int, int]:
    """(bytes read, rows read) while the import runs, from the worker through the cache."""
    if ecm_import.finished:
        return ecm_import.size_bytes, ecm_import.rows_read
    return cache.get(_progress_key(ecm_import.pk), (ecm_import.bytes_read, ecm_import.rows_read))


def import_queue(
    *,
    actor: User,
    service: Service,
    period: Period | None,
    upload,
    file_name: str,
    tolerance_minutes: int = 120,
    at: datetime | None = None,
    profile: ImportProfile | None = None,
) -> tuple[EcmImport, bool]:
    """Store an uploaded export and queue its import. Returns (import, queued).

    The same file already imported for the same service and month is not imported again: the
    earlier import is returned with queued False, and nothing changes. `at` backdates the
    record and its history (the demo loader); it defaults to now.

    A file in a supplier's own columns is read through `profile`, or through the organisation's
    profile saved for its header; with neither, nothing is queued: MappingNeeded keeps the file
    under MEDIA_ROOT for the mapping page.
    """
    require_capability(actor, "ecm.import", service)
    if actor.organisation_id != service.organisation_id:
        raise PermissionDenied("You cannot import for another organisation's service.")
    directory = media_root() / ECM_IMPORT_FOLDER
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    temporary = directory / f"upload-{uuid.uuid4().hex}.csv"
    with open(temporary, "wb") as out:
        for chunk in (
            upload.chunks()
            if hasattr(upload, "chunks")
            else iter(lambda: upload.read(1 << 20), b"")
        ):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    sha256 = digest.hexdigest()
    if profile is not None and profile.organisation_id != service.organisation_id:
        temporary.unlink(missing_ok=True)
        raise PermissionDenied("That profile belongs to another organisation.")
    if profile is None:
        columns = mapping.read_columns(temporary)
        if columns is not None and columns.rows and not mapping.in_caregov_shape(columns.header):
            profile = profile_for_header(organisation=service.organisation, header=columns.header)
            if profile is None:
                pending = directory / f"pending-{uuid.uuid4().hex}.csv"
                temporary.rename(pending)
                raise MappingNeeded(media_name(pending), columns)
    read_through = profile.as_mapping() if profile is not None else {}
    if period is None:
        period = ecm.sniff_period(temporary, read_through)
    if period is None:
        with open(temporary, "rb") as stream:
            refusal = ecm.not_text(stream.read(ecm.SNIFF_BYTES))
        temporary.unlink(missing_ok=True)
        if refusal:
            raise ValidationError({"file": refusal})
        raise ValidationError(
            {
                "period": "Choose the month this export is for: its first row's due_time could not be read."
            }
        )
    earlier = EcmImport.objects.filter(
        service=service, period_start=period.start, sha256=sha256, status=EcmImport.Status.IMPORTED
    ).first()
    if earlier is not None:
        temporary.unlink(missing_ok=True)
        return earlier, False
    record = EcmImport(
        organisation=service.organisation,
        service=service,
        period_start=period.start,
        file_name=Path(file_name).name[:255],
        sha256=sha256,
        size_bytes=size,
        tolerance_minutes=tolerance_minutes,
        uploaded_by=actor,
        profile=profile,
        mapping=read_through,
    )
    if at is not None:
        record.created_at = at
        record._history_date = at
    save_with_reason(record, actor=actor, reason="assurance.import.queued")
    # Unique beyond this database: test workers and demo resets share the directory.
    stored = directory / f"import-{record.pk}-{uuid.uuid4().hex[:12]}.csv"
    temporary.rename(stored)
    record.stored_path = media_name(stored)
    save_with_reason(record, actor=actor, reason="assurance.import.queued")
    return record, True


IMPORT_STOPPED = (
    "The import stopped unexpectedly and nothing was imported. Upload the file again; "
    "if it happens again, tell your caregov administrator."
)


class _LostClaim(Exception):
    """Another run took the import over while this one worked: this run keeps nothing."""


#: What an import that a worker left says once the sweeper gives up on it.
LOST_WORKER_MESSAGE = "The worker stopped while importing; try again."


def _heartbeat_key(import_id: int) -> str:
    return f"assurance.import.{import_id}.heartbeat"


def _claim_of(ecm_import: EcmImport) -> tuple:
    return (ecm_import.attempts, ecm_import.started_at)


def _last_sign(ecm_import: EcmImport) -> datetime | None:
    """When the run holding the import last showed it was alive: its claim, or its progress
    (a heartbeat in the cache, counted only if it is this claim's)."""
    claim, beat = cache.get(_heartbeat_key(ecm_import.pk), (None, None))
    if claim != _claim_of(ecm_import):
        beat = None
    moments = [m for m in (ecm_import.started_at, beat) if m is not None]
    return max(moments) if moments else None


def import_stale(ecm_import: EcmImport, *, at: datetime | None = None) -> bool:
    """An import "Importing" whose run has said nothing for the stale time: its worker is gone."""
    if ecm_import.status != EcmImport.Status.RUNNING:
        return False
    last = _last_sign(ecm_import)
    stale_after = timedelta(seconds=settings.ECM_IMPORT_STALE_SECONDS)
    return last is None or last < (at or timezone.now()) - stale_after


def _import_lost(ecm_import: EcmImport, *, at: datetime) -> EcmImport:
    """The import's run died with its worker and it has been run as often as it may: say so, and
    keep the file so that "Try again" can queue it."""
    ecm_import.status = EcmImport.Status.FAILED
    ecm_import.finished_at = at
    ecm_import.problem_count = 1
    ecm_import.problems = [{"row": 0, "column": "", "message": LOST_WORKER_MESSAGE}]
    return save_with_reason(ecm_import, actor=None, reason="assurance.import.worker_lost")


def _import_claim(import_id: int, at: datetime, task_id: str | None = None) -> EcmImport | None:
    """Claim the import for this run: a queued one, or one whose run has gone silent or was this
    same task's (its worker died). None when there is nothing to do: it is finished, or a live
    run holds it."""
    with transaction.atomic():
        ecm_import = EcmImport.objects.select_for_update().filter(pk=import_id).first()
        if ecm_import is None or ecm_import.finished:
            return None
        if ecm_import.status == EcmImport.Status.RUNNING:
            redelivered = bool(task_id) and ecm_import.claimed_by == task_id
            if not (redelivered or import_stale(ecm_import)):
                return None
            ecm_import.lost_runs += 1
            if ecm_import.lost_runs >= settings.LONG_TASK_ATTEMPTS:
                _import_lost(ecm_import, at=at)
                return None
        ecm_import.status = EcmImport.Status.RUNNING
        ecm_import.started_at = at
        ecm_import.attempts += 1
        ecm_import.claimed_by = (task_id or "")[:64]
        return save_with_reason(ecm_import, actor=None, reason="assurance.import.started")


def import_run(
    ecm_import: EcmImport, *, at: datetime | None = None, task_id: str | None = None
) -> EcmImport:
    """Check and load a queued import (the Celery task's body). All or nothing; safe to rerun.

    One run at a time holds the import (its claim); a second run while the first is alive, or
    after it finished, changes nothing. The rows and the outcome are committed together, and
    only by the run that still holds the claim, so an import's rows are stored once."""
    claimed = _import_claim(ecm_import.pk, at or timezone.now(), task_id)
    if claimed is None:
        return EcmImport.objects.get(pk=ecm_import.pk)
    ecm_import = claimed
    if at is not None:
        ecm_import._history_date = at
    attempt, claim = ecm_import.attempts, _claim_of(ecm_import)
    period = month_of(ecm_import.period_start)
    key, beat_key = _progress_key(ecm_import.pk), _heartbeat_key(ecm_import.pk)
    last_beat = [0.0]

    def progress(bytes_read: int, rows: int) -> None:
        cache.set(key, (bytes_read, rows), timeout=3600)
        now = time.monotonic()
        if now - last_beat[0] >= 1:
            last_beat[0] = now
            cache.set(beat_key, (claim, timezone.now()), timeout=24 * 3600)

    try:
        with transaction.atomic():
            # A run that stopped before this one left nothing (its transaction rolled back), but
            # rows committed by older code, or by hand, would be counted twice: start afresh.
            EcmRecord.objects.filter(ecm_import=ecm_import).delete()
            with transaction.atomic():
                with open(media_path(ecm_import.stored_path), "rb") as stream:
                    outcome = ecm.read_export(
                        stream,
                        import_id=ecm_import.pk,
                        period=period,
                        progress=progress,
                        mapping=ecm_import.mapping or None,
                    )
                duplicate = None
                if outcome.clean and outcome.period is not None:
                    duplicate = (
                        EcmImport.objects.filter(
                            service=ecm_import.service,
                            period_start=outcome.period.start,
                            sha256=ecm_import.sha256,
                            status=EcmImport.Status.IMPORTED,
                        )
                        .exclude(pk=ecm_import.pk)
                        .first()
                    )
                if not outcome.clean or duplicate is not None:
                    transaction.set_rollback(True)
            return _import_finish(ecm_import, outcome, duplicate, attempt=attempt, at=at)
    except _LostClaim:
        log.info("ECM import %s: run %s was taken over; it keeps nothing", ecm_import.pk, attempt)
        return EcmImport.objects.get(pk=ecm_import.pk)
    except SoftTimeLimitExceeded:
        outcome = ecm.Outcome()
        minutes = settings.ECM_IMPORT_SOFT_TIME_LIMIT // 60
        outcome.add(
            0,
            "",
            f"The import took longer than {minutes} minute{'s' if minutes != 1 else ''} and was "
            "stopped; nothing was imported. Split the export into smaller files, or tell your "
            "caregov administrator.",
        )
    except OSError as error:
        outcome = ecm.Outcome()
        outcome.add(
            0, "", f"The uploaded file could not be read ({error.strerror}). Upload it again."
        )
    except SuspiciousFileOperation:
        log.warning(
            "ECM import %s names its file outside MEDIA_ROOT: %r",
            ecm_import.pk,
            ecm_import.stored_path,
        )
        outcome = ecm.Outcome()
        outcome.add(0, "", "The uploaded file is not where caregov keeps uploads. Upload it again.")
    except Exception:
        # Nothing was kept (the transaction rolled back); say so rather than stay "importing".
        log.exception("ECM import %s stopped unexpectedly", ecm_import.pk)
        outcome = ecm.Outcome()
        outcome.add(0, "", IMPORT_STOPPED)
    try:
        return _import_finish(ecm_import, outcome, None, attempt=attempt, at=at)
    except _LostClaim:
        return EcmImport.objects.get(pk=ecm_import.pk)
    except Exception:
        # Never left "importing": say it stopped, and keep none of its rows.
        log.exception("ECM import %s could not be finished", ecm_import.pk)
        return _import_stopped(ecm_import, attempt=attempt, at=at)


@transaction.atomic
def _import_stopped(
    ecm_import: EcmImport, *, attempt: int, at: datetime | None = None
) -> EcmImport:
    ecm_import = EcmImport.objects.select_for_update().get(pk=ecm_import.pk)
    if ecm_import.status != EcmImport.Status.RUNNING or ecm_import.attempts != attempt:
        return ecm_import
    EcmRecord.objects.filter(ecm_import=ecm_import).delete()
    if at is not None:
        ecm_import._history_date = at
    ecm_import.status = EcmImport.Status.FAILED
    ecm_import.problem_count = 1
    ecm_import.problems = [{"row": 0, "column": "", "message": IMPORT_STOPPED}]
    ecm_import.figures = {}
    ecm_import.finished_at = at or timezone.now()
    _upload_discard(ecm_import)
    return save_with_reason(ecm_import, actor=None, reason="assurance.import.refused")


def _upload_discard(ecm_import: EcmImport) -> None:
    """Remove the uploaded copy once its rows are in (or refused): never a file outside
    MEDIA_ROOT, whatever the record says."""
    try:
        media_path(ecm_import.stored_path).unlink(missing_ok=True)
    except SuspiciousFileOperation:
        log.warning("ECM import %s: not removing %r", ecm_import.pk, ecm_import.stored_path)


@transaction.atomic
def _import_finish(
    ecm_import: EcmImport,
    outcome: ecm.Outcome,
    duplicate,
    *,
    attempt: int,
    at: datetime | None = None,
) -> EcmImport:
    ecm_import = EcmImport.objects.select_for_update().get(pk=ecm_import.pk)
    if ecm_import.status != EcmImport.Status.RUNNING or ecm_import.attempts != attempt:
        raise _LostClaim
    if at is not None:
        ecm_import._history_date = at
    ecm_import.rows_read = outcome.rows_read
    ecm_import.bytes_read = ecm_import.size_bytes
    ecm_import.problem_count = outcome.problem_count
    ecm_import.problems = [p.as_dict() for p in outcome.problems]
    ecm_import.finished_at = at or timezone.now()
    if outcome.period is not None:
        ecm_import.period_start = outcome.period.start
    if duplicate is not None:
        ecm_import.status = EcmImport.Status.FAILED
        ecm_import.problems = [
            {
                "row": 0,
                "column": "",
                "message": f"This file was already imported for {ecm_import.service.name}, "
                f"{duplicate.period_label}, on {timezone.localtime(duplicate.finished_at):%d %b %Y}. "
                "Nothing changed.",
            }
        ]
        ecm_import.figures = dict(duplicate.figures, duplicate_of=duplicate.pk)
        _upload_discard(ecm_import)
        return save_with_reason(ecm_import, actor=None, reason="assurance.import.repeated")
    if not outcome.clean:
        ecm_import.status = EcmImport.Status.FAILED
        _upload_discard(ecm_import)
        return save_with_reason(ecm_import, actor=None, reason="assurance.import.refused")
    ecm_import.status = EcmImport.Status.IMPORTED
    # Counted once over the rows, here on the worker: later rewrites of the month read these.
    ecm_import.counts = count_rows(ecm_import)
    save_with_reason(ecm_import, actor=None, reason="assurance.import.imported")
    results = recompute_service_month(ecm_import.service, ecm_import.period_start)
    ecm_import.figures = {
        r.measure: {
            "numerator": r.numerator,
            "denominator": r.denominator,
            "value": None if r.value is None else str(r.value),
        }
        for r in results
        if r.source == "ecm"
    }
    save_with_reason(ecm_import, actor=None, reason="assurance.import.figures_computed")
    _upload_discard(ecm_import)
    return ecm_import


def _enqueue_import(ecm_import: EcmImport) -> None:
    from assurance.tasks import import_ecm_export

    pk = ecm_import.pk
    transaction.on_commit(lambda: import_ecm_export.delay(pk))


#: The sweeper acts for the scheduler's runs for now, not for replays or simulated years.
SWEEP_WITHIN = timedelta(hours=1)


def sweep_imports(*, at: datetime) -> str:
    """The scheduler's step for imports a worker left "Importing": back to the queue (the next
    run starts the file afresh), or, once runs have been lost as often as allowed, failed with
    the reason and kept for "Try again"."""
    if abs(at - timezone.now()) > SWEEP_WITHIN:
        return ""
    requeued = failed = 0
    running = EcmImport.objects.filter(status=EcmImport.Status.RUNNING).values_list("pk", flat=True)
    for pk in list(running):
        with transaction.atomic():
            ecm_import = EcmImport.objects.select_for_update().get(pk=pk)
            if not import_stale(ecm_import, at=at):
                continue
            ecm_import.lost_runs += 1
            if ecm_import.lost_runs >= settings.LONG_TASK_ATTEMPTS:
                _import_lost(ecm_import, at=at)
                failed += 1
                continue
            ecm_import.status = EcmImport.Status.QUEUED
            save_with_reason(ecm_import, actor=None, reason="assurance.import.requeued")
            cache.delete(_progress_key(ecm_import.pk))  # the lost run's share, not this one's
            _enqueue_import(ecm_import)
            requeued += 1
    said = []
    if requeued:
        said.append(f"{requeued} import{'s' if requeued != 1 else ''} sent back to the queue")
    if failed:
        said.append(f"{failed} import{'s' if failed != 1 else ''} failed after lost workers")
    return "; ".join(said)


def import_can_retry(ecm_import: EcmImport) -> bool:
    """A failed import whose file is still kept (a lost worker's) can be queued again as it is."""
    if ecm_import.status != EcmImport.Status.FAILED or not ecm_import.stored_path:
        return False
    try:
        return media_path(ecm_import.stored_path).is_file()
    except SuspiciousFileOperation:
        return False


def import_retry(*, actor: User, ecm_import: EcmImport) -> EcmImport:
    """Queue a failed import of a kept file again ("Try again")."""
    require_capability(actor, "ecm.import", ecm_import.service)
    with transaction.atomic():
        ecm_import = EcmImport.objects.select_for_update().get(pk=ecm_import.pk)
        if not import_can_retry(ecm_import):
            raise ValidationError(
                "Only an import the worker stopped can be tried again; upload the file again."
                if ecm_import.status == EcmImport.Status.FAILED
                else "This import is not finished, so it cannot be tried again."
            )
        ecm_import.status = EcmImport.Status.QUEUED
        ecm_import.lost_runs = 0
        ecm_import.problem_count = 0
        ecm_import.problems = []
        ecm_import.bytes_read = ecm_import.rows_read = 0
        ecm_import.finished_at = None
        save_with_reason(ecm_import, actor=actor, reason="assurance.import.retried")
        cache.delete(_progress_key(ecm_import.pk))
        _enqueue_import(ecm_import)
    return ecm_import


def import_file(
    *,
    actor: User,
    service: Service,
    path: Path,
    period: Period | None,
    tolerance_minutes: int = 120,
    at: datetime | None = None,
    profile: ImportProfile | None = None,
) -> tuple[EcmImport, bool]:
    """Queue and run an import synchronously (the management command)."""
    with open(path, "rb") as handle:
        record, queued = import_queue(
            actor=actor,
            service=service,
            period=period,
            upload=handle,
            file_name=path.name,
            tolerance_minutes=tolerance_minutes,
            at=at,
            profile=profile,
        )
    if queued:
        record = import_run(record, at=at)
    return record, queued


# Import profiles -------------------------------------------------------------------------------

#: Uploads waiting for their mapping are kept this long, then removed by `pending_sweep`.
PENDING_HOURS = 24


class MappingNeeded(Exception):
    """The file is in a supplier's own columns and no profile reads it: it waits, kept at
    `pending` (a name under MEDIA_ROOT), for the mapping page."""

    def __init__(self, pending: str, columns: mapping.FileColumns):
        super().__init__("This file's columns need mapping to caregov's fields.")
        self.pending = pending
        self.columns = columns


def _require_profiles(actor: User, organisation: Organisation) -> None:
    if actor.organisation_id != organisation.pk or not has_capability(actor, "ecm.import"):
        raise PermissionDenied("Your role does not allow saving import profiles.")


def profile_for_header(*, organisation: Organisation, header: list[str]) -> ImportProfile | None:
    """The organisation's profile saved for a file with this header, if any."""
    return ImportProfile.objects.filter(
        organisation=organisation, header_key=mapping.header_key(header)
    ).first()


def profile_save(
    *,
    actor: User,
    organisation: Organisation,
    name: str,
    names: list[str],
    fields: dict[str, dict],
    date_format: str,
    yes: list[str],
    no: list[str],
    samples: list[list[str]] | None = None,
    profile: ImportProfile | None = None,
) -> ImportProfile:
    """Save a column mapping for files whose header is `names` (the file's column names):
    a new profile, or a change to `profile`. Columns that look like personal data are refused
    for any field, and every column not mapped is listed as left out."""
    _require_profiles(actor, organisation)
    if profile is not None and profile.organisation_id != organisation.pk:
        raise PermissionDenied("That profile belongs to another organisation.")
    header = [mapping.normalise(n) for n in names]
    samples = samples or [[] for _ in names]
    personal = {
        column: mapping.personal_reason(original, values)
        or (profile.personal_columns.get(column, "") if profile is not None else "")
        for column, original, values in zip(header, names, samples, strict=True)
    }
    errors = mapping.mapping_errors(
        names=names, fields=fields, date_format=date_format, yes=yes, no=no, personal=personal
    )
    name = " ".join(name.split())
    if not name:
        errors["name"] = "Name the profile, like the ECM supplier's name and export."
    elif len(name) > 120:
        errors["name"] = "Keep the name under 120 characters."
    elif (
        ImportProfile.objects.filter(organisation=organisation, name__iexact=name)
        .exclude(pk=getattr(profile, "pk", None))
        .exists()
    ):
        errors["name"] = f"There is already a profile called {name}. Choose another name."
    if len(set(header)) != len(header) or not all(header):
        errors["__all__"] = "Every column of the file needs its own, non-empty name in the header."
    key = mapping.header_key(header)
    other = (
        ImportProfile.objects.filter(organisation=organisation, header_key=key)
        .exclude(pk=getattr(profile, "pk", None))
        .first()
    )
    if other is not None:
        errors["__all__"] = (
            f"Profile {other.name} already reads files with these columns. Change that one instead."
        )
    if errors:
        raise ValidationError(errors)
    kept = {}
    for field in ecm.COLUMNS:
        how = fields[field]
        if "column" in how:
            kept[field] = {"column": how["column"]}
        elif "value" in how:
            kept[field] = {"value": str(how["value"]).strip()}
        else:
            kept[field] = {"absent": True}
    used = {how["column"] for how in kept.values() if "column" in how}
    created = profile is None
    with transaction.atomic():
        profile = profile or ImportProfile(organisation=organisation, created_by=actor)
        profile.name = name
        profile.header = header
        profile.column_names = [" ".join(n.split()) for n in names]
        profile.header_key = key
        profile.fields = kept
        profile.date_format = date_format
        profile.yes_values = [w.strip() for w in yes if w.strip()]
        profile.no_values = [w.strip() for w in no if w.strip()]
        profile.ignored = [column for column in header if column not in used]
        profile.personal_columns = {column: why for column, why in personal.items() if why}
        try:
            with transaction.atomic():
                save_with_reason(
                    profile,
                    actor=actor,
                    reason="assurance.profile.created" if created else "assurance.profile.changed",
                )
        except IntegrityError:
            raise ValidationError(
                {"name": f"There is already a profile called {name}. Choose another name."}
            ) from None
    return profile


def pending_path(name: str) -> Path:
    """An upload waiting for its mapping, by the name MappingNeeded gave; never outside the
    folder uploads wait in."""
    if not Path(name).name.startswith("pending-") or Path(name).parent.name != ECM_IMPORT_FOLDER:
        raise SuspiciousFileOperation("Not a waiting upload.")
    return media_path(name)


def pending_discard(name: str) -> None:
    with suppress(SuspiciousFileOperation):
        pending_path(name).unlink(missing_ok=True)


def pending_sweep(*, at: datetime) -> str:
    """The scheduler's step for uploads left waiting for a mapping longer than PENDING_HOURS:
    they are removed (the person uploads the file again). Only for the scheduler's own runs."""
    if abs(at - timezone.now()) > SWEEP_WITHIN:
        return ""
    directory = media_root() / ECM_IMPORT_FOLDER
    cutoff = (at - timedelta(hours=PENDING_HOURS)).timestamp()
    removed = 0
    for path in directory.glob("pending-*.csv") if directory.is_dir() else []:
        with suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    if not removed:
        return ""
    return f"{removed} upload{'s' if removed != 1 else ''} left waiting for a mapping removed"


def preview_rows(
    *, path: Path, read_through: dict, period: Period | None = None, rows: int = 10
) -> tuple[list, list]:
    """The first `rows` rows of a file as caregov would store them through `read_through`, and
    the problems in them: nothing is written."""
    import csv
    import io

    outcome = ecm.Outcome()
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    reader = csv.reader(io.StringIO(head.decode("utf-8-sig", errors="replace"), newline=""))
    try:
        first = next(reader)
    except (StopIteration, csv.Error):
        return [], []
    names = mapping.check_mapped_header(first, read_through, outcome)
    if names is None:
        return [], outcome.problems
    checker = mapping.MappedRows(read_through, names, outcome, period)
    shown = []
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            values = checker.check(row_number, cells)
            shown.append((row_number, values))
            if len(shown) >= rows:
                break
    except csv.Error as error:
        outcome.add(row_number + 1, "", f"Row {row_number + 1} cannot be read as CSV: {error}.")
    return shown, outcome.problems


# Record audits ---------------------------------------------------------------------------------


def _clean_references(text: str) -> list[str]:
    seen, references = set(), []
    for part in text.replace(",", "\n").splitlines():
        reference = part.strip()
        if reference and reference not in seen:
            seen.add(reference)
            references.append(reference)
    return references


def audit_start(
    *,
    actor: User,
    service: Service,
    period: Period,
    idempotency_key: uuid.UUID,
    references: str = "",
    sample_size: int | None = None,
    at: datetime | None = None,
    seed: int | None = None,
) -> tuple[Audit, bool]:
    """Start an audit of typed references or a random sample of the latest export. A repeat of
    the same start (same key) answers with the audit the first made: returns (audit, created)."""
    earlier = replayed(Audit, idempotency_key, actor=actor, capability="audits.conduct", owner=None)
    if earlier is not None:
        return earlier, False
    require_capability(actor, "audits.conduct", service)
    errors = {}
    ecm_import = None
    if sample_size:
        ecm_import = latest_import(service, period.start) or (
            EcmImport.objects.filter(service=service, status=EcmImport.Status.IMPORTED)
            .order_by("-period_start", F("finished_at").desc(nulls_last=True))
            .first()
        )
        if ecm_import is None:
            errors["sample_size"] = (
                f"There is no imported ECM export for {service.name} yet. Type the references "
                "instead, or import an export first."
            )
        elif not 1 <= sample_size <= MAX_AUDIT_RECORDS:
            errors["sample_size"] = f"Choose between 1 and {MAX_AUDIT_RECORDS} records."
        chosen = []
        if not errors:
            pool = list(
                EcmRecord.objects.filter(ecm_import=ecm_import)
                .order_by("row_number")
                .values_list("reference", flat=True)
            )
            chosen = random.Random(seed).sample(pool, min(sample_size, len(pool)))
        sampling = Audit.Sampling.RANDOM
    else:
        chosen = _clean_references(references)
        sampling = Audit.Sampling.TYPED
        if not chosen:
            errors["references"] = "Enter at least one ECM record reference, one per line."
        elif len(chosen) > MAX_AUDIT_RECORDS:
            errors["references"] = f"An audit checks at most {MAX_AUDIT_RECORDS} records."
        elif any(len(r) > 64 for r in chosen):
            errors["references"] = "A record reference is at most 64 characters."
    if errors:
        raise ValidationError(errors)
    at = at or timezone.now()
    audit = Audit(
        organisation=service.organisation,
        service=service,
        period_start=period.start,
        sampling=sampling,
        ecm_import=ecm_import,
        idempotency_key=idempotency_key,
        started_by=actor,
        started_at=at,
    )
    audit._history_date = at

    def its_records(audit: Audit) -> None:
        bulk_create_with_history(
            [
                AuditRecord(audit=audit, position=i, reference=ref)
                for i, ref in enumerate(chosen, start=1)
            ],
            AuditRecord,
            actor=actor,
            reason="assurance.audit.record_added",
            at=at,
        )

    return create_once(
        audit,
        actor=actor,
        capability="audits.conduct",
        reason="assurance.audit.started",
        owner=None,
        then=its_records,
    )


def _lock_audit(audit: Audit) -> Audit:
    return Audit.objects.select_for_update().get(pk=audit.pk)


#: What a record's answers are checked against, worded once: the server says these when it
#: refuses a save, and the record page hands the same words to the device, which checks a record
#: saved while offline before keeping it.
RECORD_MESSAGES = {
    "answer": "Answer “{question}”",
    "note": "{name}: say briefly what was wrong.",
    "note_length": "Keep the note under 300 characters.",
    "corrected_by": "Say who made the correction (a role or staff reference).",
    "corrected_on": "Enter the date the correction was made, like 14 10 2026.",
    "corrected_on_invalid": "Enter a real date for the correction, like 14 10 2026.",
    "support_need": "Choose a support need.",
    "support_staff": "Say whose support need this is: a role or staff reference.",
}


def record_messages() -> dict[str, str]:
    """Every message a record save can answer with, by the field it is shown at."""
    messages = {k: v for k, v in RECORD_MESSAGES.items() if "{" not in v}
    for measure in CHECKED:
        messages[f"check_{measure}"] = RECORD_MESSAGES["answer"].format(
            question=MEASURES[measure].question
        )
        messages[f"note_{measure}"] = RECORD_MESSAGES["note"].format(name=MEASURES[measure].name)
    return messages


def _record_errors(
    answers: dict[str, tuple[str, str]],
    *,
    correction_made: str,
    corrected_by: str,
    corrected_on: date | None,
    support_staff: str,
    support_need: str,
) -> dict[str, str]:
    messages = record_messages()
    errors = {}
    for measure in CHECKED:
        answer, note = answers.get(measure, ("", ""))
        if answer not in AuditCheck.Answer.values:
            errors[f"check_{measure}"] = messages[f"check_{measure}"]
        elif answer == AuditCheck.Answer.NOT_MET and not note.strip():
            errors[f"note_{measure}"] = messages[f"note_{measure}"]
        if len(note) > 300:
            errors[f"note_{measure}"] = messages["note_length"]
    if correction_made.strip() and not corrected_by.strip():
        errors["corrected_by"] = messages["corrected_by"]
    if correction_made.strip() and corrected_on is None:
        errors["corrected_on"] = messages["corrected_on"]
    if support_need and support_need not in AuditRecord.Need.values:
        errors["support_need"] = messages["support_need"]
    if support_need not in ("", AuditRecord.Need.NONE) and not support_staff.strip():
        errors["support_staff"] = messages["support_staff"]
    return errors


def _closed_message(audit: Audit) -> str:
    if audit.is_discarded:
        return "This audit was discarded, so it cannot be changed. Start a new audit instead."
    return "This audit has been submitted and is locked. Start a correction to change it."


@transaction.atomic
def audit_record_save(
    *,
    actor: User,
    record: AuditRecord,
    answers: dict[str, tuple[str, str]],
    correction_made: str = "",
    corrected_by: str = "",
    corrected_on: date | None = None,
    support_staff: str = "",
    support_need: str = "",
    save_key: uuid.UUID | None = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Save one record's checks while the audit is in progress. Saving again overwrites.

    A save carries the key its form (or the device's queue) gave it. A save whose key this record
    has already accepted changes nothing, even after a later save or once the audit is locked:
    a queue replaying what it could not confirm never undoes newer answers."""
    audit = _lock_audit(record.audit)
    require_capability(actor, "audits.conduct", audit.service)
    if save_key is not None and record.history.filter(save_key=save_key).exists():
        record.refresh_from_db()
        return record
    if not audit.is_open:
        raise ValidationError(_closed_message(audit))
    errors = _record_errors(
        answers,
        correction_made=correction_made,
        corrected_by=corrected_by,
        corrected_on=corrected_on,
        support_staff=support_staff,
        support_need=support_need,
    )
    if errors:
        raise ValidationError(errors)
    at = at or timezone.now()
    existing = {c.measure: c for c in record.checks.all()}
    for measure in CHECKED:
        answer, note = answers[measure]
        check = existing.get(measure) or AuditCheck(record=record, measure=measure)
        if check.pk and check.answer == answer and check.note == note.strip():
            continue
        check.answer, check.note = answer, note.strip()
        check._history_date = at
        save_with_reason(check, actor=actor, reason="assurance.audit.checked")
    record.correction_made = correction_made.strip()
    record.corrected_by = corrected_by.strip() if record.correction_made else ""
    record.corrected_on = corrected_on if record.correction_made else None
    record.support_need = support_need
    record.support_staff = support_staff.strip() if support_need else ""
    record.saved_at = at
    record.save_key = save_key
    record._history_date = at
    return save_with_reason(record, actor=actor, reason="assurance.audit.record_saved")


def audit_submit(
    *, actor: User, audit: Audit, submission_key: uuid.UUID, at: datetime | None = None
) -> tuple[Audit, bool]:
    """Submit and lock an audit. A repeat of the same submission answers with the first result:
    returns (audit, submitted_now).

    The month's figures are rewritten by the worker once this commits (`figures_changed`): the
    team leader waits for the audit to be saved and locked, not for the month to be recounted.
    Until then the pages showing the month say its figures are being updated."""
    with transaction.atomic():
        audit = _lock_audit(audit)
        require_capability(actor, "audits.conduct", audit.service)
        if audit.is_frozen:
            if audit.submission_key == submission_key:
                return audit, False
            raise ValidationError("This audit was already submitted. It is locked.")
        if audit.is_discarded:
            raise ValidationError(_closed_message(audit))
        unanswered = [r.position for r in audit.records.filter(saved_at__isnull=True)]
        if unanswered:
            raise ValidationError(
                "Check every record before submitting: record"
                + ("s " if len(unanswered) > 1 else " ")
                + ", ".join(str(p) for p in unanswered)
                + (" are" if len(unanswered) > 1 else " is")
                + " not done yet."
            )
        at = at or timezone.now()
        audit.status = Audit.Status.SUBMITTED
        audit.submitted_by = actor
        audit.submitted_at = at
        audit.submission_key = submission_key
        audit._history_date = at
        save_with_reason(
            audit,
            actor=actor,
            reason="assurance.audit.correction_submitted"
            if audit.corrects_id
            else "assurance.audit.submitted",
        )
        figures_changed(audit.service, audit.period_start)
    return audit, True


@transaction.atomic
def audit_correct(
    *, actor: User, audit: Audit, reason: str, idempotency_key: uuid.UUID
) -> tuple[Audit, bool]:
    """Start a correction of a submitted audit: a new linked entry holding a copy of its answers,
    which replaces it in the figures once submitted. The original stays as it was."""
    earlier = replayed(Audit, idempotency_key, actor=actor, capability="audits.conduct", owner=None)
    if earlier is not None:
        return earlier, False
    audit = _lock_audit(audit)
    require_capability(actor, "audits.conduct", audit.service)
    if audit.is_discarded:
        raise ValidationError("A discarded audit is not corrected. Start a new audit instead.")
    if not audit.is_frozen:
        raise ValidationError("Only a submitted audit can be corrected; change this one directly.")
    if audit.corrections.filter(status=Audit.Status.DRAFT).exists():
        raise ValidationError("A correction of this audit is already in progress.")
    if audit.corrections.filter(status=Audit.Status.SUBMITTED).exists():
        # Two submitted corrections of one audit would both count in the figures.
        raise ValidationError(
            "This audit has already been corrected. Correct the latest correction instead."
        )
    if not reason.strip():
        raise ValidationError({"reason": "Say what needs correcting."})
    now = timezone.now()
    correction = Audit(
        organisation=audit.organisation,
        service=audit.service,
        period_start=audit.period_start,
        sampling=audit.sampling,
        ecm_import=audit.ecm_import,
        idempotency_key=idempotency_key,
        corrects=audit,
        correction_reason=reason.strip(),
        started_by=actor,
    )
    correction, created = create_once(
        correction,
        actor=actor,
        capability="audits.conduct",
        reason="assurance.audit.correction_started",
        owner=None,
    )
    if not created:
        return correction, False
    for record in audit.records.prefetch_related("checks"):
        copy = AuditRecord(
            audit=correction,
            position=record.position,
            reference=record.reference,
            correction_made=record.correction_made,
            corrected_by=record.corrected_by,
            corrected_on=record.corrected_on,
            support_staff=record.support_staff,
            support_need=record.support_need,
            saved_at=now,
        )
        save_with_reason(copy, actor=actor, reason="assurance.audit.record_copied")
        bulk_create_with_history(
            [
                AuditCheck(record=copy, measure=c.measure, answer=c.answer, note=c.note)
                for c in record.checks.all()
            ],
            AuditCheck,
            actor=actor,
            reason="assurance.audit.record_copied",
        )
    return correction, True


def audit_discard(
    *, actor: User, audit: Audit, reason: str, at: datetime | None = None
) -> tuple[Audit, bool]:
    """Discard an audit its starter no longer wants (the wrong month, the wrong records), before it
    is submitted. Nothing is deleted: it keeps its answers and history, counts in no figure, and
    the month can be audited again. Discarding again changes nothing: returns (audit, now)."""
    with transaction.atomic():
        audit = _lock_audit(audit)
        require_capability(actor, "audits.conduct", audit.service)
        if audit.started_by_id != actor.pk:
            raise PermissionDenied(
                f"Only {audit.started_by}, who started this audit, can discard it."
            )
        if audit.is_discarded:
            return audit, False
        if audit.is_frozen:
            raise ValidationError(
                "A submitted audit cannot be discarded. Start a correction if something is wrong."
            )
        if not reason.strip():
            raise ValidationError({"reason": "Say why the audit is being discarded."})
        at = at or timezone.now()
        audit.status = Audit.Status.DISCARDED
        audit.discarded_by = actor
        audit.discarded_at = at
        audit.discard_reason = reason.strip()
        audit._history_date = at
        save_with_reason(audit, actor=actor, reason="assurance.audit.discarded")
    return audit, True


def audit_raise_action(
    *,
    actor: User,
    record: AuditRecord,
    measure: str,
    owner: User,
    due_on: date,
    title: str = "",
) -> Action:
    """Raise a kernel action from a failed check, linked to the audit and the measure."""
    audit = record.audit
    if audit.is_discarded:
        raise ValidationError(_closed_message(audit))
    check = record.checks.filter(measure=measure).first()
    if check is None or check.answer != AuditCheck.Answer.NOT_MET:
        raise ValidationError("An action is raised from a check that was not met.")
    measure_name = MEASURES[measure].name
    return action_raise(
        actor=actor,
        title=title.strip() or f"{measure_name}: put right record {record.reference}",
        detail=f"Found in audit {audit.pk} ({audit.period_label}): {check.note}",
        owner=owner,
        due_on=due_on,
        finding_ref=f"assurance.audit:{audit.pk}:{record.reference}",
        organisation=audit.organisation,
        service=audit.service,
        measure=measure,
    )


# Trend review, comparison and reliance ---------------------------------------------------------


@transaction.atomic
def gap_cause_save(
    *, actor: User, cycle: ReviewCycle, measure: str, cause: str, note: str, at=None
) -> GapCause:
    cycle = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.kind != "assurance.trend_review":
        raise ValidationError("Gap causes belong to a monthly data quality trend review.")
    if cycle.is_frozen:
        raise ValidationError("This review is signed off and frozen.")
    if not can_conduct_review(actor, cycle):
        raise PermissionDenied("Only the registered manager conducts this review.")
    errors = {}
    if measure not in MEASURES:
        errors["measure"] = "Choose a measure."
    if cause not in GapCause.Cause.values:
        errors["cause"] = (
            "Choose what the gap relates to: training, workload, system configuration or local practice."
        )
    if errors:
        raise ValidationError(errors)
    gap = GapCause.objects.filter(review_cycle=cycle, measure=measure).first() or GapCause(
        review_cycle=cycle, measure=measure
    )
    gap.cause, gap.note, gap.recorded_by = cause, note.strip(), actor
    gap.recorded_at = at or timezone.now()
    if at:
        gap._history_date = at
    return save_with_reason(gap, actor=actor, reason="assurance.trend_review.cause_recorded")


@transaction.atomic
def comparison_save(
    *, actor: User, organisation: Organisation, period: Period, themes: str, risks: str, at=None
) -> Comparison:
    require_capability(actor, "assurance.compare_record", organisation)
    if not themes.strip() and not risks.strip():
        raise ValidationError({"themes": "Record at least one theme or risk."})
    comparison = Comparison.objects.filter(
        organisation=organisation, period_start=period.start
    ).first() or Comparison(organisation=organisation, period_start=period.start)
    comparison.themes, comparison.risks = themes.strip(), risks.strip()
    comparison.recorded_by = actor
    comparison.recorded_at = at or timezone.now()
    if at:
        comparison._history_date = at
    return save_with_reason(comparison, actor=actor, reason="assurance.comparison.recorded")


def comparison_raise_action(
    *,
    actor: User,
    comparison: Comparison,
    title: str,
    owner: User,
    due_on: date,
    service: Service | None = None,
    measure: str = "",
    detail: str = "",
) -> Action:
    if service is not None and service.organisation_id != comparison.organisation_id:
        raise ValidationError({"service": "Choose one of your organisation's services."})
    if measure and measure not in MEASURES:
        raise ValidationError({"measure": "Choose a measure."})
    return action_raise(
        actor=actor,
        title=title,
        detail=detail,
        owner=owner,
        due_on=due_on,
        finding_ref=f"assurance.comparison:{comparison.pk}",
        organisation=comparison.organisation,
        service=service,
        measure=measure,
    )


def reliance_record(
    *,
    actor: User,
    organisation: Organisation,
    quarter: Period,
    verdict: str,
    reasons: str,
    services: dict[int, tuple[str, str]],
    snapshot: dict,
    at: datetime | None = None,
) -> RelianceDecision:
    """Record the board's decision for a quarter, with the evidence it saw. Once recorded it is
    frozen: there is one decision a quarter."""
    require_capability(actor, "reliance.decide", organisation)
    expected = {s["id"] for s in snapshot.get("services", [])}
    errors = {}
    if verdict not in Verdict.values:
        errors["verdict"] = "Choose whether leaders can rely on ECM information overall."
    if verdict in (Verdict.CAVEATS, Verdict.NO) and not reasons.strip():
        errors["reasons"] = "Give the board's reasons, and the caveats if there are any."
    for service_id in expected:
        service_verdict, service_reasons = services.get(service_id, ("", ""))
        if service_verdict not in Verdict.values:
            errors[f"verdict_{service_id}"] = "Choose yes, yes with caveats or no for this service."
        elif service_verdict != Verdict.YES and not service_reasons.strip():
            errors[f"reasons_{service_id}"] = "Give the reasons or caveats for this service."
    if errors:
        raise ValidationError(errors)
    at = at or timezone.now()
    with transaction.atomic():
        if RelianceDecision.objects.filter(
            organisation=organisation, quarter_start=quarter.start
        ).exists():
            raise ValidationError(
                f"The board's decision for {quarter.label} is already recorded and cannot change."
            )
        decision = RelianceDecision(
            organisation=organisation,
            quarter_start=quarter.start,
            verdict=verdict,
            reasons=reasons.strip(),
            snapshot=snapshot,
            decided_by=actor,
            decided_at=at,
        )
        decision._history_date = at
        try:
            with transaction.atomic():
                save_with_reason(decision, actor=actor, reason="assurance.reliance.decided")
        except IntegrityError:
            raise ValidationError(
                f"The board's decision for {quarter.label} is already recorded and cannot change."
            ) from None
        service_map = {
            s.pk: s for s in Service.objects.filter(organisation=organisation, pk__in=expected)
        }
        for service_id in sorted(expected):
            service_verdict, service_reasons = services[service_id]
            row = ServiceReliance(
                decision=decision,
                service=service_map[service_id],
                verdict=service_verdict,
                reasons=service_reasons.strip(),
            )
            row._history_date = at
            save_with_reason(row, actor=actor, reason="assurance.reliance.decided")
    return decision


def can_record_causes(user: User, cycle: ReviewCycle) -> bool:
    """Whether the person may record gap causes in this trend review: the registered manager (or
    whoever acts for the review's body at its service) while it is not signed off."""
    return (
        cycle.kind == "assurance.trend_review"
        and not cycle.is_frozen
        and can_conduct_review(user, cycle)
    )
