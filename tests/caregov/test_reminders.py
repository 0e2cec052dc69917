"""Owners hear about their work before it is late, once for each thing, and never about work that
is done or no longer theirs."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from caregov.access import Role
from caregov.cadence import LONDON
from caregov.engine import run_scheduler
from caregov.models import Reminder, ReviewCycle
from caregov.reminders import remind
from caregov.services.governance import action_complete, action_raise, escalation_assign
from tests.factories import ServiceFactory, person_with_role


def london(*parts) -> datetime:
    return datetime(*parts, tzinfo=LONDON)


@pytest.fixture
def team(db):
    willow = ServiceFactory(name="Willow House")
    manager = person_with_role(
        Role.REGISTERED_MANAGER, service=willow, email="amira@oakfield.example"
    )
    quality = person_with_role(
        Role.QUALITY_LEAD, organisation=willow.organisation, email="quinn@oakfield.example"
    )
    return willow, manager, quality


def raise_action(team, *, due_on: date, at: datetime, title="Retrain night staff on MAR charts"):
    willow, manager, _ = team
    with time_machine.travel(at, tick=False):
        return action_raise(
            actor=manager,
            title=title,
            owner=manager,
            due_on=due_on,
            finding_ref="assurance.audit:1",
            organisation=willow.organisation,
            service=willow,
        )


def told(email: str) -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [email]]


def remind_at(moment: datetime) -> str:
    with time_machine.travel(moment, tick=False):
        return remind(at=moment)


def every_quarter_hour(start: datetime, end: datetime):
    moment = start
    while moment <= end:
        yield moment
        moment += timedelta(minutes=15)


def test_an_owner_is_told_once_when_an_action_is_given_to_them(team):
    raise_action(team, due_on=date(2026, 12, 18), at=london(2026, 12, 1, 9, 0))

    remind_at(london(2026, 12, 1, 9, 15))
    remind_at(london(2026, 12, 1, 9, 30))

    [subject] = told("amira@oakfield.example")
    assert subject == (
        "caregov: Given to you: Action: Retrain night staff on MAR charts (Willow House), "
        "due 18 Dec 2026"
    )
    assert "/actions/" in mail.outbox[0].body


def test_a_week_before_a_day_before_and_once_overdue_each_once(team):
    raise_action(team, due_on=date(2026, 12, 18), at=london(2026, 12, 1, 9, 0))
    for day in range(1, 22):
        for hour in (6, 12, 18):
            remind_at(london(2026, 12, day, hour, 0))

    subjects = told("amira@oakfield.example")
    assert [s.split(":")[1].strip() for s in subjects] == [
        "Given to you",
        "Due within a week",
        "Due tomorrow",
        "Overdue",
    ]
    week, day, overdue = (
        Reminder.objects.get(kind=kind).created_at.date()
        for kind in ("week_before", "day_before", "overdue")
    )
    assert (week, day, overdue) == (date(2026, 12, 11), date(2026, 12, 17), date(2026, 12, 19))


def test_work_given_with_under_a_week_to_go_is_told_once_as_given(team):
    raise_action(team, due_on=date(2026, 12, 5), at=london(2026, 12, 1, 9, 0))
    remind_at(london(2026, 12, 1, 9, 15))
    remind_at(london(2026, 12, 2, 9, 15))
    assert [s.split(":")[1].strip() for s in told("amira@oakfield.example")] == ["Given to you"]


def test_work_done_before_the_reminder_goes_out_is_not_reminded(team):
    _, manager, _ = team
    action = raise_action(team, due_on=date(2026, 12, 18), at=london(2026, 12, 1, 5, 0))
    manager.reminders_by = "digest"
    manager.save()
    remind_at(london(2026, 12, 1, 6, 0))  # before 07:00: noted, kept for the digest
    with time_machine.travel(london(2026, 12, 1, 6, 30), tick=False):
        action_complete(actor=manager, action=action, evidence="Training log signed")

    remind_at(london(2026, 12, 1, 7, 0))

    assert told("amira@oakfield.example") == []
    assert Reminder.objects.get().withdrawn_at is not None


def test_the_digest_is_one_email_a_day_from_seven(team):
    _, manager, _ = team
    manager.reminders_by = "digest"
    manager.save()
    raise_action(team, due_on=date(2026, 12, 18), at=london(2026, 12, 1, 5, 0), title="First")
    raise_action(team, due_on=date(2026, 12, 19), at=london(2026, 12, 1, 5, 0), title="Second")

    for moment in every_quarter_hour(london(2026, 12, 1, 5, 15), london(2026, 12, 1, 12, 0)):
        remind_at(moment)

    [digest] = [m for m in mail.outbox if m.to == ["amira@oakfield.example"]]
    assert digest.subject == "caregov: 2 things about your work, 1 Dec 2026"
    assert "First" in digest.body and "Second" in digest.body
    assert Reminder.objects.filter(emailed_at=london(2026, 12, 1, 7, 0)).count() == 2


def test_an_escalation_given_to_someone_else_tells_them_and_not_the_first_owner(team, settings):
    from caregov.models import Escalation

    willow, manager, quality = team
    with time_machine.travel(london(2026, 12, 1, 6, 0), tick=False):
        escalation = Escalation.objects.create(
            trigger="assurance.unreliable_reports",
            organisation=willow.organisation,
            service=willow,
            cadence="monthly",
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 30),
            title="ECM and audits disagree at Willow House",
            escalated_to="registered_manager",
            owner=manager,
        )
    manager.reminders_by = "digest"
    manager.save()
    remind_at(london(2026, 12, 1, 6, 45))
    with time_machine.travel(london(2026, 12, 1, 6, 50), tick=False):
        escalation_assign(actor=quality, escalation=escalation, owner=quality)

    remind_at(london(2026, 12, 1, 7, 0))

    assert told("amira@oakfield.example") == []
    [subject] = told("quinn@oakfield.example")
    assert "ECM and audits disagree at Willow House" in subject


def test_the_scheduler_tells_a_registered_manager_of_the_review_it_opened(team):
    with time_machine.travel(london(2026, 12, 1, 6, 0), tick=False):
        run_scheduler(at=london(2026, 12, 1, 6, 0))
    cycle = ReviewCycle.objects.get(kind="assurance.trend_review", period_start=date(2026, 12, 1))
    subjects = told("amira@oakfield.example")
    assert any(str(cycle) in s and "Given to you" in s for s in subjects)


def test_a_run_for_a_moment_long_past_tells_nobody_anything(team):
    raise_action(team, due_on=date(2026, 12, 18), at=london(2026, 12, 1, 9, 0))
    with time_machine.travel(london(2026, 12, 23, 9, 0), tick=False):
        assert remind(at=london(2026, 12, 17, 9, 0)) == ""
    assert mail.outbox == []
    assert not Reminder.objects.exists()


def test_notices_list_what_was_told_and_can_be_marked_read(client, team):
    _, manager, _ = team
    raise_action(team, due_on=date(2026, 12, 18), at=london(2026, 12, 1, 9, 0))
    remind_at(london(2026, 12, 1, 9, 15))

    with time_machine.travel(london(2026, 12, 1, 10, 0), tick=False):
        client.force_login(manager)
        page = client.get(reverse("notice_list")).content.decode()
        assert "1 unread notice" in page
        assert "Retrain night staff on MAR charts" in page
        assert 'class="badge">1' in page
        client.post(reverse("notices_read"))
        assert "0 unread notices" in client.get(reverse("notice_list")).content.decode()


def test_a_person_chooses_a_daily_digest(client, team):
    _, manager, _ = team
    client.force_login(manager)
    response = client.post(reverse("reminders_choose"), {"reminders_by": "digest"})
    assert response.status_code == 302
    manager.refresh_from_db()
    assert manager.reminders_by == "digest"
    refused = client.post(reverse("reminders_choose"), {"reminders_by": "pigeon"})
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()


def test_work_long_overdue_when_reminders_begin_is_not_told_overdue_afresh(team):
    raise_action(team, due_on=date(2026, 12, 2), at=london(2026, 12, 1, 9, 0))
    remind_at(london(2026, 12, 20, 9, 0))
    assert told("amira@oakfield.example") == []
