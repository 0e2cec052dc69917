"""The scheduler run for a past moment: it never rewrites what happened after that moment, never
opens a period from before the provider was on caregov, and escalations only ever move up."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from caregov.access import Role
from caregov.cadence import LONDON, Cadence, period_containing
from caregov.engine import run_scheduler
from caregov.history import save_with_reason
from caregov.models import Action, Body, Escalation, ReviewCycle, Service
from caregov.services.governance import action_raise, review_sign_off, trigger_setting_save
from caregov.triggers import ActionOverdue, ReviewOverdue
from tests.factories import OrganisationFactory, ServiceFactory

TREND = "assurance.trend_review"
IMPROVEMENT = "champions.improvement_review"
CHAMPIONS_AND_ROADMAP = {
    "champions.adoption_review",
    "champions.improvement_review",
    "roadmap.quarterly_review",
}


def london(*parts) -> datetime:
    return datetime(*parts, tzinfo=LONDON)


def every(step: timedelta, start: datetime, end: datetime):
    moment = start
    while moment <= end:
        yield moment
        moment += step


def escalation_rows() -> list[dict]:
    return [
        {**model_to_dict(e), "raised_at": e.raised_at, "resolved_at": e.resolved_at}
        for e in Escalation.objects.order_by("pk")
    ]


def stored_state() -> dict:
    return {
        "escalations": escalation_rows(),
        "escalation history": Escalation.history.count(),
        "cycles": sorted(ReviewCycle.objects.values_list("pk", "status", "opened_at")),
        "cycle history": ReviewCycle.history.count(),
        "actions": sorted(Action.objects.values_list("pk", "status", "due_on")),
    }


def resolved_before_raised() -> list[int]:
    return [
        e.pk for e in Escalation.objects.exclude(resolved_at=None) if e.resolved_at < e.raised_at
    ]


# A run for a past moment -----------------------------------------------------------------------


@pytest.fixture
def autumn(world):
    """Sep to Dec 2026 as it happened: the scheduler ran every other day at 06:00, reviews were left
    late, one was signed off in November, and an action due on 20 Sep was never done, so on
    2 Nov its escalation reached the board. The clock reads 23 Dec 2026."""
    with time_machine.travel(london(2026, 12, 23, 9, 0), tick=False):
        manager = world.user(Role.REGISTERED_MANAGER)
        action = action_raise(
            actor=manager,
            title="Retrain night staff on MAR charts",
            owner=manager,
            due_on=date(2026, 9, 20),
            finding_ref="assurance.audit:1",
            organisation=world.org,
            service=world.service_a,
            created_at=london(2026, 9, 1, 9, 0),
        )
        for moment in every(
            timedelta(days=1), london(2026, 9, 1, 6, 0), london(2026, 12, 22, 6, 0)
        ):
            run_scheduler(at=moment)
            if moment.date() == date(2026, 11, 20):
                september = ReviewCycle.objects.get(
                    kind=TREND, service=world.service_a, period_start=date(2026, 9, 1)
                )
                review_sign_off(
                    actor=manager,
                    cycle=september,
                    decision="Gaps are night-shift handovers; retrain.",
                    minutes="Reviewed September with the team leader.",
                    at=london(2026, 11, 20, 14, 0),
                )
        yield action


def test_a_run_for_24_october_changes_nothing_raised_or_moved_after_it(world, autumn):
    after = london(2026, 10, 24, 20, 0)
    later = Escalation.objects.filter(raised_at__gt=after, trigger=ReviewOverdue.code)
    assert later.filter(status=Escalation.Status.OPEN).count() >= 4
    action_escalation = Escalation.objects.get(
        trigger=ActionOverdue.code, subject=f"action:{autumn.pk}"
    )
    assert action_escalation.escalated_to == Body.BOARD
    assert action_escalation.history.filter(history_date__gt=after).exists()
    before = stored_state()

    with time_machine.travel(london(2026, 12, 23, 9, 30), tick=False):
        summary = run_scheduler(at=after)

    assert summary.escalations_resolved == []
    assert summary.escalations_raised_further == []
    assert stored_state() == before
    assert resolved_before_raised() == []


def test_past_moments_replayed_in_any_order_leave_everything_where_it_got_to(world, autumn):
    with time_machine.travel(london(2026, 12, 23, 9, 30), tick=False):
        call_command("run_review_cycles", "--at", "2026-10-24T20:00", stdout=StringIO())
        for moment in [london(2026, 10, 1, 6, 0), london(2026, 9, 15, 6, 0), london(2026, 11, 2)]:
            run_scheduler(at=moment)

    escalation = Escalation.objects.get(trigger=ActionOverdue.code, subject=f"action:{autumn.pk}")
    assert escalation.escalated_to == Body.BOARD
    assert escalation.severity == Escalation.Severity.HIGH
    assert resolved_before_raised() == []


def test_the_database_refuses_an_escalation_resolved_before_it_was_raised(world):
    escalation = world.record("escalation", world.service_a)
    escalation.status = Escalation.Status.RESOLVED
    escalation.resolved_at = escalation.raised_at - timedelta(days=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        escalation.save()


def test_the_database_refuses_an_escalation_acknowledged_before_it_was_raised(world):
    escalation = world.record("escalation", world.service_a)
    escalation.acknowledged_at = escalation.raised_at - timedelta(minutes=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        escalation.save()


# Only ever up ----------------------------------------------------------------------------------


def test_an_escalation_with_the_senior_leadership_team_stays_there_when_thresholds_rise(world):
    run_scheduler(at=london(2026, 6, 3, 12, 0))
    june = ReviewCycle.objects.get(
        kind=TREND, service=world.service_a, period_start=date(2026, 6, 1)
    )
    run_scheduler(at=london(2026, 7, 28, 8, 0))  # 28 days late: two levels up
    escalation = Escalation.objects.get(trigger=ReviewOverdue.code, subject=f"review:{june.pk}")
    assert (escalation.escalated_to, escalation.severity) == (Body.SENIOR_LEADERSHIP_TEAM, "high")

    trigger_setting_save(
        actor=world.user(Role.ORG_ADMIN),
        organisation=world.org,
        trigger_code=ReviewOverdue.code,
        thresholds={"days_after_period": 14, "days_per_level": 60},
        enabled=True,
    )
    summary = run_scheduler(at=london(2026, 7, 29, 8, 0))  # the new rule says one level up

    escalation.refresh_from_db()
    assert escalation.escalated_to == Body.SENIOR_LEADERSHIP_TEAM
    assert escalation.owner == world.user(Role.SENIOR_LEADER)
    assert escalation.severity == Escalation.Severity.HIGH
    assert escalation.pk not in summary.escalations_raised_further


# Nothing before the provider was on caregov ------------------------------------------------------


@pytest.fixture
def july_provider(db):
    """A provider added to caregov on 15 Jul 2026, with a service that joined on 3 Sep 2026."""
    joined = london(2026, 7, 15, 10, 0)
    org = OrganisationFactory(name="Latecomer Care", created_at=joined)
    first = ServiceFactory(organisation=org, name="First House", created_at=joined)
    second = ServiceFactory(organisation=org, name="Second House", created_at=london(2026, 9, 3, 9))
    return org, first, second


def test_no_review_is_opened_for_a_period_that_ended_before_the_provider_joined(july_provider):
    org, first, second = july_provider
    with time_machine.travel(london(2026, 10, 31, 9, 0), tick=False):
        for moment in every(timedelta(days=3), london(2026, 1, 1, 6, 0), london(2026, 10, 30, 6)):
            run_scheduler(at=moment)

    cycles = ReviewCycle.objects.filter(organisation=org)
    assert not cycles.filter(period_end__lt=date(2026, 7, 15)).exists()
    assert not cycles.filter(service=second, period_end__lt=date(2026, 9, 3)).exists()
    monthly = cycles.filter(kind=TREND, service=first).values_list("period_start", flat=True)
    assert sorted(monthly) == [
        date(2026, 7, 1),
        date(2026, 8, 1),
        date(2026, 9, 1),
        date(2026, 10, 1),
    ]
    quarterly = cycles.filter(service=None, cadence=Cadence.QUARTERLY)
    assert set(quarterly.values_list("period_start", flat=True)) == {
        date(2026, 7, 1),
        date(2026, 10, 1),
    }
    overdue = Escalation.objects.filter(organisation=org, trigger=ReviewOverdue.code)
    assert not overdue.filter(period_end__lt=date(2026, 7, 15)).exists()
    assert not overdue.filter(raised_at__lt=london(2026, 7, 15, 10, 0)).exists()


def test_a_run_for_a_moment_before_the_provider_joined_opens_nothing(july_provider):
    org, *_ = july_provider
    summary = run_scheduler(at=london(2026, 3, 31, 9, 0))
    assert summary.cycles_opened == []
    assert not ReviewCycle.objects.filter(organisation=org).exists()


@pytest.mark.usefixtures("logs_kept_for_every_kind")
def test_before_its_first_recorded_phase_a_service_was_in_that_phase(db):
    service = ServiceFactory.build(
        organisation=OrganisationFactory(),
        phase=Service.Phase.ROLLOUT,
        phase_changed_on=date(2026, 3, 1),
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    service._history_date = london(2026, 3, 1, 9, 0)
    save_with_reason(service, actor=None, reason="caregov.service.created")
    service.phase = Service.Phase.STABILISED
    service.phase_changed_on = date(2026, 6, 1)
    service._history_date = london(2026, 6, 1, 9, 0)
    save_with_reason(service, actor=None, reason="caregov.service.phase_changed")

    run_scheduler(at=london(2026, 2, 10, 12, 0))  # before the first phase caregov recorded

    fortnight = period_containing(Cadence.FORTNIGHTLY, date(2026, 2, 10))
    assert list(
        ReviewCycle.objects.filter(kind=IMPROVEMENT).values_list("cadence", "period_start")
    ) == [(Cadence.FORTNIGHTLY, fortnight.start)]


# Reviews with nothing to review ----------------------------------------------------------------


def test_reviews_of_logs_not_kept_yet_open_nothing(db):
    service = ServiceFactory(phase=Service.Phase.ROLLOUT)
    with time_machine.travel(london(2026, 12, 1, 9, 0), tick=False):
        for moment in every(timedelta(days=7), london(2026, 6, 1, 6, 0), london(2026, 11, 30, 6)):
            run_scheduler(at=moment)

    kinds = set(
        ReviewCycle.objects.filter(organisation=service.organisation).values_list("kind", flat=True)
    )
    assert kinds & CHAMPIONS_AND_ROADMAP == set()
    assert TREND in kinds


def test_no_board_pack_is_asked_for_a_quarter_that_ended_before_the_provider_joined(
    july_provider, settings
):
    from reporting.models import Pack

    settings.REPORTING_PACKS_ON_SCHEDULE = True
    org, *_ = july_provider
    for moment in [london(2026, 4, 2, 6, 0), london(2026, 7, 15, 12, 0), london(2026, 7, 20, 6, 0)]:
        summary = run_scheduler(at=moment)
        assert summary.jobs == []
    assert not Pack.objects.filter(organisation=org).exists()
