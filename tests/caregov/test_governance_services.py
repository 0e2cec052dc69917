"""Governance writes: sign-off freezes the record, and actions carry owners, evidence and effect."""

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from caregov.access import Role
from caregov.cadence import LONDON
from caregov.engine import open_due_cycles
from caregov.models import Action, Body, Escalation, ReviewCycle
from caregov.services.governance import (
    Frozen,
    action_check_effect,
    action_complete,
    action_raise,
    decision_record,
    escalation_acknowledge,
    escalation_resolve,
    meeting_record,
    meeting_sign_off,
    meeting_update,
    review_sign_off,
    review_start,
    review_update_notes,
)

DECISION = "Gaps relate to night shift handover; retrain the night team."
MINUTES = "Registered manager and team leader reviewed June completeness by shift."


def london(*parts) -> datetime:
    return datetime(*parts, tzinfo=LONDON)


def june_trend_review(world, service=None) -> ReviewCycle:
    """The registered manager's monthly trend review for June 2026, as the scheduler opens it."""
    open_due_cycles(at=london(2026, 6, 3, 12, 0))
    return ReviewCycle.objects.get(
        kind="assurance.trend_review",
        service=service or world.service_a,
        period_start=date(2026, 6, 1),
    )


def stored(cycle: ReviewCycle) -> dict:
    return ReviewCycle.objects.filter(pk=cycle.pk).values().get()


def an_escalation(world, owner=None) -> Escalation:
    return Escalation.objects.create(
        trigger="caregov.review_overdue",
        organisation=world.org,
        service=world.service_a,
        cadence="monthly",
        period_start=date(2026, 6, 1),
        period_end=date(2026, 6, 30),
        subject="review:test",
        title="Monthly data quality trend review not signed off",
        escalated_to=Body.QUALITY_LEAD,
        owner=owner,
    )


def an_action(world, **fields) -> Action:
    manager = world.user(Role.REGISTERED_MANAGER)
    values = {
        "actor": manager,
        "title": "Retrain night staff on daily notes",
        "owner": manager,
        "due_on": timezone.localdate() + timedelta(days=14),
        "finding_ref": "assurance.audit:1",
        "organisation": world.org,
        "service": world.service_a,
    }
    return action_raise(**{**values, **fields})


# Review sign-off --------------------------------------------------------------------------------


def test_a_signed_off_review_cannot_be_changed_or_signed_off_again(world):
    manager = world.user(Role.REGISTERED_MANAGER)
    cycle = review_sign_off(
        actor=manager, cycle=june_trend_review(world), decision=DECISION, minutes=MINUTES
    )
    before, history = stored(cycle), cycle.history.count()

    with pytest.raises(Frozen):
        review_update_notes(actor=manager, cycle=cycle, decision="Changed", minutes="Changed")
    with pytest.raises(Frozen):
        review_sign_off(actor=manager, cycle=cycle, decision="Again", minutes="Again")
    with pytest.raises(Frozen):
        review_start(actor=manager, cycle=cycle)

    assert stored(cycle) == before
    assert cycle.history.count() == history
    assert issubclass(Frozen, ValidationError)


@pytest.mark.parametrize(
    ("decision", "minutes", "missing"),
    [("", MINUTES, "decision"), (DECISION, "   ", "minutes")],
)
def test_sign_off_needs_a_decision_and_minutes_and_saves_nothing_without_them(
    world, decision, minutes, missing
):
    cycle = june_trend_review(world)
    before, history = stored(cycle), cycle.history.count()
    with pytest.raises(ValidationError) as error:
        review_sign_off(
            actor=world.user(Role.REGISTERED_MANAGER),
            cycle=cycle,
            decision=decision,
            minutes=minutes,
        )
    assert list(error.value.message_dict) == [missing]
    assert stored(cycle) == before
    assert cycle.history.count() == history


@pytest.mark.parametrize("role", [Role.TEAM_LEADER, Role.QUALITY_LEAD, Role.CARE_STAFF])
def test_only_the_registered_manager_signs_off_a_registered_manager_review(world, role):
    cycle = june_trend_review(world)
    before = stored(cycle)
    with pytest.raises(PermissionDenied):
        review_sign_off(actor=world.user(role), cycle=cycle, decision=DECISION, minutes=MINUTES)
    assert stored(cycle) == before


def test_a_registered_manager_cannot_sign_off_another_services_review(world):
    cycle = june_trend_review(world, service=world.service_b)
    with pytest.raises(PermissionDenied):
        review_sign_off(
            actor=world.user(Role.REGISTERED_MANAGER),
            cycle=cycle,
            decision=DECISION,
            minutes=MINUTES,
        )
    assert stored(cycle)["status"] == ReviewCycle.Status.OPEN


def test_sign_off_records_who_and_when_in_the_review_and_its_history(world):
    manager = world.user(Role.REGISTERED_MANAGER)
    at = london(2026, 7, 6, 14, 30)
    cycle = review_sign_off(
        actor=manager, cycle=june_trend_review(world), decision=DECISION, minutes=MINUTES, at=at
    )
    cycle.refresh_from_db()
    assert cycle.status == ReviewCycle.Status.SIGNED_OFF
    assert (cycle.signed_off_by, cycle.signed_off_at) == (manager, at)
    assert (cycle.decision, cycle.minutes) == (DECISION, MINUTES)
    latest = cycle.history.first()
    assert latest.history_change_reason == "caregov.review.signed_off"
    assert latest.history_user == manager
    assert latest.history_date == at


def test_notes_saved_during_a_review_are_kept_until_sign_off(world):
    manager = world.user(Role.REGISTERED_MANAGER)
    cycle = review_start(actor=manager, cycle=june_trend_review(world))
    assert (cycle.status, cycle.started_by) == (ReviewCycle.Status.IN_REVIEW, manager)
    review_update_notes(actor=manager, cycle=cycle, decision="Draft", minutes="Started")
    assert stored(cycle)["minutes"] == "Started"
    assert stored(cycle)["status"] == ReviewCycle.Status.IN_REVIEW


# Meetings and decisions -------------------------------------------------------------------------


def test_minutes_are_signed_off_only_with_minutes_and_a_decision_and_are_then_frozen(world):
    lead = world.user(Role.QUALITY_LEAD)
    meeting = meeting_record(
        actor=lead,
        organisation=world.org,
        body=Body.QUALITY_MEETING,
        meeting_date=date(2026, 11, 2),
        title="Monthly quality meeting",
        attendees="A. Lead, quality lead\nB. Manager, registered manager",
    )
    with pytest.raises(ValidationError) as error:
        meeting_sign_off(actor=lead, meeting=meeting)
    assert set(error.value.message_dict) == {"minutes", "__all__"}

    meeting = meeting_update(actor=lead, meeting=meeting, minutes="Reviewed daily notes audit.")
    with pytest.raises(ValidationError) as error:
        meeting_sign_off(actor=lead, meeting=meeting)
    assert set(error.value.message_dict) == {"__all__"}

    decision_record(actor=lead, meeting=meeting, text="Audit daily notes weekly until December.")
    meeting = meeting_sign_off(actor=lead, meeting=meeting)
    assert meeting.is_frozen and meeting.signed_off_by == lead

    with pytest.raises(Frozen):
        decision_record(actor=lead, meeting=meeting, text="Added afterwards")
    with pytest.raises(Frozen):
        meeting_update(actor=lead, meeting=meeting, minutes="Rewritten")
    meeting.refresh_from_db()
    assert meeting.minutes == "Reviewed daily notes audit."
    assert list(meeting.decisions.values_list("text", flat=True)) == [
        "Audit daily notes weekly until December."
    ]
    assert meeting.history.first().history_change_reason == "caregov.meeting.signed_off"


def test_a_decision_links_only_to_reviews_of_its_own_organisation(world):
    lead = world.user(Role.QUALITY_LEAD)
    meeting = meeting_record(
        actor=lead,
        organisation=world.org,
        body=Body.QUALITY_MEETING,
        meeting_date=date(2026, 11, 2),
        title="Monthly quality meeting",
        attendees="A. Lead, quality lead",
    )
    elsewhere = june_trend_review(world, service=world.service_c)
    with pytest.raises(ValidationError):
        decision_record(actor=lead, meeting=meeting, text="Noted", review_cycles=[elsewhere])
    assert not meeting.decisions.exists()


# Actions ----------------------------------------------------------------------------------------


def test_an_action_comes_from_exactly_one_source(world):
    with pytest.raises(ValueError):
        an_action(world, finding_ref="")
    with pytest.raises(ValueError):
        an_action(world, review_cycle=june_trend_review(world))
    assert not Action.objects.filter(title="Retrain night staff on daily notes").exists()
    action = an_action(world, finding_ref="", review_cycle=june_trend_review(world))
    assert action.source == Action.Source.REVIEW
    assert action.service == world.service_a


def test_an_action_cannot_be_due_in_the_past(world):
    with pytest.raises(ValidationError) as error:
        an_action(world, due_on=timezone.localdate() - timedelta(days=1))
    assert list(error.value.message_dict) == ["due_on"]
    assert an_action(world, due_on=timezone.localdate()).status == Action.Status.OPEN


def test_an_actions_owner_must_be_an_active_person_of_the_same_provider(world):
    with pytest.raises(ValidationError) as error:
        an_action(world, owner=world.stranger)
    assert list(error.value.message_dict) == ["owner"]
    assert not Action.objects.filter(owner=world.stranger).exists()


def test_completing_an_action_needs_evidence_and_sets_when_to_check_it_worked(world):
    action = an_action(world)
    manager = world.user(Role.REGISTERED_MANAGER)
    with pytest.raises(ValidationError) as error:
        action_complete(actor=manager, action=action, evidence="  ")
    assert list(error.value.message_dict) == ["evidence"]

    at = london(2026, 12, 1, 10, 0)
    action = action_complete(actor=manager, action=action, evidence="Training log", at=at)
    assert action.status == Action.Status.DONE
    assert (action.completed_by, action.completed_at) == (manager, at)
    assert action.effectiveness_due_on == date(2026, 12, 29)
    assert action.display_status == "Done, check due"
    with pytest.raises(ValidationError):
        action_complete(actor=manager, action=action, evidence="Again")


def test_an_action_that_did_not_improve_things_shows_as_not_effective_and_can_be_found(world):
    manager = world.user(Role.REGISTERED_MANAGER)
    worked = action_complete(actor=manager, action=an_action(world), evidence="Done")
    failed = action_complete(
        actor=manager, action=an_action(world, title="Weekly notes audit"), evidence="Done"
    )
    action_check_effect(actor=manager, action=worked, result="improved", note="Gaps down")
    failed = action_check_effect(
        actor=manager,
        action=failed,
        result=Action.Effect.NOT_IMPROVED,
        note="Daily notes completeness still 78% in the next month.",
    )

    assert failed.display_status == "Not effective"
    assert failed.history.first().history_change_reason == "caregov.action.effect_checked"
    assert list(Action.objects.filter(effectiveness="not_improved")) == [failed]
    with pytest.raises(ValidationError):
        action_check_effect(actor=manager, action=failed, result="improved", note="Changed mind")


def test_an_effectiveness_check_waits_for_the_action_and_needs_a_note(world):
    manager = world.user(Role.REGISTERED_MANAGER)
    action = an_action(world)
    with pytest.raises(ValidationError):
        action_check_effect(actor=manager, action=action, result="improved", note="Early")
    action = action_complete(actor=manager, action=action, evidence="Done")
    with pytest.raises(ValidationError) as error:
        action_check_effect(actor=manager, action=action, result="better", note="")
    assert set(error.value.message_dict) == {"result", "note"}
    action.refresh_from_db()
    assert action.effectiveness == ""


# Escalations ------------------------------------------------------------------------------------


def test_resolving_an_escalation_needs_a_note_saying_how(world):
    lead = world.user(Role.QUALITY_LEAD)
    escalation = an_escalation(world, owner=lead)
    with pytest.raises(ValidationError) as error:
        escalation_resolve(actor=lead, escalation=escalation, note="  ")
    assert list(error.value.message_dict) == ["note"]
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.OPEN

    escalation = escalation_resolve(actor=lead, escalation=escalation, note="Review signed off")
    assert escalation.status == Escalation.Status.RESOLVED
    assert (escalation.resolved_by, escalation.resolution_note) == (lead, "Review signed off")
    assert escalation.history.first().history_change_reason == "caregov.escalation.resolved"
    with pytest.raises(ValidationError):
        escalation_acknowledge(actor=lead, escalation=escalation)


def test_acknowledging_an_unowned_escalation_makes_the_acknowledger_its_owner(world):
    lead = world.user(Role.QUALITY_LEAD)
    escalation = escalation_acknowledge(actor=lead, escalation=an_escalation(world))
    assert escalation.status == Escalation.Status.ACKNOWLEDGED
    assert (escalation.owner, escalation.acknowledged_by) == (lead, lead)


def test_acknowledging_an_owned_escalation_keeps_its_owner(world):
    owner = world.user(Role.QUALITY_LEAD)
    other = world.user(Role.DATA_QUALITY_LEAD)
    escalation = escalation_acknowledge(actor=other, escalation=an_escalation(world, owner=owner))
    assert (escalation.owner, escalation.acknowledged_by) == (owner, other)


def test_signing_off_a_late_review_resolves_its_escalation_at_once(world):
    from caregov.models import Escalation
    from caregov.services.governance import review_sign_off

    review = world.record("review", world.service_a)
    escalation = world.record("escalation", world.service_a)
    manager = world.user(Role.REGISTERED_MANAGER)
    review_sign_off(
        actor=manager, cycle=review, decision="Reliable.", minutes="Checked ten records."
    )
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.RESOLVED
    assert escalation.resolved_by == manager
    assert "signed off" in escalation.resolution_note


def test_the_services_refuse_a_role_that_may_not_record_decisions(world):
    from caregov.services.governance import decision_record, meeting_sign_off

    meeting = world.record("meeting", world.service_a)
    with pytest.raises(PermissionDenied):
        decision_record(actor=world.user(Role.TEAM_LEADER), meeting=meeting, text="Decided.")
    with pytest.raises(PermissionDenied):
        meeting_sign_off(actor=world.user(Role.CARE_STAFF), meeting=meeting)


def test_an_owner_completes_their_own_action_but_a_colleague_without_the_role_cannot(world):
    from caregov.services.governance import action_complete

    action = world.record("action", world.service_a)
    with pytest.raises(PermissionDenied):
        action_complete(actor=world.user(Role.CARE_STAFF), action=action, evidence="Done.")
    done = action_complete(actor=action.owner, action=action, evidence="Session held on 3 Dec.")
    assert done.status == Action.Status.DONE
