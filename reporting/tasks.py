"""Celery tasks for packs: thin, idempotent, acknowledged late."""

from __future__ import annotations

from celery import shared_task

from reporting import services


@shared_task(acks_late=True, name="reporting.build_pack")
def build_pack(pack_id: int) -> str:
    """Build a requested pack from its snapshot (frozen first, if it has none yet)."""
    pack = services.pack_build(pack_id)
    return f"{pack}: {pack.get_status_display()}"
