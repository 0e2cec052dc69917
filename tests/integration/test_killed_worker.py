"""A real Celery worker on the real broker is killed with SIGKILL in the middle of an import: the
import ends imported exactly once (as many rows as the file) or failed with a reason, within
minutes, never "Importing" for ever and never twice (issue 14, section 1).

Run it against PostgreSQL and Redis, as production runs:
DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME CELERY_BROKER_URL=redis://127.0.0.1:6379/7
(it also runs on the embedded SQLite and filesystem broker). Stale times are seconds here, not
minutes: the worker is told so through its environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from assurance import services
from assurance.models import EcmImport, EcmRecord
from assurance.tasks import import_ecm_export
from caregov.access import Role
from caregov.celery import app
from caregov.tasks import run_governance_scheduler
from tests.assurance.builders import month
from tests.factories import ServiceFactory, person_with_role
from tests.integration.test_worker import _database_url

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
STALE_SECONDS = 4


def big_export(path: Path, count: int) -> Path:
    """An October export of `count` good rows, written straight out (seconds for a million)."""
    header = (
        "record_reference,record_type,due_time,recorded_time,author_role,outcome_recorded,"
        "last_review_date,review_due_date,narrative_length\n"
    )
    with open(path, "w", encoding="utf-8") as out:
        out.write(header)
        for i in range(count):
            day = 1 + i % 28
            out.write(
                f"R{i + 1:07d},Daily note,2026-10-{day:02d} 08:00,2026-10-{day:02d} 08:30,"
                "Care worker,yes,,,240\n"
            )
    return path


@pytest.fixture
def workers(transactional_db, settings):
    """Start real workers on one queue of this test's own; all are stopped afterwards."""
    queue = f"it-kill-{uuid.uuid4().hex[:8]}"
    started: list[subprocess.Popen] = []
    settings.ECM_IMPORT_STALE_SECONDS = STALE_SECONDS
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "true",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # The uploads are where the test keeps them (the web and the worker share MEDIA_ROOT).
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        # Tasks the worker sends (the sweeper's re-queued import) stay on this queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "ECM_IMPORT_STALE_SECONDS": str(STALE_SECONDS),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def start(pool: str = "solo") -> subprocess.Popen:
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
                f"--pool={pool}",
                "--loglevel=WARNING",
                f"--hostname={queue}-{len(started)}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    start.queue = queue
    app.conf.task_always_eager = False
    try:
        yield start
    finally:
        app.conf.task_always_eager = True
        for process in started:
            if process.poll() is None:
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def queued_import(tmp_path, rows: int) -> EcmImport:
    service = ServiceFactory()
    manager = person_with_role(Role.REGISTERED_MANAGER, service=service)
    path = big_export(tmp_path / "october.csv", rows)
    with open(path, "rb") as handle:
        record, queued = services.import_queue(
            actor=manager,
            service=service,
            period=month(2026, 10),
            upload=handle,
            file_name="october.csv",
        )
    assert queued
    return record


def wait_until_reading(record: EcmImport, timeout: float = 120) -> int:
    """Wait until the worker is reading the file; the bytes it has read."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record.refresh_from_db()
        assert not record.finished, "the import finished before the worker could be killed"
        bytes_read, _ = services.import_progress(record)
        if record.status == EcmImport.Status.RUNNING and bytes_read > 0:
            return bytes_read
        time.sleep(0.02)
    raise AssertionError("the worker never started reading the file")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def rows_per_file() -> int:
    # Big enough that the kill lands mid-file: PostgreSQL reads about 400,000 rows a second.
    return 600_000 if connection.vendor == "postgresql" else 60_000


def finished_once_or_failed(record: EcmImport, rows: int) -> None:
    record.refresh_from_db()
    stored = EcmRecord.objects.filter(ecm_import_id=record.pk).count()
    if record.status == EcmImport.Status.IMPORTED:
        assert (record.rows_read, stored) == (rows, rows)
    else:
        assert record.status == EcmImport.Status.FAILED, record.status
        assert record.problems and record.problems[0]["message"], record.problems
        assert stored == 0


def test_a_whole_worker_killed_mid_import_is_swept_back_and_the_import_ends_once(workers, tmp_path):
    rows = rows_per_file()
    record = queued_import(tmp_path, rows)
    first = workers("solo")
    import_ecm_export.apply_async(args=[record.pk], queue=workers.queue)
    read = wait_until_reading(record)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    record.refresh_from_db()
    assert record.status == EcmImport.Status.RUNNING and read > 0  # killed part way
    assert EcmRecord.objects.filter(ecm_import_id=record.pk).count() == 0  # rolled back

    workers("solo")
    # Beat's part: the one scheduler task, sent every few seconds instead of every 15 minutes.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        record.refresh_from_db()
        if record.finished:
            break
        run_governance_scheduler.apply_async(queue=workers.queue)
        time.sleep(STALE_SECONDS / 2)
    assert record.finished, f"still {record.get_status_display()} after four minutes"
    finished_once_or_failed(record, rows)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert (record.attempts, record.lost_runs) == (2, 1)


def test_a_pool_process_killed_mid_import_gives_its_message_back_and_the_import_ends_once(
    workers, tmp_path
):
    rows = rows_per_file()
    record = queued_import(tmp_path, rows)
    worker = workers("prefork")
    import_ecm_export.apply_async(args=[record.pk], queue=workers.queue)
    wait_until_reading(record)
    (pool_process,) = children(worker.pid)
    os.kill(pool_process, signal.SIGKILL)
    # No scheduler run: the worker puts the message back, and its new pool process takes the
    # import over at once, as the same task's claim.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        record.refresh_from_db()
        if record.finished:
            break
        time.sleep(0.5)
    assert record.finished, f"still {record.get_status_display()} after two minutes"
    finished_once_or_failed(record, rows)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert (record.attempts, record.lost_runs) == (2, 1)
    assert worker.poll() is None  # the worker itself carried on
