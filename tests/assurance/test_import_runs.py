"""One import, one run at a time, one copy of its rows; a run lost with its worker comes back, or
ends failed with a reason and a "Try again" (issue 14, section 1)."""

import io
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from assurance import services
from assurance.ecm import export_rows
from assurance.models import EcmImport, EcmRecord
from assurance.tasks import import_ecm_export
from caregov.access import Role
from caregov.engine import run_scheduler
from tests.assurance.builders import month, rows

OCTOBER = month(2026, 10)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.ECM_IMPORT_DIR = tmp_path / "ecm-imports"


@pytest.fixture
def manager(world):
    return world.user(Role.REGISTERED_MANAGER)


def queued(manager, service, count: int = 6) -> EcmImport:
    record, was_queued = services.import_queue(
        actor=manager,
        service=service,
        period=OCTOBER,
        upload=io.BytesIO(export_rows(rows(count)).encode()),
        file_name="october.csv",
    )
    assert was_queued
    return record


def left_by_a_dead_worker(record: EcmImport, minutes_ago: int = 10) -> EcmImport:
    """The import as a worker killed mid-run leaves it: claimed, "Importing", silent since."""
    claimed = services._import_claim(record.pk, timezone.now() - timedelta(minutes=minutes_ago))
    assert claimed is not None and claimed.status == EcmImport.Status.RUNNING
    return claimed


def rows_of(record: EcmImport) -> int:
    return EcmRecord.objects.filter(ecm_import_id=record.pk).count()


# The task's options -----------------------------------------------------------------------------


def test_an_import_whose_worker_process_is_killed_goes_back_to_the_queue_and_has_time_limits():
    task = import_ecm_export
    assert task.acks_late and task.reject_on_worker_lost and task.acks_on_failure_or_timeout
    assert (task.soft_time_limit, task.time_limit) == (30 * 60, 35 * 60)


def test_the_pack_build_goes_back_to_the_queue_too_and_has_time_limits():
    from reporting.tasks import build_pack

    assert build_pack.acks_late and build_pack.reject_on_worker_lost
    assert (build_pack.soft_time_limit, build_pack.time_limit) == (10 * 60, 12 * 60)


def test_on_redis_an_unacknowledged_message_returns_after_the_longest_task_may_run_not_an_hour():
    # Redis gives a message nobody acknowledged to another worker after the visibility timeout:
    # longer than the import's hard limit (35 min), so a live import never runs twice; 40 min,
    # not an hour, for a message whose whole worker died.
    env = {**os.environ, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/7"}
    said = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'])",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "caregov.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(said.stdout.strip()) == 40 * 60


def test_an_import_stopped_at_its_time_limit_is_failed_with_the_reason(world, manager, monkeypatch):
    record = queued(manager, world.service_a)

    def too_long(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services.ecm, "read_export", too_long)
    record = services.import_run(record)
    assert record.status == EcmImport.Status.FAILED
    assert record.problems[0]["message"].startswith(
        "The import took longer than 30 minutes and was stopped; nothing was imported."
    )
    assert rows_of(record) == 0


# One run at a time --------------------------------------------------------------------------------


def test_a_second_run_while_the_first_is_reading_does_nothing_and_the_rows_are_stored_once(
    world, manager, monkeypatch
):
    record = queued(manager, world.service_a, count=6)
    read_export = services.ecm.read_export
    second = []

    def read_while_another_run_starts(*args, **kwargs):
        second.append(services.import_run(EcmImport.objects.get(pk=record.pk)))
        return read_export(*args, **kwargs)

    monkeypatch.setattr(services.ecm, "read_export", read_while_another_run_starts)
    first = services.import_run(record)
    assert second[0].status == EcmImport.Status.RUNNING  # it left the import to the first run
    assert first.status == EcmImport.Status.IMPORTED, first.problems
    assert (first.rows_read, rows_of(first), first.attempts) == (6, 6, 1)


def test_a_run_after_the_import_finished_does_nothing(world, manager):
    record = services.import_run(queued(manager, world.service_a))
    history = record.history.count()
    again = services.import_run(record)
    assert again.status == EcmImport.Status.IMPORTED
    assert (rows_of(again), again.history.count()) == (6, history)


def test_a_run_whose_import_was_taken_over_meanwhile_keeps_nothing_and_fails_nothing(
    world, manager, monkeypatch
):
    record = queued(manager, world.service_a)
    read_export = services.ecm.read_export

    def taken_over_while_reading(*args, **kwargs):
        outcome = read_export(*args, **kwargs)
        # Another worker judged this run dead and claimed the import while it read.
        EcmImport.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
        return outcome

    monkeypatch.setattr(services.ecm, "read_export", taken_over_while_reading)
    record = services.import_run(record)
    assert record.status == EcmImport.Status.RUNNING  # still the other run's, not failed
    assert rows_of(record) == 0


def test_the_same_task_delivered_again_takes_its_import_over_at_once(world, manager):
    # Celery puts a message back when the worker process running it dies: the claim is that
    # task's own, so the import need not wait to go stale.
    record = queued(manager, world.service_a)
    services._import_claim(record.pk, timezone.now(), "task-1")
    assert services.import_run(record, task_id="task-2").status == EcmImport.Status.RUNNING
    record = services.import_run(record, task_id="task-1")
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert (rows_of(record), record.attempts, record.lost_runs) == (6, 2, 1)


def test_the_database_refuses_a_second_copy_of_a_row(world, manager):
    record = services.import_run(queued(manager, world.service_a))
    copy = EcmRecord.objects.filter(ecm_import=record, row_number=2).values().get()
    copy.pop("id")
    with pytest.raises(IntegrityError), transaction.atomic():
        EcmRecord.objects.create(**copy)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("apart", [0, 0.3])
def test_two_workers_running_one_import_at_once_or_just_apart_store_it_once(world, manager, apart):
    if connection.vendor != "postgresql":
        pytest.skip("two connections at once: PostgreSQL")
    record = queued(manager, world.service_a, count=20_000)
    results, errors = {}, []

    def run(name: str, delay: float) -> None:
        try:
            time.sleep(delay)
            results[name] = services.import_run(EcmImport.objects.get(pk=record.pk))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("first", 0)),
        threading.Thread(target=run, args=("second", apart)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    record.refresh_from_db()
    assert (record.status, record.rows_read, rows_of(record)) == ("imported", 20_000, 20_000)
    assert record.attempts == 1  # the other run found it claimed, or finished, and did nothing


# Lost workers: the sweeper on the one scheduler ----------------------------------------------------


def test_an_import_its_worker_left_importing_is_sent_back_by_the_scheduler_and_imports_once(
    world, manager, django_capture_on_commit_callbacks
):
    record = left_by_a_dead_worker(queued(manager, world.service_a))
    with django_capture_on_commit_callbacks(execute=True):
        summary = run_scheduler(at=timezone.now())
    assert "1 import sent back to the queue" in str(summary)
    record.refresh_from_db()
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert (rows_of(record), record.attempts, record.lost_runs) == (6, 2, 1)


def test_an_import_still_reporting_progress_is_left_to_its_worker(world, manager):
    record = left_by_a_dead_worker(queued(manager, world.service_a))
    # Its run is alive: it wrote progress a minute ago.
    cache.set(
        services._heartbeat_key(record.pk),
        (services._claim_of(record), timezone.now() - timedelta(minutes=1)),
    )
    assert services.sweep_imports(at=timezone.now()) == ""
    assert services.import_run(record).status == EcmImport.Status.RUNNING
    record.refresh_from_db()
    assert (record.status, record.attempts, record.lost_runs) == (EcmImport.Status.RUNNING, 1, 0)


def test_an_import_whose_workers_keep_dying_fails_with_the_reason_and_can_be_tried_again(
    world, manager, login, settings, django_capture_on_commit_callbacks
):
    record = queued(manager, world.service_a)
    for _ in range(settings.LONG_TASK_ATTEMPTS):
        left_by_a_dead_worker(record)
        with django_capture_on_commit_callbacks(execute=False):
            services.sweep_imports(at=timezone.now())
    record.refresh_from_db()
    assert record.status == EcmImport.Status.FAILED
    assert record.problems == [
        {"row": 0, "column": "", "message": "The worker stopped while importing; try again."}
    ]
    assert record.attempts == settings.LONG_TASK_ATTEMPTS
    page = login(manager).get(record.get_absolute_url()).content.decode()
    assert "The worker stopped while importing; try again." in page
    retry = reverse("assurance:import_retry", args=[record.pk])
    assert retry in page

    client = login(manager)
    assert "Try again" in client.get(retry).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(retry)
    assert response["Location"] == record.get_absolute_url()
    record.refresh_from_db()
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert rows_of(record) == 6


def test_a_refused_file_offers_no_try_again_and_cannot_be_tried_again(world, manager, login):
    record, _ = services.import_queue(
        actor=manager,
        service=world.service_a,
        period=OCTOBER,
        upload=io.BytesIO(b"not,an,export\n"),
        file_name="bad.csv",
    )
    record = services.import_run(record)
    assert record.status == EcmImport.Status.FAILED
    client = login(manager)
    assert "Try again" not in client.get(record.get_absolute_url()).content.decode()
    response = client.post(reverse("assurance:import_retry", args=[record.pk]), follow=True)
    assert "Only an import the worker stopped can be tried again" in response.content.decode()
    record.refresh_from_db()
    assert record.status == EcmImport.Status.FAILED


def test_someone_without_the_import_role_cannot_try_an_import_again(world, manager):
    record = queued(manager, world.service_a)
    with pytest.raises(Exception) as refused:
        services.import_retry(actor=world.user(Role.CARE_STAFF), ecm_import=record)
    assert refused.type.__name__ == "PermissionDenied"


def test_the_sweeper_does_nothing_for_a_replay_of_a_past_moment(world, manager):
    record = left_by_a_dead_worker(queued(manager, world.service_a))
    assert services.sweep_imports(at=timezone.now() - timedelta(days=30)) == ""
    record.refresh_from_db()
    assert record.status == EcmImport.Status.RUNNING
