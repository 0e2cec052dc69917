"""Submitting an audit does not wait for the month's figures: the worker rewrites them once the
submission commits, once for however many submissions arrived, and until then every page that
shows those figures says they are being updated."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assurance import figures, services
from assurance.models import FigureRefresh, MeasureResult
from assurance.selectors import FigureTable, red_figures
from caregov.access import Role
from caregov.engine import run_scheduler
from tests.assurance.builders import (
    all_met,
    import_rows,
    month,
    rows,
    started_audit,
    submit,
    submitted_audit,
)

OCTOBER = month(2026, 10)
UPDATING = "Figures being updated"


@pytest.fixture
def leader(world):
    return world.user(Role.TEAM_LEADER)


@pytest.fixture
def export(world):
    return import_rows(world.user(Role.REGISTERED_MANAGER), world.service_a, rows(20))


def answered(leader, service, references, answers=None):
    audit = started_audit(leader, service, OCTOBER, references)
    for record in audit.records.all():
        services.audit_record_save(actor=leader, record=record, answers=answers or all_met())
    return audit


def narrative(service):
    return MeasureResult.objects.filter(
        service=service, period_start=OCTOBER.start, measure="narrative_quality", source="audit"
    ).first()


def test_the_submission_is_saved_without_waiting_for_the_months_figures(
    world, leader, export, django_capture_on_commit_callbacks
):
    audit = answered(leader, world.service_a, ["R00001", "R00002"])
    with django_capture_on_commit_callbacks() as for_the_worker:
        audit, now = services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())

    assert now and audit.status == audit.Status.SUBMITTED
    # Not counted yet: the month is marked as being updated, and one rewrite waits for the
    # submission to commit.
    assert narrative(world.service_a) is None
    waiting = FigureRefresh.objects.get(service=world.service_a, period_start=OCTOBER.start)
    assert waiting.generation == 1
    assert len(for_the_worker) == 1

    for_the_worker[0]()  # the submission committed; the worker (eager here) rewrites the month

    figure = narrative(world.service_a)
    assert (figure.numerator, figure.denominator) == (2, 2)
    assert figure.detail["audits"] == [audit.pk]
    assert not FigureRefresh.objects.exists()


def test_many_submissions_for_one_month_need_one_rewrite(
    world, leader, export, django_capture_on_commit_callbacks
):
    lead = world.user(Role.DATA_QUALITY_LEAD)
    first = answered(leader, world.service_a, ["R00001", "R00002"])
    second = answered(lead, world.service_a, ["R00003", "R00004", "R00005"])
    with django_capture_on_commit_callbacks() as for_the_worker:
        services.audit_submit(actor=leader, audit=first, submission_key=uuid.uuid4())
        services.audit_submit(actor=lead, audit=second, submission_key=uuid.uuid4())
    assert FigureRefresh.objects.get().generation == 2
    assert len(for_the_worker) == 2

    assert figures.refresh(world.service_a, OCTOBER.start) is True
    rows_after_first = list(MeasureResult.objects.order_by("pk").values_list("pk", "computed_at"))
    # The second queued rewrite finds nothing waiting: it writes nothing.
    assert figures.refresh(world.service_a, OCTOBER.start) is False
    assert (
        list(MeasureResult.objects.order_by("pk").values_list("pk", "computed_at"))
        == rows_after_first
    )

    figure = narrative(world.service_a)
    assert (figure.numerator, figure.denominator) == (5, 5)
    assert sorted(figure.detail["audits"]) == sorted([first.pk, second.pk])


def test_rewriting_a_month_twice_writes_nothing_the_second_time(world, leader, export):
    submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["met", "not_met"]})
    stored = list(MeasureResult.objects.order_by("pk").values_list("pk", "computed_at"))

    figures.recompute_service_month(world.service_a, OCTOBER.start)

    assert list(MeasureResult.objects.order_by("pk").values_list("pk", "computed_at")) == stored
    assert (
        MeasureResult.objects.filter(service=world.service_a, period_start=OCTOBER.start)
        .values("measure", "source")
        .distinct()
        .count()
        == MeasureResult.objects.filter(service=world.service_a, period_start=OCTOBER.start).count()
    )


def test_a_submission_committed_while_the_worker_counts_leaves_the_month_waiting(
    world, leader, export, monkeypatch, django_capture_on_commit_callbacks
):
    first = answered(leader, world.service_a, ["R00001"])
    later = answered(world.user(Role.DATA_QUALITY_LEAD), world.service_a, ["R00002"])
    with django_capture_on_commit_callbacks():
        services.audit_submit(actor=leader, audit=first, submission_key=uuid.uuid4())
    recompute = figures.recompute_service_month

    def while_counting(service, period_start):
        result = recompute(service, period_start)
        # Another team leader's submission commits before this rewrite is done.
        services.audit_submit(
            actor=world.user(Role.DATA_QUALITY_LEAD), audit=later, submission_key=uuid.uuid4()
        )
        return result

    monkeypatch.setattr(figures, "recompute_service_month", while_counting)
    with django_capture_on_commit_callbacks():
        assert figures.refresh(world.service_a, OCTOBER.start) is True
    monkeypatch.setattr(figures, "recompute_service_month", recompute)

    # The rewrite counted the first audit only, so the month is still being updated...
    assert narrative(world.service_a).denominator == 1
    assert FigureRefresh.objects.get().generation == 2
    # ...until the run the later submission queued.
    assert figures.refresh(world.service_a, OCTOBER.start) is True
    assert narrative(world.service_a).denominator == 2
    assert not FigureRefresh.objects.exists()


def test_the_pages_say_which_figures_are_being_updated(
    client, world, leader, export, django_capture_on_commit_callbacks
):
    audit = answered(leader, world.service_a, ["R00001"])
    with django_capture_on_commit_callbacks() as for_the_worker:
        services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())
    manager = world.user(Role.REGISTERED_MANAGER)
    client.force_login(manager)
    pages = [
        reverse("assurance:overview") + "?period=2026-10",
        reverse("assurance:service_month", args=[world.service_a.pk, "2026-10"]),
        reverse("reporting:dashboard") + "?period=2026-10",
    ]
    for url in pages:
        page = client.get(url).content.decode()
        assert UPDATING in page, url
        assert "Willow House, October 2026 do not count an audit submitted" in page, url

    for_the_worker[0]()

    for url in pages:
        assert UPDATING not in client.get(url).content.decode(), url


def test_the_note_names_each_waiting_month_and_counts_them(world):
    for service in (world.service_a, world.service_b):
        for period in (month(2026, 9), OCTOBER):
            FigureRefresh.objects.create(
                organisation=world.org, service=service, period_start=period.start
            )
    table = FigureTable(world.org, [world.service_a, world.service_b], [month(2026, 9), OCTOBER])

    assert len(table.updating) == 4
    assert table.updating_note.startswith(
        "Figures being updated: those for 4 service-months (Willow House, September 2026;"
    )
    assert "Beech Court, October 2026" in table.updating_note
    assert FigureTable(world.org, [world.service_a], [month(2026, 8)]).updating_note == ""


def test_triggers_and_board_evidence_read_a_waiting_month_rewritten(
    world, leader, export, django_capture_on_commit_callbacks
):
    audit = answered(
        leader,
        world.service_a,
        ["R00001", "R00002"],
        answers=all_met() | {"narrative_quality": ("not_met", "Generic note")},
    )
    with django_capture_on_commit_callbacks():
        services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())
    assert FigureRefresh.objects.exists()

    red = red_figures(organisation=world.org, services=[world.service_a], month=OCTOBER)

    assert "narrative_quality" in [f.measure for f in red[world.service_a.pk]]
    assert not FigureRefresh.objects.exists()


def test_a_lost_rewrite_is_done_by_the_scheduler(
    world, leader, export, monkeypatch, django_capture_on_commit_callbacks
):
    from assurance import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is not answering")

    monkeypatch.setattr(tasks.refresh_figures, "delay", broker_down)
    audit = answered(leader, world.service_a, ["R00001"])
    with django_capture_on_commit_callbacks(execute=True):
        audit, now = services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())
    # The submission stands; the month waits.
    assert now
    assert narrative(world.service_a) is None
    # A minute and more later, the scheduler's next run finds it.
    FigureRefresh.objects.update(requested_at=F("requested_at") - timedelta(minutes=2))

    run_scheduler(at=timezone.now())

    # (The month's triggers read it first, and rewrite it before they do; the sweep would.)
    assert narrative(world.service_a).denominator == 1
    assert not FigureRefresh.objects.exists()


def test_the_sweep_leaves_a_month_a_minute_to_its_queued_rewrite(world, leader, export):
    older = FigureRefresh.objects.create(
        organisation=world.org,
        service=world.service_a,
        period_start=OCTOBER.start,
        requested_at=timezone.now() - timedelta(minutes=2),
    )
    FigureRefresh.objects.create(
        organisation=world.org, service=world.service_b, period_start=OCTOBER.start
    )

    assert figures.sweep() == "figures rewritten for 1 waiting service-month"
    assert list(FigureRefresh.objects.values_list("service_id", flat=True)) == [world.service_b.pk]
    assert not FigureRefresh.objects.filter(pk=older.pk).exists()


def test_a_rewrite_after_a_submission_reads_the_exports_stored_counts_not_its_rows(
    world, leader, export, django_capture_on_commit_callbacks
):
    export.refresh_from_db()
    assert export.counts["due"] == 20 and export.counts["recorded"] == 20
    audit = answered(leader, world.service_a, ["R00001"])
    with django_capture_on_commit_callbacks() as for_the_worker:
        services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())

    with CaptureQueriesContext(connection) as queries:
        for_the_worker[0]()

    counting_rows = [
        q["sql"] for q in queries if "assurance_ecmrecord" in q["sql"] and "COUNT(" in q["sql"]
    ]
    assert counting_rows == []
    completeness = MeasureResult.objects.get(
        service=world.service_a, period_start=OCTOBER.start, measure="completeness", source="ecm"
    )
    assert (completeness.numerator, completeness.denominator) == (20, 20)


def test_the_builders_submit_counts_at_once(world, leader, export):
    # What the rest of the suite relies on: submit() runs what follows the commit.
    audit = answered(leader, world.service_a, ["R00001"])
    submit(actor=leader, audit=audit, submission_key=uuid.uuid4())
    assert narrative(world.service_a).denominator == 1


@pytest.mark.django_db(transaction=True)
def test_a_submission_does_not_wait_for_a_rewrite_of_its_services_figures(
    world, leader, export, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks")
    audit = answered(leader, world.service_a, ["R00001"])
    queued = []
    monkeypatch.setattr(figures, "_queue_refresh", lambda *args: queued.append(args))
    rewriting, finish = threading.Event(), threading.Event()
    outcome = []

    def rewrite_in_progress():
        try:
            with transaction.atomic():
                figures._lock_service(world.service_a)
                rewriting.set()
                finish.wait(timeout=30)
        finally:
            connection.close()

    def team_leader_submits():
        try:
            outcome.append(
                services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())[1]
            )
        finally:
            connection.close()

    worker = threading.Thread(target=rewrite_in_progress)
    worker.start()
    assert rewriting.wait(timeout=10)
    submission = threading.Thread(target=team_leader_submits)
    submission.start()
    submission.join(timeout=10)
    submitted_while_rewriting = list(outcome)
    finish.set()
    worker.join(timeout=10)
    submission.join(timeout=10)

    assert submitted_while_rewriting == [True]
    assert queued == [(world.service_a.pk, OCTOBER.start)]
    assert FigureRefresh.objects.filter(service=world.service_a).exists()
