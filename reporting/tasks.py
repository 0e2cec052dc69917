"""Celery tasks for packs: thin, idempotent, acknowledged late."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from reporting import building


@shared_task(
    name="reporting.build_pack",
    acks_late=True,
    # A worker process killed mid-build puts the message back; the claim takes the build over
    # once it is stale, or leaves it to a live worker (and the scheduler's sweeper).
    reject_on_worker_lost=True,
    acks_on_failure_or_timeout=True,
    soft_time_limit=settings.PACK_SOFT_TIME_LIMIT,
    time_limit=settings.PACK_TIME_LIMIT,
)
def build_pack(pack_id: int) -> str:
    """Build a requested pack from its snapshot (frozen first, if it has none yet)."""
    pack = building.pack_build(pack_id)
    return f"{pack}: {pack.get_status_display()}"
