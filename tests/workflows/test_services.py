"""Workflow governance services: drafts and their steps, freezing, revising and adopting, approval
in the senior leadership team's minutes, who may do what, and what the service review log, staff
tests and quality findings accept."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from caregov.access import Role
from caregov.models import Body, Decision, Meeting
from caregov.services.governance import Frozen, decision_record, meeting_record, meeting_sign_off
from tests.factories import person_with_role
from tests.workflows.builders import (
    ROUND,
    STEP,
    WORKFLOW,
    Status,
    add_steps,
    advance,
    approve,
    failed,
    gap,
    london,
    revise,
    service_copy,
    staff_test,
    step,
    step_fields,
    template,
)
from workflows import services
from workflows.models import PracticeGap, QualityFinding, StaffTest, WorkflowMap, WorkflowVersion

TODAY = timezone.localdate


@pytest.fixture
def director(world):
    return world.user(Role.OPERATIONS_DIRECTOR)


@pytest.fixture
def manager(world):
    return world.user(Role.REGISTERED_MANAGER)


@pytest.fixture
def senior(world):
    return world.user(Role.SENIOR_LEADER)


@pytest.fixture
def quality(world):
    return world.user(Role.QUALITY_LEAD)


def actions(version) -> list[tuple[int, str]]:
    return [(s.position, s.action) for s in version.steps.order_by("position")]


class _WentThrough(Exception):
    """Raised after a write that should have been refused, to undo it."""


def went_through(writes: dict, refusal: type[Exception], *args) -> list[str]:
    """The names of the writes that were not refused with `refusal`: [] when all of them were.
    Each runs in its own savepoint, so one that goes through is named and undone."""
    through = []
    for name, write in writes.items():
        try:
            with transaction.atomic():
                write(*args)
                raise _WentThrough
        except _WentThrough:
            through.append(name)
        except refusal:
            continue
        except Exception as error:  # refused, but not in the way a user should be told
            through.append(f"{name}: {type(error).__name__}: {error}")
    return through


def blocked_message(gaps: int, tests: int) -> list[str]:
    parts = []
    if gaps:
        parts.append(f"{gaps} open high-risk gap{'' if gaps == 1 else 's'}")
    if tests:
        parts.append(f"{tests} failed staff test{'' if tests == 1 else 's'}")
    return [
        f"This version has {' and '.join(parts)}. Resolve them, or record why the senior "
        "leadership team approves it anyway."
    ]


# A draft's steps --------------------------------------------------------------------------------


def test_steps_added_to_a_draft_are_numbered_in_the_order_they_were_added(world):
    draft = template(world, status=Status.DRAFT)
    assert actions(draft) == [
        (1, "Read the care plan"),
        (2, "Record the care given"),
        (3, "Update the risk assessment"),
    ]


def test_changing_a_step_keeps_its_place(world, director):
    draft = template(world, status=Status.DRAFT)
    changed = services.step_save(
        actor=director,
        version=draft,
        step=step(draft, 2),
        **step_fields(action="Record the care given at the bedside", minutes_expected=8),
    )
    assert changed.position == 2
    assert actions(draft) == [
        (1, "Read the care plan"),
        (2, "Record the care given at the bedside"),
        (3, "Update the risk assessment"),
    ]
    assert changed.history.first().history_change_reason == "workflows.step.changed"


@pytest.mark.parametrize(
    ("position", "offset", "order"),
    [
        (3, -2, ["Update the risk assessment", "Read the care plan", "Record the care given"]),
        (1, 1, ["Record the care given", "Read the care plan", "Update the risk assessment"]),
        (1, 9, ["Record the care given", "Update the risk assessment", "Read the care plan"]),
        # Already at the top, or at the bottom: nothing moves.
        (1, -1, ["Read the care plan", "Record the care given", "Update the risk assessment"]),
        (3, 1, ["Read the care plan", "Record the care given", "Update the risk assessment"]),
    ],
)
def test_moving_a_step_keeps_the_positions_1_to_n(world, director, position, offset, order):
    draft = template(world, status=Status.DRAFT)
    moved = services.step_move(actor=director, step=step(draft, position), offset=offset)
    assert actions(draft) == list(enumerate(order, start=1))
    assert moved.position == order.index(moved.action) + 1


def test_removing_a_step_closes_up_the_positions_and_the_next_step_goes_at_the_end(world, director):
    draft = template(world, status=Status.DRAFT)
    services.step_delete(actor=director, step=step(draft, 2))
    assert actions(draft) == [(1, "Read the care plan"), (2, "Update the risk assessment")]
    services.step_save(
        actor=director, version=draft, **step_fields(action="Hand over to the next shift")
    )
    assert actions(draft)[-1] == (3, "Hand over to the next shift")


def test_a_step_of_another_version_is_not_changed_through_this_one(world, director):
    medication = template(world, status=Status.DRAFT)
    notes = template(world, workflow="incidents", status=Status.DRAFT)
    with pytest.raises(ValidationError, match="another version"):
        services.step_save(
            actor=director, version=medication, step=step(notes, 1), **step_fields(action="Moved")
        )
    assert step(notes, 1).action == "Read the care plan"
    assert medication.steps.count() == 3


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"action": "   "}, "action"),
        ({"ecm_location": ""}, "ecm_location"),
        ({"prompt": ""}, "prompt"),
        ({"minutes_expected": 0}, "minutes_expected"),
        ({"minutes_expected": 481}, "minutes_expected"),
        ({"minutes_expected": None}, "minutes_expected"),
    ],
)
def test_a_step_says_what_is_done_where_what_is_expected_and_how_long_it_takes(
    world, director, fields, field
):
    draft = template(world, status=Status.DRAFT, steps=())
    with pytest.raises(ValidationError) as refused:
        services.step_save(actor=director, version=draft, **step_fields(**fields))
    assert field in refused.value.message_dict
    assert not draft.steps.exists()


def test_a_step_may_take_up_to_eight_hours(world, director):
    draft = template(world, status=Status.DRAFT, steps=())
    saved = services.step_save(actor=director, version=draft, **step_fields(minutes_expected=480))
    assert saved.minutes_expected == 480


# Only a draft changes ---------------------------------------------------------------------------


def version_in(world, status: str) -> WorkflowVersion:
    """A template version that has reached `status`."""
    if status == Status.SUPERSEDED:
        version = template(world)
        revise(world, version, status=Status.APPROVED)
    elif status == Status.WITHDRAWN:
        version = template(world, status=Status.UNDER_TEST)
        revise(world, version)
    else:
        version = template(world, status=status)
    version.refresh_from_db()
    assert version.status == status
    return version


WRITES_TO_A_VERSION = {
    "add a step": lambda actor, v: services.step_save(actor=actor, version=v, **STEP),
    "change a step": lambda actor, v: services.step_save(
        actor=actor, version=v, step=step(v, 1), **step_fields(action="Changed")
    ),
    "move a step": lambda actor, v: services.step_move(actor=actor, step=step(v, 2), offset=-1),
    "remove a step": lambda actor, v: services.step_delete(actor=actor, step=step(v, 2)),
    "change the summary": lambda actor, v: services.version_update(
        actor=actor, version=v, change_summary="Changed"
    ),
}
FROZEN = [Status.UNDER_TEST, Status.APPROVED, Status.SUPERSEDED, Status.WITHDRAWN]


@pytest.mark.parametrize("status", FROZEN)
def test_a_version_under_test_approved_superseded_or_withdrawn_is_frozen(world, director, status):
    version = version_in(world, status)
    before = [(s.pk, s.position, s.action) for s in version.steps.all()]
    assert went_through(WRITES_TO_A_VERSION, Frozen, director, version) == []
    version.refresh_from_db()
    assert [(s.pk, s.position, s.action) for s in version.steps.all()] == before
    assert version.change_summary != "Changed"


def test_a_frozen_version_says_to_start_a_revision(world, director):
    approved = template(world)
    with pytest.raises(Frozen) as refused:
        services.step_save(actor=director, version=approved, **STEP)
    assert refused.value.messages == [
        "Version 1 is approved and cannot be changed. Start a revision to change the workflow."
    ]


def test_a_drafts_change_summary_can_be_changed(world, director):
    draft = revise(world, template(world))
    services.version_update(actor=director, version=draft, change_summary="  Shorter prompt  ")
    draft.refresh_from_db()
    assert draft.change_summary == "Shorter prompt"


def test_testing_needs_steps_and_a_revision_needs_to_say_what_changed(world, director):
    empty = template(world, status=Status.DRAFT, steps=())
    with pytest.raises(ValidationError, match="Add the workflow's steps"):
        services.version_start_test(actor=director, version=empty)

    revision = services.version_revise(
        actor=director, workflow_map=template(world, workflow="audits").map
    )
    with pytest.raises(ValidationError) as refused:
        services.version_start_test(actor=director, version=revision)
    assert "change_summary" in refused.value.message_dict
    revision.refresh_from_db()
    assert revision.status == Status.DRAFT


# Revising --------------------------------------------------------------------------------------


def test_a_revision_is_the_next_number_with_copies_of_the_approved_steps(world, director):
    approved = template(world)
    revision = services.version_revise(
        actor=director, workflow_map=approved.map, change_summary="Shorter prompt"
    )
    assert (revision.number, revision.status, revision.based_on) == (2, Status.DRAFT, approved)
    originals = list(approved.steps.order_by("position"))
    copies = list(revision.steps.order_by("position"))
    assert [c.copied_from for c in copies] == originals
    fields = ("position", "role", "action", "ecm_location", "recorded_item", "prompt")
    assert [[getattr(c, f) for f in fields] for c in copies] == [
        [getattr(o, f) for f in fields] for o in originals
    ]
    # Changing the copy leaves the approved version as it was.
    services.step_save(
        actor=director, version=revision, step=copies[0], **step_fields(action="New first step")
    )
    approved.refresh_from_db()
    assert approved.status == Status.APPROVED
    assert step(approved, 1).action == "Read the care plan"


def test_revising_a_version_under_test_withdraws_it_and_starts_from_its_steps(world, director):
    approved = template(world)
    under_test = revise(world, approved, status=Status.UNDER_TEST)
    at = timezone.now()
    revision = services.version_revise(actor=director, workflow_map=approved.map, at=at)
    under_test.refresh_from_db()
    approved.refresh_from_db()
    assert (revision.number, revision.based_on) == (3, under_test)
    assert (under_test.status, under_test.closed_at) == (Status.WITHDRAWN, at)
    assert under_test.history.first().history_change_reason == "workflows.version.withdrawn"
    assert (approved.status, approved.closed_at) == (Status.APPROVED, None)
    assert [s.copied_from for s in revision.steps.all()] == list(under_test.steps.all())


def test_a_workflow_has_one_draft_at_a_time(world, director):
    approved = template(world)
    revise(world, approved)
    with pytest.raises(ValidationError, match="There is already a draft of this workflow"):
        services.version_revise(actor=director, workflow_map=approved.map)
    assert approved.map.versions.count() == 2


@pytest.mark.parametrize("status", [Status.DRAFT, Status.UNDER_TEST])
def test_the_database_keeps_one_draft_or_version_under_test_per_workflow(world, status):
    draft = template(world, status=Status.DRAFT)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowVersion.objects.create(map=draft.map, number=2, status=status)


def test_the_database_keeps_one_approved_version_per_workflow(world):
    approved = template(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowVersion.objects.create(map=approved.map, number=2, status=Status.APPROVED)


def test_approval_supersedes_the_version_before_at_the_moment_of_approval(world):
    first = template(world)
    second = revise(world, first, status=Status.UNDER_TEST)
    at = timezone.now()
    approve(world, second, at=at)
    first.refresh_from_db()
    assert (first.status, first.closed_at) == (Status.SUPERSEDED, at)
    assert (second.status, second.approved_at, second.closed_at) == (Status.APPROVED, at, None)
    assert list(first.map.versions.filter(status=Status.APPROVED)) == [second]
    assert first.history.first().history_change_reason == "workflows.version.superseded"


def test_the_state_of_a_version_at_a_past_moment_is_read_from_its_dates(world, director):
    t = [london(2026, 6, 1, 9, 0) + timedelta(days=10 * i) for i in range(6)]
    second = timedelta(seconds=1)
    first = template(world, status=Status.DRAFT, at=t[0])
    services.version_start_test(actor=director, version=first, at=t[1])
    approve(world, first, at=t[2])
    withdrawn = revise(world, first, status=Status.UNDER_TEST, at=t[3])
    third = revise(world, first, at=t[4])
    services.version_start_test(actor=director, version=third, at=t[5])
    approve(world, third, at=t[5])
    first.refresh_from_db()
    withdrawn.refresh_from_db()

    assert first.status_at(t[0] - second) is None
    assert first.status_at(t[0]) == Status.DRAFT
    assert first.status_at(t[1] - second) == Status.DRAFT
    assert first.status_at(t[1]) == Status.UNDER_TEST
    assert first.status_at(t[2]) == Status.APPROVED
    assert first.status_at(t[5] - second) == Status.APPROVED
    assert first.status_at(t[5]) == Status.SUPERSEDED
    assert withdrawn.status_at(t[3]) == Status.UNDER_TEST
    assert withdrawn.status_at(t[4] - second) == Status.UNDER_TEST
    assert withdrawn.status_at(t[4]) == Status.WITHDRAWN
    assert third.status_at(t[4]) == Status.DRAFT
    assert third.status_at(t[5]) == Status.APPROVED


# Adopting a template ---------------------------------------------------------------------------


def test_a_service_adopts_an_approved_template_as_a_draft_of_its_own(world, manager):
    source = template(world)
    copy = services.map_adopt(actor=manager, service=world.service_a, template=source)
    assert (copy.map.service, copy.map.adopted_from) == (world.service_a, source)
    assert (copy.number, copy.status) == (1, Status.DRAFT)
    assert actions(copy) == actions(source)
    assert [s.copied_from for s in copy.steps.all()] == list(source.steps.all())


@pytest.mark.parametrize("status", [Status.DRAFT, Status.UNDER_TEST, Status.SUPERSEDED])
def test_only_an_approved_template_version_can_be_adopted(world, manager, status):
    source = version_in(world, status)
    with pytest.raises(ValidationError, match="Only an approved template version can be adopted"):
        services.map_adopt(actor=manager, service=world.service_a, template=source)
    assert not WorkflowMap.objects.filter(service=world.service_a, workflow=WORKFLOW).exists()


def test_a_template_of_another_organisation_cannot_be_adopted(world, manager):
    elsewhere = person_with_role(Role.OPERATIONS_DIRECTOR, organisation=world.other_org)
    theirs = services.template_create(
        actor=elsewhere,
        organisation=world.other_org,
        workflow="care_planning",
        title="Care planning",
    )
    add_steps(elsewhere, theirs, ROUND)
    services.version_start_test(actor=elsewhere, version=theirs)
    approve(world, theirs, actor=person_with_role(Role.SENIOR_LEADER, organisation=world.other_org))
    with pytest.raises(ValidationError, match="Adopt a template of this organisation"):
        services.map_adopt(actor=manager, service=world.service_a, template=theirs)


def test_a_services_copy_is_not_a_template_another_service_can_adopt(world, director):
    willow = service_copy(world, status=Status.APPROVED)
    with pytest.raises(ValidationError, match="Adopt a template of this organisation"):
        services.map_adopt(actor=director, service=world.service_b, template=willow)


def test_a_service_adopts_each_workflow_once(world, manager):
    source = template(world)
    services.map_adopt(actor=manager, service=world.service_a, template=source)
    with pytest.raises(
        ValidationError, match="Willow House already has its own care planning workflow"
    ):
        services.map_adopt(actor=manager, service=world.service_a, template=source)
    assert WorkflowMap.objects.filter(service=world.service_a, workflow=WORKFLOW).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowMap.objects.create(
            organisation=world.org, service=world.service_a, workflow="care_planning", title="Again"
        )


def test_the_templates_later_revision_leaves_a_service_copy_as_it_was(world, director):
    first = template(world)
    willow = services.map_adopt(actor=director, service=world.service_a, template=first)
    before = actions(willow)
    second = services.version_revise(
        actor=director,
        workflow_map=first.map,
        change_summary="Update the risk assessment after a fall",
    )
    services.step_save(
        actor=director,
        version=second,
        step=step(second, 3),
        **step_fields(action="Update the risk assessment after a fall"),
    )
    advance(world, second, Status.APPROVED)

    willow.refresh_from_db()
    assert actions(willow) == before
    assert willow.map.adopted_from == first
    # A service adopting now starts from the template's version 2.
    beech = services.map_adopt(actor=director, service=world.service_b, template=second)
    assert step(beech, 3).action == "Update the risk assessment after a fall"


# Discarding a draft ----------------------------------------------------------------------------


def test_discarding_an_adopted_copys_first_draft_lets_the_service_adopt_again(world, manager):
    source = template(world)
    copy = services.map_adopt(actor=manager, service=world.service_a, template=source)
    services.draft_discard(actor=manager, version=copy)
    assert not WorkflowMap.objects.filter(service=world.service_a, workflow=WORKFLOW).exists()
    assert source.steps.count() == 3
    again = services.map_adopt(actor=manager, service=world.service_a, template=source)
    assert again.steps.count() == 3


def test_discarding_a_revision_keeps_the_versions_before_it(world, director):
    approved = template(world)
    draft = revise(world, approved)
    services.draft_discard(actor=director, version=draft)
    assert list(approved.map.versions.all()) == [approved]
    approved.refresh_from_db()
    assert approved.status == Status.APPROVED and approved.steps.count() == 3


def test_discarding_a_templates_only_draft_removes_the_template(world, director):
    draft = template(world, status=Status.DRAFT)
    services.draft_discard(actor=director, version=draft)
    assert not WorkflowMap.objects.filter(service=None, workflow=WORKFLOW).exists()
    assert template(world, status=Status.DRAFT).number == 1


def test_discarding_a_revision_of_a_version_under_test_loses_none_of_its_steps(world, manager):
    under_test = service_copy(world)
    services.draft_discard(
        actor=manager,
        version=services.version_revise(actor=manager, workflow_map=under_test.map),
    )
    again = services.version_revise(actor=manager, workflow_map=under_test.map)
    assert actions(again) == actions(under_test)


@pytest.mark.parametrize("status", [Status.UNDER_TEST, Status.APPROVED])
def test_only_a_draft_can_be_discarded(world, director, status):
    version = template(world, status=status)
    with pytest.raises(Frozen):
        services.draft_discard(actor=director, version=version)
    assert WorkflowVersion.objects.filter(pk=version.pk).exists()


# Approval --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.DRAFT, Status.APPROVED])
def test_only_a_version_under_test_can_be_approved(world, status):
    version = template(world, status=status)
    decisions = Decision.objects.count()
    with pytest.raises(ValidationError, match="only a version under test can be approved"):
        approve(world, version)
    assert Decision.objects.count() == decisions


@pytest.mark.parametrize("expectations", ["", "   "])
def test_approval_needs_the_implementation_expectations(world, expectations):
    version = template(world, status=Status.UNDER_TEST)
    decisions = Decision.objects.count()
    with pytest.raises(ValidationError) as refused:
        approve(world, version, implementation_expectations=expectations)
    assert "implementation_expectations" in refused.value.message_dict
    version.refresh_from_db()
    assert version.status == Status.UNDER_TEST
    assert Decision.objects.count() == decisions


@pytest.mark.parametrize(
    ("risk", "affects_safe_care"), [("high", False), ("medium", True), ("low", True)]
)
def test_an_open_high_risk_gap_stops_approval_without_a_reason(world, risk, affects_safe_care):
    version = service_copy(world)
    gap(world, step(version, 2), risk=risk, affects_safe_care=affects_safe_care)
    with pytest.raises(ValidationError) as refused:
        approve(world, version)
    assert refused.value.message_dict["override_reason"] == blocked_message(1, 0)
    version.refresh_from_db()
    assert version.status == Status.UNDER_TEST


@pytest.mark.parametrize("answer", ["task_practical", "prompt_practical", "recording_practical"])
def test_a_staff_test_with_any_answer_no_stops_approval_without_a_reason(world, answer):
    version = service_copy(world)
    staff_test(world, step(version, 1), **{answer: "no"})
    with pytest.raises(ValidationError) as refused:
        approve(world, version)
    assert refused.value.message_dict["override_reason"] == blocked_message(0, 1)


def test_the_refusal_counts_every_open_high_risk_gap_and_failed_test(world):
    version = service_copy(world)
    gap(world, step(version, 1), risk="high")
    gap(world, step(version, 2), risk="medium", affects_safe_care=True)
    gap(world, step(version, 3), risk="medium")
    failed(world, step(version, 2))
    staff_test(world, step(version, 3), recording_practical="partly")
    with pytest.raises(ValidationError) as refused:
        approve(world, version)
    assert refused.value.message_dict["override_reason"] == blocked_message(2, 1)


def test_an_open_high_risk_gap_on_the_version_in_use_stops_approval_of_its_revision(world):
    in_use = service_copy(world, status=Status.APPROVED)
    gap(world, step(in_use, 2), kind="workaround", risk="high")
    revision = revise(world, in_use, status=Status.UNDER_TEST)
    with pytest.raises(ValidationError) as refused:
        approve(world, revision)
    assert refused.value.message_dict["override_reason"] == blocked_message(1, 0)


def test_resolved_gaps_lower_risks_and_partly_practical_tests_do_not_stop_approval(world, director):
    version = service_copy(world)
    high = gap(world, step(version, 1), risk="high")
    services.gap_resolve(actor=director, gap=high, resolution="Paper MAR sheets removed")
    gap(world, step(version, 2), risk="medium")
    staff_test(
        world,
        step(version, 2),
        task_practical="partly",
        prompt_practical="partly",
        recording_practical="partly",
    )
    approved = approve(world, version)
    assert approved.status == Status.APPROVED
    assert approved.override_reason == ""
    assert approved.approval_blockers == {"gaps": [], "tests": []}


def test_an_override_reason_approves_and_keeps_what_was_open_at_the_time(world, director):
    version = service_copy(world)
    high = gap(world, step(version, 2), risk="high", description="Notes written on paper first.")
    test = failed(world, step(version, 3), shift="night")
    reason = "Paper is worse; the prompt is fixed in the next revision within a week."
    approved = approve(world, version, override_reason=reason)

    snapshot = {
        "gaps": [{"id": high.pk, "label": "Step 2: Notes written on paper first.", "risk": "high"}],
        "tests": [{"id": test.pk, "label": f"Step 3, night shift, {TODAY():%-d %b %Y}"}],
    }
    assert approved.status == Status.APPROVED
    assert approved.override_reason == reason
    assert approved.approval_blockers == snapshot
    assert reason in approved.decision.text
    # Resolving the gap afterwards does not rewrite what the leadership team approved over.
    services.gap_resolve(actor=director, gap=high, resolution="Fixed in version 2")
    approved.refresh_from_db()
    assert approved.approval_blockers == snapshot


def test_a_reason_given_when_nothing_blocks_is_not_minuted_as_an_override(world):
    version = template(world, status=Status.UNDER_TEST)
    approved = approve(world, version, override_reason="In case anything comes up")
    assert "open high-risk gaps or failed tests" not in approved.decision.text
    assert approved.override_reason == ""


def test_approval_is_a_decision_in_a_new_senior_leadership_team_meeting(world, senior):
    version = template(world, status=Status.UNDER_TEST)
    expectations = "All services adopt it by 31 Jan 2027; managers check the first week's notes."
    approved = approve(
        world,
        version,
        implementation_expectations=expectations,
        meeting_date=TODAY(),
        attendees="Chief executive\nOperations director",
    )
    decision = approved.decision
    meeting = decision.meeting
    assert meeting.body == Body.SENIOR_LEADERSHIP_TEAM
    assert (meeting.organisation, meeting.service) == (world.org, None)
    assert (meeting.meeting_date, meeting.attendees) == (
        TODAY(),
        "Chief executive\nOperations director",
    )
    assert not meeting.is_frozen
    assert decision.text == (
        "Approve the care planning workflow for Oakfield Care Group (whole organisation), version 1. "
        f"Implementation expectations: {expectations}"
    )
    assert approved.implementation_expectations == expectations
    assert approved.approved_by == senior
    assert approved.history.first().history_change_reason == "workflows.version.approved"


def test_approval_can_be_minuted_in_an_existing_senior_leadership_team_meeting(world, senior):
    meeting = meeting_record(
        actor=senior,
        organisation=world.org,
        body=Body.SENIOR_LEADERSHIP_TEAM,
        meeting_date=TODAY(),
        title="Senior leadership team, November",
        attendees="Chief executive",
    )
    version = service_copy(world)
    meetings = Meeting.objects.count()
    approved = approve(world, version, meeting=meeting)
    assert approved.decision.meeting == meeting
    assert Meeting.objects.count() == meetings


def signed_off_meeting(world, senior) -> Meeting:
    meeting = meeting_record(
        actor=senior,
        organisation=world.org,
        body=Body.SENIOR_LEADERSHIP_TEAM,
        meeting_date=TODAY(),
        title="Senior leadership team, October",
        attendees="Chief executive",
        minutes="Reviewed the quarter.",
    )
    decision_record(actor=senior, meeting=meeting, text="Noted the quarter's figures.")
    return meeting_sign_off(actor=senior, meeting=meeting)


@pytest.mark.parametrize("which", ["signed off", "another body", "another organisation"])
def test_approval_is_refused_in_a_meeting_that_cannot_take_it(world, senior, which):
    meeting = {
        "signed off": lambda: signed_off_meeting(world, senior),
        "another body": lambda: world.record("meeting", world.service_a),  # a quality meeting
        "another organisation": lambda: Meeting.objects.create(
            organisation=world.other_org,
            body=Body.SENIOR_LEADERSHIP_TEAM,
            meeting_date=TODAY(),
            title="Their leadership team",
            attendees="Their chief executive",
        ),
    }[which]()
    decisions = meeting.decisions.count()
    version = template(world, status=Status.UNDER_TEST)
    with pytest.raises(ValidationError) as refused:
        approve(world, version, meeting=meeting)
    assert refused.value.message_dict["meeting"] == [
        "Choose a senior leadership team meeting whose minutes are not signed off."
    ]
    version.refresh_from_db()
    assert version.status == Status.UNDER_TEST
    assert meeting.decisions.count() == decisions


@pytest.mark.parametrize("missing", [{"meeting_date": None}, {"attendees": "  "}])
def test_a_new_meeting_needs_its_date_and_attendees(world, missing):
    version = template(world, status=Status.UNDER_TEST)
    meetings = Meeting.objects.count()
    with pytest.raises(ValidationError) as refused:
        approve(world, version, **missing)
    assert "meeting" in refused.value.message_dict
    assert Meeting.objects.count() == meetings


# Who may do what -------------------------------------------------------------------------------


def test_the_operations_director_maps_the_organisations_templates(world, director):
    version = services.template_create(
        actor=director, organisation=world.org, workflow="incidents", title="Incidents"
    )
    assert version.map.is_template and version.map.created_by == director
    with pytest.raises(ValidationError, match="already has a template"):
        services.template_create(
            actor=director, organisation=world.org, workflow="incidents", title="Incidents again"
        )


def test_an_operations_director_of_another_organisation_writes_nothing_here(world):
    elsewhere = person_with_role(Role.OPERATIONS_DIRECTOR, organisation=world.other_org)
    draft = template(world, status=Status.DRAFT)
    under_test = service_copy(world, workflow="incidents")
    attempts = {
        "map a template": lambda: services.template_create(
            actor=elsewhere, organisation=world.org, workflow="audits", title="Audits"
        ),
        "add a step": lambda: services.step_save(actor=elsewhere, version=draft, **STEP),
        "revise": lambda: services.version_revise(actor=elsewhere, workflow_map=under_test.map),
        "log a gap": lambda: gap(world, step(under_test, 1), actor=elsewhere),
        "approve": lambda: approve(world, under_test, actor=elsewhere),
    }
    assert went_through(attempts, PermissionDenied) == []


def test_a_registered_manager_cannot_map_a_template(world, manager):
    with pytest.raises(PermissionDenied):
        services.template_create(
            actor=manager, organisation=world.org, workflow="incidents", title="Incidents"
        )
    assert not WorkflowMap.objects.filter(workflow="incidents").exists()


DRAFT_WRITES = {
    **WRITES_TO_A_VERSION,
    "start testing": lambda actor, v: services.version_start_test(actor=actor, version=v),
    "discard": lambda actor, v: services.draft_discard(actor=actor, version=v),
}


def test_a_registered_manager_cannot_change_a_template(world, manager):
    draft = template(world, status=Status.DRAFT)
    before = actions(draft)
    assert went_through(DRAFT_WRITES, PermissionDenied, manager, draft) == []
    draft.refresh_from_db()
    assert (draft.status, actions(draft)) == (Status.DRAFT, before)


def test_a_registered_manager_cannot_revise_a_template(world, manager):
    approved = template(world)
    with pytest.raises(PermissionDenied):
        services.version_revise(actor=manager, workflow_map=approved.map)
    assert approved.map.versions.count() == 1


def test_a_registered_manager_adapts_their_own_services_copy(world, manager):
    copy = service_copy(world, status=Status.DRAFT)
    services.step_save(
        actor=manager,
        version=copy,
        step=step(copy, 1),
        **step_fields(action="Read the care plan summary"),
    )
    services.step_move(actor=manager, step=step(copy, 3), offset=-1)
    services.step_delete(actor=manager, step=step(copy, 3))
    services.version_start_test(actor=manager, version=copy)
    copy.refresh_from_db()
    assert copy.status == Status.UNDER_TEST
    assert actions(copy) == [(1, "Read the care plan summary"), (2, "Update the risk assessment")]
    assert services.version_revise(actor=manager, workflow_map=copy.map).number == 2


def test_a_registered_manager_cannot_change_another_services_copy(world, manager):
    beech = service_copy(world, service=world.service_b, status=Status.DRAFT)
    before = actions(beech)
    assert went_through(DRAFT_WRITES, PermissionDenied, manager, beech) == []
    beech.refresh_from_db()
    assert (beech.status, actions(beech)) == (Status.DRAFT, before)


def test_a_registered_manager_cannot_adopt_for_another_service(world, manager):
    source = template(world)
    with pytest.raises(PermissionDenied):
        services.map_adopt(actor=manager, service=world.service_b, template=source)
    assert not WorkflowMap.objects.filter(service=world.service_b, workflow=WORKFLOW).exists()


APPROVERS = [Role.SENIOR_LEADER, Role.OPERATIONS_DIRECTOR]


@pytest.mark.parametrize("role", APPROVERS)
def test_a_senior_leader_or_the_operations_director_approves(world, role):
    approved = approve(world, service_copy(world), actor=world.user(role))
    assert approved.status == Status.APPROVED
    assert approved.approved_by == world.user(role)


def test_no_one_approves_a_version_they_drafted(world):
    director = world.user(Role.OPERATIONS_DIRECTOR)
    version = template(world, status=Status.UNDER_TEST)
    with pytest.raises(PermissionDenied, match="You drafted this version"):
        approve(world, version, actor=director)
    assert approve(world, version).status == Status.APPROVED


def test_no_one_else_approves_a_workflow(world):
    version = service_copy(world)
    attempts = {
        role.label: lambda role=role: approve(world, version, actor=world.user(role))
        for role in Role
        if role not in APPROVERS
    }
    assert went_through(attempts, PermissionDenied) == []
    version.refresh_from_db()
    assert version.status == Status.UNDER_TEST


def record_finding(actor, version, **kwargs):
    values = {
        "consistency": "improves",
        "record_quality": "improves",
        "risk_visibility": "no_change",
        "summary": "Notes are more consistent; risks no easier to see.",
    } | kwargs
    return services.finding_record(actor=actor, version=version, **values)


def test_the_quality_lead_records_a_finding_with_its_evidence(world, quality):
    version = service_copy(world)
    test = staff_test(world, step(version, 2))
    logged = gap(world, step(version, 1))
    audit = [{"model": "assurance.Audit", "id": 1, "label": "October audit"}]
    finding = record_finding(quality, version, tests=[test], gaps=[logged], audit_evidence=audit)
    assert list(finding.tests.all()) == [test]
    assert list(finding.gaps.all()) == [logged]
    assert finding.audit_evidence == audit
    assert finding.recorded_by == quality and not finding.improves_all


def test_no_one_but_the_quality_lead_records_findings(world):
    version = service_copy(world)
    test = staff_test(world, step(version, 2))
    attempts = {
        role.label: lambda role=role: record_finding(world.user(role), version, tests=[test])
        for role in Role
        if role != Role.QUALITY_LEAD
    }
    assert went_through(attempts, PermissionDenied) == []
    assert not QualityFinding.objects.filter(version=version).exists()


@pytest.mark.parametrize("role", [Role.TEAM_LEADER, Role.REGISTERED_MANAGER, Role.DIGITAL_CHAMPION])
def test_team_leaders_managers_and_champions_record_staff_tests_at_their_service(world, role):
    version = service_copy(world)
    test = staff_test(world, step(version, 1), actor=world.user(role))
    assert test.tested_by == world.user(role) and test.service == world.service_a


def test_a_team_leader_records_staff_tests_only_at_their_own_service(world):
    willow = service_copy(world)
    beech = service_copy(world, service=world.service_b, source=willow.map.adopted_from)
    with pytest.raises(PermissionDenied):
        staff_test(world, step(beech, 1), actor=world.user(Role.TEAM_LEADER))
    assert not StaffTest.objects.filter(version=beech).exists()


@pytest.mark.parametrize(
    "role", [Role.CARE_STAFF, Role.QUALITY_LEAD, Role.SENIOR_LEADER, Role.OPERATIONS_DIRECTOR]
)
def test_others_do_not_record_staff_tests(world, role):
    version = service_copy(world)
    with pytest.raises(PermissionDenied):
        staff_test(world, step(version, 1), actor=world.user(role))


def test_a_registered_manager_logs_gaps_only_at_their_own_service(world, manager):
    willow = service_copy(world)
    beech = service_copy(world, service=world.service_b, source=willow.map.adopted_from)
    logged = gap(world, step(willow, 1), actor=manager)
    assert logged.service == world.service_a and logged.recorded_by == manager
    with pytest.raises(PermissionDenied):
        gap(world, step(beech, 1), actor=manager)
    assert not PracticeGap.objects.filter(step__version=beech).exists()


@pytest.mark.parametrize("role", [Role.TEAM_LEADER, Role.QUALITY_LEAD, Role.CARE_STAFF])
def test_others_do_not_log_gaps(world, role):
    version = service_copy(world)
    with pytest.raises(PermissionDenied):
        gap(world, step(version, 1), actor=world.user(role))


COMMISSIONER_WRITES = {
    "map a template": lambda w, c, r: services.template_create(
        actor=c, organisation=w.org, workflow="audits", title="Audits"
    ),
    "adopt a template": lambda w, c, r: services.map_adopt(
        actor=c, service=w.service_a, template=r["spare"]
    ),
    "revise": lambda w, c, r: services.version_revise(actor=c, workflow_map=r["under_test"].map),
    "add a step": lambda w, c, r: services.step_save(actor=c, version=r["draft"], **STEP),
    "move a step": lambda w, c, r: services.step_move(actor=c, step=step(r["draft"], 2), offset=-1),
    "remove a step": lambda w, c, r: services.step_delete(actor=c, step=step(r["draft"], 2)),
    "start testing": lambda w, c, r: services.version_start_test(actor=c, version=r["draft"]),
    "discard a draft": lambda w, c, r: services.draft_discard(actor=c, version=r["draft"]),
    "log a gap": lambda w, c, r: gap(w, step(r["under_test"], 1), actor=c),
    "resolve a gap": lambda w, c, r: services.gap_resolve(
        actor=c, gap=r["gap"], resolution="Fixed"
    ),
    "record a staff test": lambda w, c, r: staff_test(w, step(r["under_test"], 1), actor=c),
    "record a finding": lambda w, c, r: record_finding(c, r["under_test"], gaps=[r["gap"]]),
    "approve": lambda w, c, r: approve(w, r["under_test"], actor=c),
}


def test_a_commissioner_writes_nothing_at_the_service_they_commission(world):
    commissioner = world.user(Role.COMMISSIONER)
    assert commissioner.memberships.get().service == world.service_a
    under_test = service_copy(world)
    records = {
        "under_test": under_test,
        "draft": service_copy(world, workflow="incidents", status=Status.DRAFT),
        "spare": template(world, workflow="reviews"),
        "gap": gap(world, step(under_test, 1)),
    }
    counts = [m.objects.count() for m in (WorkflowMap, WorkflowVersion, PracticeGap, StaffTest)]
    assert went_through(COMMISSIONER_WRITES, PermissionDenied, world, commissioner, records) == []
    assert [
        m.objects.count() for m in (WorkflowMap, WorkflowVersion, PracticeGap, StaffTest)
    ] == counts
    assert not QualityFinding.objects.filter(version=under_test).exists()


# The service review log ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.UNDER_TEST, Status.APPROVED])
def test_gaps_are_logged_against_the_version_in_use_or_under_test(world, status):
    version = service_copy(world, status=status)
    logged = gap(world, step(version, 2), kind="workaround", evidence=["staff_feedback"] * 2)
    assert (logged.service, logged.organisation) == (world.service_a, world.org)
    assert logged.status == PracticeGap.Status.OPEN
    assert logged.evidence == ["staff_feedback"]


@pytest.mark.parametrize("status", [Status.DRAFT, Status.SUPERSEDED, Status.WITHDRAWN])
def test_gaps_are_not_logged_against_a_draft_or_an_old_version(world, status):
    if status == Status.SUPERSEDED:
        version = service_copy(world, status=Status.APPROVED)
        revise(world, version, status=Status.APPROVED)
    elif status == Status.WITHDRAWN:
        version = service_copy(world)
        revise(world, version)
    else:
        version = service_copy(world, status=status)
    with pytest.raises(ValidationError, match="Compare practice with the version in use or under"):
        gap(world, step(version, 1))
    assert not PracticeGap.objects.filter(step__version=version).exists()


def test_gaps_are_not_logged_against_a_template(world):
    version = template(world, status=Status.UNDER_TEST)
    with pytest.raises(ValidationError, match="not a template"):
        gap(world, step(version, 1))


def test_a_gap_cannot_have_been_seen_in_the_future(world):
    version = service_copy(world)
    with pytest.raises(ValidationError) as refused:
        gap(world, step(version, 1), observed_on=TODAY() + timedelta(days=1))
    assert refused.value.message_dict["observed_on"] == [
        "The date it was seen cannot be in the future."
    ]
    assert gap(world, step(version, 1), observed_on=TODAY()).observed_on == TODAY()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"description": "  "}, "description"),
        ({"evidence": []}, "evidence"),
        ({"risk": "none", "affects_safe_care": True}, "risk"),
        ({"kind": "moan"}, "kind"),
        ({"frequency": "sometimes"}, "frequency"),
    ],
)
def test_a_gap_says_what_differs_with_evidence_and_a_risk_that_fits(world, fields, field):
    version = service_copy(world)
    with pytest.raises(ValidationError) as refused:
        gap(world, step(version, 1), **fields)
    assert field in refused.value.message_dict
    assert not PracticeGap.objects.filter(step__version=version).exists()


def test_a_gap_with_no_risk_to_care_is_logged(world):
    version = service_copy(world)
    assert gap(world, step(version, 1), risk="none").risk == "none"


def test_a_gap_with_an_unknown_kind_of_evidence_is_refused(world):
    version = service_copy(world)
    with pytest.raises(ValidationError) as refused:
        gap(world, step(version, 1), evidence=["observation", "rumour"])
    assert "evidence" in refused.value.message_dict


def test_a_gap_is_resolved_once_with_how_it_was_resolved(world, director):
    logged = gap(world, step(service_copy(world), 1))
    with pytest.raises(ValidationError) as refused:
        services.gap_resolve(actor=director, gap=logged, resolution=" ")
    assert "resolution" in refused.value.message_dict
    at = timezone.now()
    resolved = services.gap_resolve(
        actor=director, gap=logged, resolution="Fixed in version 2", at=at
    )
    assert (resolved.status, resolved.resolved_at, resolved.resolved_by) == (
        "resolved",
        at,
        director,
    )
    with pytest.raises(ValidationError, match="already resolved"):
        services.gap_resolve(actor=director, gap=logged, resolution="Again")


# Staff tests -----------------------------------------------------------------------------------


def test_a_staff_test_cannot_be_in_the_future(world):
    version = service_copy(world)
    with pytest.raises(ValidationError) as refused:
        staff_test(world, step(version, 1), tested_on=TODAY() + timedelta(days=1))
    assert refused.value.message_dict["tested_on"] == [
        "The date of the test cannot be in the future."
    ]
    assert not StaffTest.objects.filter(version=version).exists()


def test_a_staff_test_cannot_be_before_the_version_went_under_test(world):
    version = service_copy(world, at=london(2026, 9, 14, 10, 0))
    with pytest.raises(ValidationError) as refused:
        staff_test(world, step(version, 1), tested_on=london(2026, 9, 13, 10, 0).date())
    assert refused.value.message_dict["tested_on"] == [
        "The date of the test cannot be before 14 Sep 2026."
    ]
    test = staff_test(world, step(version, 1), tested_on=london(2026, 9, 14, 10, 0).date())
    assert test.version == version


@pytest.mark.parametrize("status", [Status.DRAFT, Status.APPROVED, Status.WITHDRAWN])
def test_staff_tests_are_only_of_a_version_under_test(world, status):
    if status == Status.WITHDRAWN:
        version = service_copy(world)
        revise(world, version)
    else:
        version = service_copy(world, status=status)
    with pytest.raises(ValidationError, match="only a version under test takes staff tests"):
        staff_test(world, step(version, 1))
    assert not StaffTest.objects.filter(version=version).exists()


@pytest.mark.parametrize("minutes", [0, 481])
def test_a_staff_test_takes_between_1_and_480_minutes(world, minutes):
    version = service_copy(world)
    with pytest.raises(ValidationError) as refused:
        staff_test(world, step(version, 1), minutes_taken=minutes)
    assert "minutes_taken" in refused.value.message_dict


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"task_practical": "maybe"}, "task_practical"),
        ({"shift": "twilight"}, "shift"),
        ({"staff_role": "visitor"}, "staff_role"),
    ],
)
def test_a_staff_test_answers_from_the_choices_given(world, fields, field):
    version = service_copy(world)
    with pytest.raises(ValidationError) as refused:
        staff_test(world, step(version, 1), **fields)
    assert field in refused.value.message_dict
    assert not StaffTest.objects.filter(version=version).exists()


def test_the_same_staff_test_sent_twice_is_recorded_once(world):
    version = service_copy(world)
    leader = world.user(Role.TEAM_LEADER)
    fields = {
        "staff_role": "senior_care_worker",
        "shift": "late",
        "task_practical": "yes",
        "prompt_practical": "partly",
        "recording_practical": "yes",
        "minutes_taken": 9,
        "tested_on": TODAY(),
        "idempotency_key": uuid.uuid4(),
    }
    first, created = services.staff_test_record(actor=leader, step=step(version, 2), **fields)
    again, created_again = services.staff_test_record(actor=leader, step=step(version, 2), **fields)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert StaffTest.objects.filter(version=version).count() == 1
    assert first.result == "Partly practical" and not first.failed


def test_someone_else_cannot_reuse_a_staff_test_submission(world):
    version = service_copy(world)
    key = uuid.uuid4()
    staff_test(world, step(version, 1), idempotency_key=key)
    with pytest.raises(PermissionDenied):
        staff_test(
            world, step(version, 1), idempotency_key=key, actor=world.user(Role.DIGITAL_CHAMPION)
        )
    assert StaffTest.objects.filter(version=version).count() == 1


# Quality findings ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.DRAFT, Status.APPROVED])
def test_findings_are_recorded_on_a_version_under_test(world, quality, status):
    version = service_copy(world, status=status)
    with pytest.raises(ValidationError, match="recorded on a version under test"):
        record_finding(quality, version, audit_evidence=[{"model": "assurance.Audit", "id": 1}])
    assert not QualityFinding.objects.filter(version=version).exists()


def test_a_finding_needs_its_evidence_and_a_summary(world, quality):
    version = service_copy(world)
    with pytest.raises(ValidationError) as refused:
        record_finding(quality, version, summary=" ")
    assert set(refused.value.message_dict) == {"summary", "__all__"}
    assert refused.value.message_dict["__all__"] == [
        "Link the evidence: at least one staff test, gap or audit."
    ]
    assert not QualityFinding.objects.filter(version=version).exists()


def test_a_finding_links_only_tests_of_its_own_version(world, quality):
    willow = service_copy(world)
    beech = service_copy(world, service=world.service_b, source=willow.map.adopted_from)
    theirs = staff_test(world, step(beech, 1))
    ours = staff_test(world, step(willow, 1))
    with pytest.raises(ValidationError) as refused:
        record_finding(quality, willow, tests=[ours, theirs])
    assert refused.value.message_dict["tests"] == ["Link only tests of this version."]
    assert not QualityFinding.objects.filter(version=willow).exists()


def test_a_finding_links_only_gaps_from_its_own_services_log(world, quality):
    willow = service_copy(world)
    beech = service_copy(world, service=world.service_b, source=willow.map.adopted_from)
    with pytest.raises(ValidationError) as refused:
        record_finding(quality, willow, gaps=[gap(world, step(beech, 1))])
    assert refused.value.message_dict["gaps"] == ["Link only gaps from this service's review log."]
