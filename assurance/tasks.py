"""Celery tasks for data assurance: thin, idempotent, acknowledged late."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.conf import settings

from assurance import figures
from assurance.models import EcmImport
from assurance.services import import_run


@shared_task(
    bind=True,
    name="assurance.import_ecm_export",
    acks_late=True,
    # A worker process killed mid-import puts the message back; the import's claim makes the
    # next run start the file afresh, or leave it to a live run.
    reject_on_worker_lost=True,
    acks_on_failure_or_timeout=True,
    soft_time_limit=settings.ECM_IMPORT_SOFT_TIME_LIMIT,
    time_limit=settings.ECM_IMPORT_TIME_LIMIT,
)
def import_ecm_export(self, import_id: int) -> str:
    """Check and load an uploaded ECM export. Running it twice changes nothing."""
    record = EcmImport.objects.filter(pk=import_id).first()
    if record is None:
        return f"No import {import_id}"
    record = import_run(record, task_id=self.request.id)
    return f"Import {record.pk}: {record.get_status_display()}, {record.rows_read} rows"


@shared_task(acks_late=True, name="assurance.refresh_figures")
def refresh_figures(service_id: int, period_start: str) -> str:
    """Rewrite a service-month's figures after a submission. Many submissions for one month queue
    many of these; the first rewrites the figures and the rest find nothing waiting."""
    done = figures.refresh(service_id, date.fromisoformat(period_start))
    return f"Figures for service {service_id}, {period_start}: {'rewritten' if done else 'current'}"
