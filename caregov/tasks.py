"""Celery tasks: thin, idempotent and acknowledged late. Each loads what it needs and calls a service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from caregov.cadence import parse_moment
from caregov.engine import run_scheduler


@shared_task(acks_late=True, name="caregov.run_governance_scheduler")
def run_governance_scheduler(at: str | None = None) -> str:
    """Open due review cycles, evaluate triggers and escalate what is overdue."""
    moment = parse_moment(at) if at else timezone.now()
    return str(run_scheduler(at=moment))
