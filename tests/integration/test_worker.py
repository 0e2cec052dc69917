"""A real Celery worker, on the real broker (the filesystem one, or Redis when configured), runs
the scheduler task against the test database: what beat does every 15 minutes."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from caregov.celery import app
from caregov.models import ReviewCycle
from caregov.tasks import run_governance_scheduler
from tests.factories import ServiceFactory

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(settings['NAME']).resolve()}"
    user = settings.get("USER") or ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def worker(transactional_db):
    queue = f"it-{uuid.uuid4().hex[:8]}"
    # The worker shares the test's files as docker-compose.yml's worker shares the web server's:
    # the same storage at MEDIA_ROOT, uploads named relative to it.
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "true",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "caregov",
            "worker",
            "-Q",
            queue,
            "--concurrency=1",
            "--pool=solo",
            "--loglevel=WARNING",
            f"--hostname={queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        app.conf.task_always_eager = True
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_worker_runs_the_scheduler_task_from_the_broker(worker):
    service = ServiceFactory(phase="stabilised")
    run_governance_scheduler.apply_async(kwargs={"at": "2026-11-23T09:00:00+00:00"}, queue=worker)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ReviewCycle.objects.filter(service=service).exists():
            break
        time.sleep(0.5)
    kinds = set(ReviewCycle.objects.filter(service=service).values_list("kind", flat=True))
    assert "assurance.trend_review" in kinds
    assert (
        ReviewCycle.objects.filter(service=service, kind="assurance.trend_review")
        .get()
        .period_start.isoformat()
        == "2026-11-01"
    )


def test_a_worker_imports_an_uploaded_ecm_export(worker):
    import io

    from assurance.ecm import export_rows
    from assurance.models import EcmImport, MeasureResult
    from assurance.services import import_queue
    from assurance.tasks import import_ecm_export
    from caregov.access import Role
    from tests.assurance.builders import month, rows
    from tests.factories import person_with_role

    service = ServiceFactory()
    manager = person_with_role(Role.REGISTERED_MANAGER, service=service)
    record, queued = import_queue(
        actor=manager,
        service=service,
        period=month(2026, 10),
        upload=io.BytesIO(export_rows(rows(500, recorded=450)).encode()),
        file_name="october.csv",
    )
    assert queued
    import_ecm_export.apply_async(args=[record.pk], queue=worker)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record.refresh_from_db()
        if record.finished:
            break
        time.sleep(0.5)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert record.rows_read == 500
    completeness = MeasureResult.objects.get(service=service, measure="completeness", source="ecm")
    assert (completeness.numerator, completeness.denominator) == (450, 500)
