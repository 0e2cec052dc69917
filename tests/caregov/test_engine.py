"""The scheduler: each review cycle opens once, whatever the clocks do, and late work escalates."""

import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from celery.result import allow_join_result
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from caregov.access import Role
from caregov.cadence import LONDON, Cadence, local_date, period_containing
from caregov.engine import open_due_cycles, run_scheduler
from caregov.history import save_with_reason
from caregov.models import Action, Body, Escalation, ReviewCycle, Service
from caregov.services.governance import (
    action_complete,
    action_raise,
    review_sign_off,
    trigger_setting_save,
)
from caregov.services.organisation import service_update
from caregov.tasks import run_governance_scheduler
from caregov.triggers import ActionOverdue, ReviewOverdue
from tests.factories import OrganisationFactory, ServiceFactory, person_with_role

ADOPTION = "champions.adoption_review"
IMPROVEMENT = "champions.improvement_review"
TREND = "assurance.trend_review"
WORKFLOWS = "workflows.quarterly_review"
ROADMAP = "roadmap.quarterly_review"
RELIANCE = "assurance.board_reliance"

#: What a service reviews in each implementation phase, in the seeds' words.
SERVICE_REVIEWS = {
    Service.Phase.ROLLOUT: [
        (ADOPTION, Cadence.WEEKLY),
        (IMPROVEMENT, Cadence.FORTNIGHTLY),
        (TREND, Cadence.MONTHLY),
    ],
    Service.Phase.STABILISED: [(IMPROVEMENT, Cadence.MONTHLY), (TREND, Cadence.MONTHLY)],
    Service.Phase.PLANNING: [(TREND, Cadence.MONTHLY)],
}
#: What the organisation as a whole reviews.
ORGANISATION_REVIEWS = [
    (RELIANCE, Cadence.QUARTERLY),
    (WORKFLOWS, Cadence.QUARTERLY),
    (ROADMAP, Cadence.QUARTERLY),
]

JUNE_3 = datetime(2026, 6, 3, 12, 0, tzinfo=LONDON)
pytestmark = pytest.mark.usefixtures("logs_kept_for_every_kind")


def london(*parts) -> datetime:
    return datetime(*parts, tzinfo=LONDON)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def morning(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=LONDON)


def every(step: timedelta, start: datetime, end: datetime):
    """Moments from start to end inclusive, stepping in real (UTC) time as beat does."""
    moment, end = start.astimezone(UTC), end.astimezone(UTC)
    while moment <= end:
        yield moment
        moment += step


def make_provider():
    org = OrganisationFactory(name="Oakfield Care Group")
    since = date(2025, 1, 1)
    services = {
        phase: ServiceFactory(organisation=org, name=name, phase=phase, phase_changed_on=since)
        for phase, name in [
            (Service.Phase.ROLLOUT, "Willow House"),
            (Service.Phase.STABILISED, "Beech Court"),
            (Service.Phase.PLANNING, "Ash Lodge"),
        ]
    }
    return SimpleNamespace(
        org=org,
        services=list(services.values()),
        rollout=services[Service.Phase.ROLLOUT],
        stabilised=services[Service.Phase.STABILISED],
        planning=services[Service.Phase.PLANNING],
    )


@pytest.fixture
def provider(db):
    """One provider with a service in each implementation phase, and no people."""
    return make_provider()


def expected_cycles(provider, starts: dict[str, set[date]]) -> list[tuple]:
    rows = []
    for service in provider.services:
        for kind, cadence in SERVICE_REVIEWS[service.phase]:
            rows += [(kind, service.pk, cadence, start) for start in starts[cadence]]
    for kind, cadence in ORGANISATION_REVIEWS:
        rows += [(kind, None, cadence, start) for start in starts[cadence]]
    return sorted(rows, key=repr)


def opened_cycles(org) -> list[tuple]:
    rows = ReviewCycle.objects.filter(organisation=org).values_list(
        "kind", "service_id", "cadence", "period_start"
    )
    return sorted(rows, key=repr)


def counts() -> dict[str, int]:
    return {
        "cycles": ReviewCycle.objects.count(),
        "cycle history": ReviewCycle.history.count(),
        "escalations": Escalation.objects.count(),
        "escalation history": Escalation.history.count(),
    }


# Opening cycles ---------------------------------------------------------------------------------


def test_each_phase_gets_its_own_reviews(provider):
    run_scheduler(at=JUNE_3)

    def kinds(service):
        return sorted(
            ReviewCycle.objects.filter(service=service).values_list("kind", "cadence"),
        )

    assert kinds(provider.rollout) == sorted(SERVICE_REVIEWS[Service.Phase.ROLLOUT])
    assert kinds(provider.stabilised) == sorted(SERVICE_REVIEWS[Service.Phase.STABILISED])
    assert kinds(provider.planning) == [(TREND, Cadence.MONTHLY)]
    whole = ReviewCycle.objects.filter(organisation=provider.org, service__isnull=True)
    assert sorted(whole.values_list("kind", "body")) == [
        (RELIANCE, Body.BOARD),
        (ROADMAP, Body.BOARD),
        (WORKFLOWS, Body.SENIOR_LEADERSHIP_TEAM),
    ]


def test_a_cycle_covers_its_period_and_is_due_days_after_it_ends(provider):
    run_scheduler(at=JUNE_3)
    trend = ReviewCycle.objects.get(kind=TREND, service=provider.planning)
    assert (trend.period_start, trend.period_end) == (date(2026, 6, 1), date(2026, 6, 30))
    assert trend.due_on == date(2026, 7, 10)
    assert trend.body == Body.REGISTERED_MANAGER
    assert trend.status == ReviewCycle.Status.OPEN
    assert trend.history.get().history_change_reason == "caregov.review.opened"


def test_running_twice_for_the_same_moment_changes_nothing_the_second_time(world):
    run_scheduler(at=JUNE_3)
    first = run_scheduler(at=london(2026, 7, 20, 9, 0))  # June's reviews are now overdue
    assert first.cycles_opened and first.escalations_raised
    before = counts()
    evidence = dict(Escalation.objects.values_list("pk", "evidence"))

    again = run_scheduler(at=london(2026, 7, 20, 9, 0))

    assert again.cycles_opened == []
    assert again.escalations_raised == again.escalations_raised_further == []
    assert again.escalations_resolved == []
    assert counts() == before
    assert dict(Escalation.objects.values_list("pk", "evidence")) == evidence


def test_every_15_minutes_across_spring_forward_opens_each_cycle_once(provider):
    for moment in every(timedelta(minutes=15), london(2026, 3, 28), london(2026, 3, 30)):
        run_scheduler(at=moment)
    starts = {
        Cadence.WEEKLY: {date(2026, 3, 23), date(2026, 3, 30)},
        Cadence.FORTNIGHTLY: {date(2026, 3, 23)},
        Cadence.MONTHLY: {date(2026, 3, 1)},
        Cadence.QUARTERLY: {date(2026, 1, 1)},
    }
    assert opened_cycles(provider.org) == expected_cycles(provider, starts)
    # Monday 30 March begins at midnight BST, which is 23:00 UTC on the Sunday.
    new_week = ReviewCycle.objects.get(kind=ADOPTION, period_start=date(2026, 3, 30))
    assert new_week.opened_at == utc(2026, 3, 29, 23, 0)


def test_every_15_minutes_across_fall_back_opens_each_cycle_once(provider):
    for moment in every(timedelta(minutes=15), london(2026, 10, 24), london(2026, 10, 26)):
        run_scheduler(at=moment)
    starts = {
        Cadence.WEEKLY: {date(2026, 10, 19), date(2026, 10, 26)},
        Cadence.FORTNIGHTLY: {date(2026, 10, 19)},
        Cadence.MONTHLY: {date(2026, 10, 1)},
        Cadence.QUARTERLY: {date(2026, 10, 1)},
    }
    assert opened_cycles(provider.org) == expected_cycles(provider, starts)
    # The repeated hour on Sunday 25 October opens nothing new; Monday opens at midnight GMT.
    new_week = ReviewCycle.objects.get(kind=ADOPTION, period_start=date(2026, 10, 26))
    assert new_week.opened_at == utc(2026, 10, 26, 0, 0)


def test_every_15_minutes_across_the_year_end_opens_each_cycle_once(provider):
    for moment in every(timedelta(minutes=15), london(2026, 12, 30), london(2027, 1, 2)):
        run_scheduler(at=moment)
    starts = {
        Cadence.WEEKLY: {date(2026, 12, 28)},
        Cadence.FORTNIGHTLY: {date(2026, 12, 28)},
        Cadence.MONTHLY: {date(2026, 12, 1), date(2027, 1, 1)},
        Cadence.QUARTERLY: {date(2026, 10, 1), date(2027, 1, 1)},
    }
    assert opened_cycles(provider.org) == expected_cycles(provider, starts)
    q1 = ReviewCycle.objects.get(kind=WORKFLOWS, period_start=date(2027, 1, 1))
    assert q1.opened_at == utc(2027, 1, 1, 0, 0)
    assert q1.period.label == "Q1 2027 (Jan to Mar)"


def test_every_six_hours_through_2026_opens_every_period_once_and_nothing_else(provider):
    days_seen = set()
    for moment in every(timedelta(hours=6), london(2026, 1, 1), london(2026, 12, 31, 23, 59)):
        open_due_cycles(at=moment)
        days_seen.add(local_date(moment))
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    assert days_seen == set(days)
    starts = {c: {period_containing(c, day).start for day in days} for c in Cadence}
    assert [len(starts[c]) for c in Cadence] == [53, 27, 12, 4]
    assert opened_cycles(provider.org) == expected_cycles(provider, starts)
    # weekly adoption 53 + fortnightly improvement 27 + monthly: 4 services x 12 + quarterly 3 x 4
    assert ReviewCycle.objects.count() == 53 + 27 + 48 + 12


def test_moving_from_rollout_to_stabilised_switches_the_improvement_review_to_monthly(provider):
    service = provider.rollout
    admin = person_with_role(Role.ORG_ADMIN, organisation=provider.org)
    now = timezone.now()
    run_scheduler(at=now)

    def improvement_reviews():
        return set(
            ReviewCycle.objects.filter(kind=IMPROVEMENT, service=service).values_list(
                "cadence", "period_start"
            )
        )

    fortnight = period_containing(Cadence.FORTNIGHTLY, local_date(now))
    assert improvement_reviews() == {(Cadence.FORTNIGHTLY, fortnight.start)}
    adoption = ReviewCycle.objects.filter(kind=ADOPTION, service=service).count()

    service_update(actor=admin, service=service, phase=Service.Phase.STABILISED)
    later = [now + timedelta(minutes=1), now + timedelta(days=40)]
    for moment in later:
        run_scheduler(at=moment)

    months = {
        (Cadence.MONTHLY, period_containing(Cadence.MONTHLY, local_date(m)).start) for m in later
    }
    assert len(months) == 2
    assert improvement_reviews() == {(Cadence.FORTNIGHTLY, fortnight.start)} | months
    assert ReviewCycle.objects.filter(kind=ADOPTION, service=service).count() == adoption


def test_a_late_run_for_a_day_before_a_phase_change_uses_the_phase_the_service_had_then(db):
    org = OrganisationFactory()
    service = ServiceFactory.build(
        organisation=org, phase=Service.Phase.ROLLOUT, phase_changed_on=date(2026, 1, 1)
    )
    service._history_date = london(2026, 1, 1, 9, 0)
    save_with_reason(service, actor=None, reason="caregov.service.created")
    service.phase = Service.Phase.STABILISED
    service.phase_changed_on = date(2026, 6, 15)
    service._history_date = london(2026, 6, 15, 9, 0)
    save_with_reason(service, actor=None, reason="caregov.service.phase_changed")

    run_scheduler(at=london(2026, 6, 10, 12, 0))  # catching up on a day still in rollout
    assert list(
        ReviewCycle.objects.filter(kind=IMPROVEMENT).values_list("cadence", "period_start")
    ) == [(Cadence.FORTNIGHTLY, period_containing(Cadence.FORTNIGHTLY, date(2026, 6, 10)).start)]
    assert ReviewCycle.objects.filter(kind=ADOPTION).count() == 1

    run_scheduler(at=london(2026, 6, 16, 12, 0))
    assert ReviewCycle.objects.filter(kind=IMPROVEMENT, cadence=Cadence.MONTHLY).count() == 1
    assert ReviewCycle.objects.filter(kind=ADOPTION).count() == 1


def _run_together(moment, runners=2):
    """Run the scheduler for the same moment in several threads released at once."""
    barrier = threading.Barrier(runners)
    summaries, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            summaries.append(run_scheduler(at=moment))
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(summaries) == runners
    return summaries


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_running_at_once_leave_one_row_per_cycle_and_escalation():
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL: SQLite serialises writers.")
    provider = make_provider()
    moments = [JUNE_3, london(2026, 7, 20, 9, 0), london(2026, 9, 1, 0, 0)]
    for moment in moments:
        cycles, escalations = ReviewCycle.objects.count(), Escalation.objects.count()
        summaries = _run_together(moment)
        # Between them the runners claim each new row once: a clash counts as already done.
        opened = [pk for s in summaries for pk in s.cycles_opened]
        raised = [pk for s in summaries for pk in s.escalations_raised]
        assert len(opened) == len(set(opened)) == ReviewCycle.objects.count() - cycles > 0
        assert len(raised) == len(set(raised)) == Escalation.objects.count() - escalations

    days = {local_date(m) for m in moments}
    starts = {c: {period_containing(c, day).start for day in days} for c in Cadence}
    assert opened_cycles(provider.org) == expected_cycles(provider, starts)
    keys = list(
        Escalation.objects.values_list(
            "trigger", "service_id", "cadence", "period_start", "subject"
        )
    )
    assert keys and len(keys) == len(set(keys))
    assert ReviewCycle.history.filter(history_type="+").count() == ReviewCycle.objects.count()
    assert Escalation.history.filter(history_type="+").count() == Escalation.objects.count()

    cycle = ReviewCycle.objects.filter(service__isnull=False).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewCycle.objects.create(
            kind=cycle.kind,
            organisation=cycle.organisation,
            service=cycle.service,
            cadence=cycle.cadence,
            period_start=cycle.period_start,
            period_end=cycle.period_end,
            body=cycle.body,
            due_on=cycle.due_on,
        )


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_running_at_once_record_an_escalations_rise_once():
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL: SQLite serialises writers.")
    make_provider()
    run_scheduler(at=JUNE_3)
    run_scheduler(at=london(2026, 7, 20, 9, 0))  # June's reviews escalate to the body above
    moment = london(2026, 9, 1, 9, 0)  # and now go a level further
    open_due_cycles(at=moment)

    summaries = _run_together(moment)

    further = [pk for s in summaries for pk in s.escalations_raised_further]
    assert further
    rows = Counter(Escalation.history.filter(history_date=moment).values_list("id", flat=True))
    assert {pk: n for pk, n in rows.items() if n > 1} == {}
    assert len(further) == len(set(further))


# Review overdue ---------------------------------------------------------------------------------


def june_trend_review(world) -> ReviewCycle:
    run_scheduler(at=JUNE_3)
    return ReviewCycle.objects.get(
        kind=TREND, service=world.service_a, period_start=date(2026, 6, 1)
    )


def overdue(cycle: ReviewCycle) -> Escalation | None:
    return Escalation.objects.filter(
        trigger=ReviewOverdue.code, subject=f"review:{cycle.pk}"
    ).first()


def stored_status(cycle: ReviewCycle) -> str:
    return ReviewCycle.objects.values_list("status", flat=True).get(pk=cycle.pk)


def test_a_review_not_signed_off_14_days_after_its_period_escalates_to_the_quality_lead(world):
    cycle = june_trend_review(world)  # June ends on the 30th

    run_scheduler(at=london(2026, 7, 13, 23, 45))
    assert overdue(cycle) is None

    summary = run_scheduler(at=london(2026, 7, 14, 0, 0))
    escalation = overdue(cycle)
    assert escalation is not None and escalation.pk in summary.escalations_raised
    assert escalation.escalated_to == Body.QUALITY_LEAD
    assert escalation.owner == world.user(Role.QUALITY_LEAD)
    assert escalation.status == Escalation.Status.OPEN
    assert escalation.severity == Escalation.Severity.MEDIUM
    assert (escalation.cadence, escalation.period_start) == (Cadence.MONTHLY, date(2026, 6, 1))
    assert escalation.service == world.service_a
    assert "not signed off 14 days after the period ended" in escalation.title


def test_an_escalation_names_the_review_and_the_figures_that_fired_it(world):
    cycle = june_trend_review(world)
    run_scheduler(at=london(2026, 7, 14, 8, 0))
    evidence = overdue(cycle).evidence
    assert evidence["records"] == [
        {"model": "caregov.ReviewCycle", "id": cycle.pk, "label": str(cycle)}
    ]
    assert evidence["figures"]["days_since_period_end"] == 14
    assert evidence["figures"]["threshold_days"] == 14
    assert evidence["figures"]["levels_up"] == 1
    assert evidence["figures"]["review_body"] == "Registered manager"
    assert evidence["figures"]["status"] == "Open"


def test_a_further_14_days_late_goes_to_the_senior_leadership_team_on_the_same_escalation(world):
    cycle = june_trend_review(world)
    run_scheduler(at=london(2026, 7, 14, 8, 0))
    first = overdue(cycle)

    run_scheduler(at=london(2026, 7, 27, 8, 0))
    assert overdue(cycle).escalated_to == Body.QUALITY_LEAD

    summary = run_scheduler(at=london(2026, 7, 28, 8, 0))
    escalation = overdue(cycle)
    assert escalation.pk == first.pk
    assert summary.escalations_raised_further.count(escalation.pk) == 1
    assert escalation.escalated_to == Body.SENIOR_LEADERSHIP_TEAM
    assert escalation.owner == world.user(Role.SENIOR_LEADER)
    assert escalation.severity == Escalation.Severity.HIGH
    assert escalation.evidence["figures"]["levels_up"] == 2
    latest = escalation.history.first()
    assert latest.history_change_reason == "caregov.escalation.raised_further"
    assert latest.history_date == london(2026, 7, 28, 8, 0)
    assert Escalation.objects.filter(subject=f"review:{cycle.pk}").count() == 1


def test_signing_off_the_review_resolves_its_escalation_at_once_and_the_next_run_keeps_it(world):
    cycle = june_trend_review(world)
    run_scheduler(at=london(2026, 7, 14, 8, 0))
    review_sign_off(
        actor=world.user(Role.REGISTERED_MANAGER),
        cycle=cycle,
        decision="Gaps relate to night shift handover; retrain.",
        minutes="Reviewed June completeness with the team leader.",
        at=london(2026, 7, 15, 10, 0),
    )

    escalation = overdue(cycle)
    assert escalation.status == Escalation.Status.RESOLVED
    assert escalation.resolved_at == london(2026, 7, 15, 10, 0)
    assert escalation.resolved_by == world.user(Role.REGISTERED_MANAGER)
    assert escalation.history.first().history_change_reason == "caregov.escalation.cleared"

    summary = run_scheduler(at=london(2026, 7, 15, 10, 15))
    assert escalation.pk not in summary.escalations_resolved
    run_scheduler(at=london(2026, 8, 30, 10, 0))
    assert overdue(cycle).status == Escalation.Status.RESOLVED
    assert Escalation.objects.filter(subject=f"review:{cycle.pk}").count() == 1


def test_an_organisations_own_threshold_changes_when_a_review_escalates(world):
    trigger_setting_save(
        actor=world.user(Role.ORG_ADMIN),
        organisation=world.org,
        trigger_code=ReviewOverdue.code,
        thresholds={"days_after_period": 3, "days_per_level": 14},
        enabled=True,
    )
    cycle = june_trend_review(world)
    elsewhere = ReviewCycle.objects.get(
        kind=TREND, service=world.service_c, period_start=date(2026, 6, 1)
    )

    run_scheduler(at=london(2026, 7, 2, 9, 0))
    assert overdue(cycle) is None

    run_scheduler(at=london(2026, 7, 3, 9, 0))
    assert overdue(cycle).escalated_to == Body.QUALITY_LEAD
    assert overdue(cycle).evidence["figures"]["threshold_days"] == 3
    assert overdue(elsewhere) is None  # the other provider keeps the default 14 days


def test_a_disabled_trigger_raises_nothing_for_that_organisation(world):
    trigger_setting_save(
        actor=world.user(Role.ORG_ADMIN),
        organisation=world.org,
        trigger_code=ReviewOverdue.code,
        thresholds={},
        enabled=False,
    )
    cycle = june_trend_review(world)
    elsewhere = ReviewCycle.objects.get(
        kind=TREND, service=world.service_c, period_start=date(2026, 6, 1)
    )
    summary = run_scheduler(at=london(2026, 7, 20, 9, 0))
    assert overdue(cycle) is None
    assert overdue(elsewhere) is not None
    raised = Escalation.objects.filter(pk__in=summary.escalations_raised)
    assert {e.organisation for e in raised} == {world.other_org}


def test_closing_a_service_does_not_resolve_its_overdue_review_as_if_signed_off(world):
    cycle = june_trend_review(world)
    run_scheduler(at=london(2026, 7, 14, 8, 0))
    assert overdue(cycle).status == Escalation.Status.OPEN

    service_update(actor=world.user(Role.ORG_ADMIN), service=world.service_a, is_active=False)
    run_scheduler(at=london(2026, 7, 15, 8, 0))

    assert stored_status(cycle) == ReviewCycle.Status.OPEN
    assert overdue(cycle).status != Escalation.Status.RESOLVED


# Action overdue ---------------------------------------------------------------------------------


def raise_action(world, due_on: date, title: str = "Retrain night staff on MAR charts") -> Action:
    manager = world.user(Role.REGISTERED_MANAGER)
    return action_raise(
        actor=manager,
        title=title,
        owner=manager,
        due_on=due_on,
        finding_ref="assurance.audit:1",
        organisation=world.org,
        service=world.service_a,
        created_at=london(2026, 6, 1, 9, 0),
    )


def action_escalation(action: Action) -> Escalation | None:
    return Escalation.objects.filter(
        trigger=ActionOverdue.code, subject=f"action:{action.pk}"
    ).first()


def test_an_open_action_a_day_past_due_escalates_with_the_action_as_evidence(world):
    action = raise_action(world, due_on=date(2026, 6, 10))

    run_scheduler(at=london(2026, 6, 10, 18, 0))
    assert action_escalation(action) is None

    run_scheduler(at=morning(date(2026, 6, 11)))
    escalation = action_escalation(action)
    assert escalation is not None
    assert escalation.escalated_to == Body.REGISTERED_MANAGER
    assert escalation.service == world.service_a
    assert escalation.evidence["records"] == [
        {"model": "caregov.Action", "id": action.pk, "label": action.title}
    ]
    assert escalation.evidence["figures"]["days_overdue"] == 1


def test_a_done_action_does_not_escalate_and_finishing_a_late_one_clears_it(world):
    done = raise_action(world, due_on=date(2026, 6, 10), title="Update the falls policy")
    late = raise_action(world, due_on=date(2026, 6, 10))
    manager = world.user(Role.REGISTERED_MANAGER)
    action_complete(
        actor=manager, action=done, evidence="Policy v3 issued", at=london(2026, 6, 9, 9, 0)
    )

    run_scheduler(at=morning(date(2026, 6, 20)))
    assert action_escalation(done) is None
    assert action_escalation(late).status == Escalation.Status.OPEN

    action_complete(
        actor=manager, action=late, evidence="Training log signed", at=london(2026, 6, 21, 9, 0)
    )
    run_scheduler(at=morning(date(2026, 6, 22)))
    assert action_escalation(late).status == Escalation.Status.RESOLVED


# How it is run ----------------------------------------------------------------------------------


def test_the_command_runs_for_a_uk_time_in_the_repeated_hour_and_prints_a_summary(provider):
    out = StringIO()
    call_command("run_review_cycles", "--at", "2026-10-25T01:30", stdout=out)
    assert out.getvalue().strip() == (
        "25 Oct 2026 01:30 GMT: 9 review cycles opened, 0 escalations raised, "
        "0 escalated further, 0 resolved automatically"
    )
    # The second 01:30 of the night, after the clocks went back: the ECM import's reading too.
    opened = set(ReviewCycle.objects.values_list("opened_at", flat=True))
    assert opened == {utc(2026, 10, 25, 1, 30)}


def test_the_beat_task_opens_due_cycles(provider):
    # Celery guards against waiting on a result from inside a task with one flag for the whole
    # process, which an eager task still running in an earlier test's server thread can hold:
    # this test is not inside a task, so it says so.
    with allow_join_result():
        summary = run_governance_scheduler.delay("2026-06-03T12:00:00+01:00").get()
        assert "9 review cycles opened" in summary
        assert ReviewCycle.objects.filter(organisation=provider.org).count() == 9
        run_governance_scheduler.delay().get()  # beat passes no moment: it runs for now
    today = timezone.localdate()
    current = ReviewCycle.objects.filter(kind=TREND, period_start__lte=today, period_end__gte=today)
    assert current.count() == 3
