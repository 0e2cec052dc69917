"""What needs a person's decision this week: which escalations, actions and reviews, in one order
of urgency, counted once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caregov import selectors
from caregov.access import Role
from caregov.cadence import local_date
from caregov.models import Action, Escalation, ReviewCycle
from tests.factories import person_with_role


@pytest.fixture
def at(world):
    """The moment the tests ask at: just after the world was made."""
    return timezone.now()


def raise_escalation(service, *, at, days_ago: int, severity="medium", **fields):
    return Escalation.objects.create(
        organisation=service.organisation,
        service=service,
        trigger=fields.pop("trigger", "assurance.unreliable_reports"),
        cadence="monthly",
        period_start=local_date(at).replace(day=1),
        period_end=local_date(at).replace(day=28),
        subject=fields.pop("subject", f"{days_ago} {severity}"),
        title=fields.pop("title", f"{severity.capitalize()}, raised {days_ago} days ago"),
        severity=severity,
        escalated_to=fields.pop("escalated_to", "registered_manager"),
        raised_at=at - timedelta(days=days_ago),
        **fields,
    )


def raise_action(service, owner, *, at, due_in_days: int, **fields):
    return Action.objects.create(
        organisation=service.organisation,
        service=service,
        title=fields.pop("title", f"Due in {due_in_days} days"),
        owner=owner,
        due_on=local_date(at) + timedelta(days=due_in_days),
        source="review",
        created_at=at - timedelta(days=30),
        **fields,
    )


def raised_here(found) -> list:
    """The escalations a test raised, in the order found: not the world's own."""
    return [
        i.record
        for i in found.items
        if i.kind == "escalation" and i.record.trigger != "caregov.review_overdue"
    ]


def test_a_high_escalation_two_days_old_comes_before_a_medium_one_400_days_old(world, at):
    manager = world.user(Role.REGISTERED_MANAGER)
    raise_escalation(world.service_a, at=at, days_ago=400, severity="medium")
    raise_escalation(world.service_a, at=at, days_ago=2, severity="high")
    raise_escalation(world.service_a, at=at, days_ago=30, severity="low")

    found = selectors.needs_attention(user=manager, at=at)

    assert [e.title for e in raised_here(found)] == [
        "High, raised 2 days ago",
        "Medium, raised 400 days ago",
        "Low, raised 30 days ago",
    ]


def test_among_escalations_equally_severe_the_older_comes_first(world, at):
    manager = world.user(Role.REGISTERED_MANAGER)
    for days in (3, 430, 40):
        raise_escalation(world.service_a, at=at, days_ago=days, severity="high")

    found = selectors.needs_attention(user=manager, at=at)

    assert [(at - e.raised_at).days for e in raised_here(found)] == [430, 40, 3]


def test_actions_and_reviews_are_given_a_severity_by_how_overdue_they_are(world, at):
    manager = world.user(Role.REGISTERED_MANAGER)
    long_overdue = raise_action(world.service_a, manager, at=at, due_in_days=-20)
    overdue = raise_action(world.service_a, manager, at=at, due_in_days=-3)
    soon = raise_action(world.service_a, manager, at=at, due_in_days=5)
    raise_action(world.service_a, manager, at=at, due_in_days=8)  # next week: not yet
    medium = raise_escalation(world.service_a, at=at, days_ago=1, severity="medium")

    found = selectors.needs_attention(user=manager, at=at)
    by_record = {(i.kind, i.record.pk): i for i in found.items}

    assert by_record["action", long_overdue.pk].severity == "high"
    assert by_record["action", overdue.pk].severity == "medium"
    assert by_record["action", soon.pk].severity == "low"
    # The world's October review was due on 10 Nov 2026: 14 days overdue on 24 Nov, medium.
    review = world.record("review", world.service_a)
    assert by_record["review", review.pk].severity == "medium"
    assert [i.record for i in found.items] == [
        long_overdue,  # high, 20 days overdue
        review,  # medium, 14 days overdue
        overdue,  # medium, 3 days overdue
        medium,  # medium, waiting 1 day
        world.record("escalation", world.service_a),  # medium, raised today
        soon,  # low, due in 5 days
    ]
    assert found.counts == selectors.AttentionCounts(
        escalations=2,
        high_escalations=0,
        actions=3,
        overdue_actions=2,
        reviews=1,
        overdue_reviews=1,
    )


def test_escalations_are_theirs_when_with_them_or_at_a_service_they_manage(world, at):
    manager = world.user(Role.REGISTERED_MANAGER)
    quality_lead = world.user(Role.QUALITY_LEAD)
    # The world's escalation at Willow House is with the quality lead: the manager there still
    # acknowledges it and raises actions.
    with_lead = world.record("escalation", world.service_a)
    mine = raise_escalation(world.service_a, at=at, days_ago=5)
    elsewhere = raise_escalation(world.service_b, at=at, days_ago=5)
    resolved = raise_escalation(world.service_a, at=at, days_ago=9, subject="done")
    resolved.status, resolved.resolved_at = Escalation.Status.RESOLVED, at
    resolved.save()
    given = raise_escalation(world.service_b, at=at, days_ago=3, owner=quality_lead)

    for_manager = [i.record for i in selectors.needs_attention(user=manager, at=at).items]
    for_lead = [i.record for i in selectors.needs_attention(user=quality_lead, at=at).items]

    assert mine in for_manager and with_lead in for_manager
    assert elsewhere not in for_manager and resolved not in for_manager
    # Across the organisation the quality lead decides what is with the quality lead, or given
    # to them; the managers' own escalations stay with the managers.
    assert with_lead in for_lead and given in for_lead
    assert mine not in for_lead and elsewhere not in for_lead


def test_a_manager_chases_anyones_overdue_action_at_their_service(world, at):
    manager = world.user(Role.REGISTERED_MANAGER)
    team_leader = world.user(Role.TEAM_LEADER)
    late = raise_action(world.service_a, team_leader, at=at, due_in_days=-2, title="Late")
    soon = raise_action(world.service_a, team_leader, at=at, due_in_days=2, title="Soon")
    done = raise_action(
        world.service_a, team_leader, at=at, due_in_days=-9, status=Action.Status.DONE
    )
    other_org = person_with_role(Role.REGISTERED_MANAGER, service=world.service_c)
    far = raise_action(world.service_c, other_org, at=at, due_in_days=-2)

    for_manager = [i.record for i in selectors.needs_attention(user=manager, at=at).items]
    for_team_leader = [i.record for i in selectors.needs_attention(user=team_leader, at=at).items]

    assert late in for_manager
    assert soon not in for_manager  # not late yet: the team leader's own to do
    assert done not in for_manager and far not in for_manager
    assert late in for_team_leader and soon in for_team_leader


def test_nothing_raised_or_opened_after_the_moment_asked_about_is_counted(world, at):
    manager = world.user(Role.REGISTERED_MANAGER)
    earlier = at - timedelta(days=3)
    raise_escalation(world.service_a, at=at, days_ago=1)
    ReviewCycle.objects.filter(service=world.service_a).update(opened_at=at)

    found = selectors.needs_attention(user=manager, at=earlier)

    assert found.counts.escalations == 0
    assert found.counts.reviews == 0


def test_the_escalations_list_order_is_the_same_as_the_attention_order(world, at):
    raise_escalation(world.service_a, at=at, days_ago=430, severity="low")
    raise_escalation(world.service_a, at=at, days_ago=2, severity="high")
    raise_escalation(world.service_a, at=at, days_ago=400, severity="medium")
    raise_escalation(world.service_a, at=at, days_ago=10, severity="high")
    manager = world.user(Role.REGISTERED_MANAGER)

    listed = selectors.escalations_by_urgency(selectors.escalation_list(user=manager))
    found = selectors.needs_attention(user=manager, at=at)

    assert list(listed) == [i.record for i in found.items if i.kind == "escalation"]
    assert [(e.severity, (at - e.raised_at).days) for e in listed] == [
        ("high", 10),
        ("high", 2),
        ("medium", 400),
        ("medium", 0),  # the world's review overdue escalation
        ("low", 430),
    ]
