"""Building a pack: claim it, freeze its snapshot, draw its charts, lay out its PDF and store it
whole, reporting progress as it goes. Only the `reporting.build_pack` task (and the command line)
runs this; asking for builds, retrying and the schedule are reporting/services.py's, which
enqueue the task, so this module never enqueues anything.

A build freezes the snapshot first (committed on its own), then draws the charts through one
Chromium, lays out the PDF and writes it under a temporary name before moving it into place: a
pack is either built whole, with its sha256, or failed with the reason, and a retry starts from
the same snapshot.
"""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from django.db import transaction
from django.utils import timezone

from caregov.history import save_with_reason
from caregov.media import media_path, media_root
from reporting.charts import svg_exporter
from reporting.models import Pack
from reporting.packs import PackKind, freeze, pack_kinds
from reporting.pdf import render_pdf_pages

log = logging.getLogger("caregov.reporting")

#: A build that has said nothing for this long is taken to have died with its worker: longer
#: than a build may run (the task's hard time limit), so a live build is never taken over.
STALE_AFTER = timedelta(seconds=settings.PACK_STALE_SECONDS)
#: What a build a worker left says once the sweeper gives up on it.
LOST_WORKER_ERROR = "The worker stopped while building the pack; try building it again."


class PackRefused(Exception):
    """A pack cannot be asked for as requested; the message says why."""


def pack_kind(code: str) -> PackKind:
    kind = pack_kinds.get(code)
    if kind is None:
        known = ", ".join(sorted(pack_kinds.items)) or "none"
        raise PackRefused(f"There is no pack called {code!r}. Packs: {known}.")
    return kind


def pack_build(pack_id: int, *, at: datetime | None = None, chromium: str | None = None) -> Pack:
    """Build a requested pack. Safe to run twice: a pack already built, failed or being built by
    a live worker is left as it is."""
    pack = _claim(pack_id, at or timezone.now())
    if pack is None:
        return Pack.objects.get(pk=pack_id)
    try:
        return _build(pack, chromium=chromium)
    except Exception as error:
        log.exception("Pack %s failed", pack.pk)
        pack.refresh_from_db()
        pack.status = Pack.Status.FAILED
        pack.error = _reason(error)
        if isinstance(error, SoftTimeLimitExceeded):
            minutes = settings.PACK_SOFT_TIME_LIMIT // 60
            pack.error = (
                f"The build took longer than {minutes} minute{'s' if minutes != 1 else ''} "
                "and was stopped; no file was kept."
            )
        save_with_reason(pack, actor=None, reason="reporting.pack.failed")
        set_progress(pack, 100, "Failed")
        return pack


def _claim(pack_id: int, at: datetime) -> Pack | None:
    with transaction.atomic():
        pack = Pack.objects.select_for_update().filter(pk=pack_id).first()
        if pack is None:
            return None
        if pack.status == Pack.Status.BUILDING and is_stale(pack, at):
            pack.lost_runs += 1
            if pack.lost_runs >= settings.LONG_TASK_ATTEMPTS:
                fail_lost(pack, at)
                return None
        elif pack.status != Pack.Status.QUEUED:
            return None
        pack.status = Pack.Status.BUILDING
        pack.started_at = at
        pack.attempts += 1
        return save_with_reason(pack, actor=None, reason="reporting.pack.started")


def is_stale(pack: Pack, at: datetime) -> bool:
    return pack.started_at is None or pack.started_at < at - STALE_AFTER


def fail_lost(pack: Pack, at: datetime) -> Pack:
    pack.status = Pack.Status.FAILED
    pack.error = LOST_WORKER_ERROR
    save_with_reason(pack, actor=None, reason="reporting.pack.worker_lost")
    set_progress(pack, 100, "Failed")
    return pack


def _build(pack: Pack, *, chromium: str | None) -> Pack:
    kind = pack_kind(pack.kind)
    if pack.snapshot is None:
        set_progress(pack, 5, "Reading the figures")
        snapshot = kind.assemble(pack.organisation, pack.period, timezone.now())
        pack.snapshot, pack.snapshot_sha256 = freeze(snapshot)
        save_with_reason(pack, actor=None, reason="reporting.pack.snapshot_frozen")
    figures = kind.charts(pack.snapshot)
    charts: dict[str, str] = {}
    if figures:
        set_progress(pack, 15, "Starting the chart drawer")
        with svg_exporter(chromium=chromium) as to_svg:
            for index, (name, figure) in enumerate(figures, start=1):
                set_progress(
                    pack,
                    15 + 55 * index // len(figures),
                    f"Drawing chart {index} of {len(figures)}",
                )
                charts[name] = to_svg(figure)
    set_progress(pack, 75, "Laying out the pages")
    rendered = render_pdf_pages(kind.template, pack_context(pack, kind, charts))
    set_progress(pack, 95, "Saving the pack")
    path = _write(pack, rendered.content)
    pack.file_path = path.relative_to(packs_root()).as_posix()
    pack.sha256 = hashlib.sha256(rendered.content).hexdigest()
    pack.size_bytes = len(rendered.content)
    pack.pages = rendered.pages
    pack.status = Pack.Status.BUILT
    pack.built_at = timezone.now()
    pack.error = ""
    save_with_reason(pack, actor=None, reason="reporting.pack.built")
    set_progress(pack, 100, "Ready")
    return pack


def pack_context(pack: Pack, kind: PackKind, charts: dict[str, str]) -> dict:
    """What every pack template reads: the base template's cover and running header, the frozen
    snapshot and the charts drawn from it."""
    return {
        "organisation": pack.organisation.name,
        "pack_name": kind.name,
        "period": pack.period_label,
        "audience": kind.audience,
        "prepared_on": f"{timezone.localtime(pack.started_at):%-d %b %Y %H:%M}, {pack.requested_how}",
        "source_note": (
            f"Rebuilt from the snapshot of the build of "
            f"{timezone.localtime(pack.source.started_at):%-d %b %Y %H:%M}"
            if pack.source_id and pack.source.started_at
            else ""
        ),
        "snapshot_sha256": pack.snapshot_sha256,
        "snapshot_taken": _snapshot_taken(pack),
        "footer_note": "Official: sensitive",
        "snapshot": pack.snapshot,
        "charts": charts,
    }


def _snapshot_taken(pack: Pack) -> str:
    """When the figures were frozen: by this build, or by the build it was rebuilt from."""
    frozen_by = pack.source if pack.source_id else pack
    moment = frozen_by.started_at or pack.started_at
    return f"{timezone.localtime(moment):%-d %b %Y at %H:%M}" if moment else ""


PACKS_FOLDER = "packs"


def packs_root() -> Path:
    return media_root() / PACKS_FOLDER


def pack_path(file_path: str) -> Path:
    """Where a pack's stored file name points, refusing any name that leads out of the packs."""
    return media_path(file_path, within=PACKS_FOLDER)


def _write(pack: Pack, content: bytes) -> Path:
    """Write the file whole: to a temporary name beside it, flushed, then renamed into place."""
    folder = packs_root() / str(pack.organisation_id)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{pack.kind}-{pack.period_start:%Y-%m}-{pack.pk}.pdf"
    partial = final.with_name(final.name + ".partial")
    try:
        with open(partial, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return final


def pack_file(pack: Pack) -> Path | None:
    """The stored PDF, when the pack is built and its file is intact (same sha256)."""
    if pack.status != Pack.Status.BUILT or not pack.file_path:
        return None
    try:
        path = pack_path(pack.file_path)
    except SuspiciousFileOperation:
        log.warning("Pack %s names its file outside the packs folder: %r", pack.pk, pack.file_path)
        return None
    return path if path.is_file() else None


def _reason(error: Exception) -> str:
    text = str(error).strip() or error.__class__.__name__
    return f"{error.__class__.__name__}: {text}"[:2000]


# Progress: a worker writes it often, pages read it; not governance, so it lives in the cache.


def _progress_key(pack_id: int) -> str:
    return f"reporting:pack-progress:{pack_id}"


def set_progress(pack: Pack, percent: int, stage: str) -> None:
    cache.set(_progress_key(pack.pk), {"percent": percent, "stage": stage}, timeout=24 * 3600)


def pack_progress(pack: Pack) -> dict:
    if pack.status == Pack.Status.BUILT:
        return {"percent": 100, "stage": "Ready"}
    if pack.status == Pack.Status.FAILED:
        return {"percent": 100, "stage": "Failed"}
    return cache.get(_progress_key(pack.pk)) or {"percent": 0, "stage": pack.get_status_display()}
