"""A pack build its worker left "Building" comes back to the queue, or ends failed with the reason
and "Try building again"; a build stopped at its time limit says so (issue 14, section 1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from caregov.access import Role
from caregov.engine import run_scheduler
from reporting import building, services
from reporting.models import Pack

pytestmark = pytest.mark.usefixtures("pack_media")


@pytest.fixture
def asked(world, quarter):
    pack, _ = services.pack_request(
        actor=world.user(Role.QUALITY_LEAD),
        organisation=world.org,
        kind="board",
        period=quarter,
        enqueue=False,
    )
    return pack


def left_by_a_dead_worker(pack: Pack, minutes_ago: int = 20) -> Pack:
    """The build as a worker killed mid-build leaves it: claimed, "Building", silent since."""
    claimed = building._claim(pack.pk, timezone.now() - timedelta(minutes=minutes_ago))
    assert claimed is not None and claimed.status == Pack.Status.BUILDING
    return claimed


def test_a_build_its_worker_left_is_sent_back_by_the_scheduler_and_built(
    asked, django_capture_on_commit_callbacks
):
    left_by_a_dead_worker(asked)
    with django_capture_on_commit_callbacks(execute=True):
        summary = run_scheduler(at=timezone.now())
    assert "1 pack build sent back to the queue" in str(summary)
    pack = Pack.objects.get(pk=asked.pk)
    assert pack.status == Pack.Status.BUILT, pack.error
    assert (pack.attempts, pack.lost_runs) == (2, 1)


def test_a_build_under_way_is_left_to_its_worker(asked):
    left_by_a_dead_worker(asked, minutes_ago=2)
    assert services.sweep_packs(at=timezone.now()) == ""
    assert Pack.objects.get(pk=asked.pk).status == Pack.Status.BUILDING


def test_a_build_whose_workers_keep_dying_fails_with_the_reason_and_can_be_built_again(
    asked, settings, world, django_capture_on_commit_callbacks
):
    for _ in range(settings.LONG_TASK_ATTEMPTS):
        left_by_a_dead_worker(asked)
        with django_capture_on_commit_callbacks(execute=False):
            services.sweep_packs(at=timezone.now())
    pack = Pack.objects.get(pk=asked.pk)
    assert pack.status == Pack.Status.FAILED
    assert pack.error == "The worker stopped while building the pack; try building it again."
    with django_capture_on_commit_callbacks(execute=True):
        services.pack_retry(actor=world.user(Role.QUALITY_LEAD), pack=pack)
    pack.refresh_from_db()
    assert (pack.status, pack.lost_runs) == (Pack.Status.BUILT, 0)


def test_a_build_stopped_at_its_time_limit_is_failed_with_the_reason(asked, monkeypatch):
    def too_long(pack, *, chromium):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(building, "_build", too_long)
    pack = building.pack_build(asked.pk)
    assert pack.status == Pack.Status.FAILED
    assert pack.error == "The build took longer than 10 minutes and was stopped; no file was kept."
