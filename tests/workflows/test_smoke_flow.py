"""The whole of Operational Example 1 once, through the services: map, adopt, log a gap, test,
record a finding, approve, revise and supersede."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from caregov.access import Role
from caregov.models import Escalation
from workflows import services
from workflows.models import PracticeGap, WorkflowVersion

#: The test world already has medication and daily notes maps (tests/conftest.py).
STEP = {
    "role": "care_worker",
    "action": "Record the care given",
    "ecm_location": "Daily note",
    "recorded_item": "care given",
    "prompt": "Record what was done and how the person responded.",
    "minutes_expected": 5,
}


@pytest.fixture
def people(world):
    return {
        "director": world.user(Role.OPERATIONS_DIRECTOR),
        "manager": world.user(Role.REGISTERED_MANAGER),
        "team_leader": world.user(Role.TEAM_LEADER),
        "quality": world.user(Role.QUALITY_LEAD),
        "senior": world.user(Role.SENIOR_LEADER),
    }


def test_the_workflow_journey(world, people, django_capture_on_commit_callbacks):
    template = services.template_create(
        actor=people["director"],
        organisation=world.org,
        workflow="care_planning",
        title="Care visit",
    )
    services.step_save(actor=people["director"], version=template, **STEP)
    services.step_save(
        actor=people["director"],
        version=template,
        **{**STEP, "action": "Update the risk assessment"},
    )
    services.version_start_test(actor=people["director"], version=template)
    services.version_approve(
        actor=people["senior"],
        version=template,
        implementation_expectations="All services adopt by January.",
        meeting_date=timezone.localdate(),
        attendees="Chief executive\nOperations director",
    )
    template.refresh_from_db()
    assert template.status == WorkflowVersion.Status.APPROVED
    assert template.decision.meeting.body == "senior_leadership_team"

    version = services.map_adopt(
        actor=people["manager"], service=world.service_a, template=template
    )
    assert [s.action for s in version.steps.all()] == [
        "Record the care given",
        "Update the risk assessment",
    ]
    services.step_move(actor=people["manager"], step=version.steps.get(position=2), offset=-1)
    assert [s.action for s in version.steps.all()] == [
        "Update the risk assessment",
        "Record the care given",
    ]
    services.version_start_test(actor=people["manager"], version=version)
    step = version.steps.get(position=2)

    with django_capture_on_commit_callbacks(execute=True):
        gap = services.gap_record(
            actor=people["manager"],
            step=step,
            kind="workaround",
            description="Staff write notes on paper and copy them in later.",
            frequency="most_shifts",
            risk="high",
            affects_safe_care=True,
            evidence=["observation"],
            observed_on=timezone.localdate(),
        )
    # Flagged as affecting safe care: escalated at once, to the senior leadership team.
    escalation = Escalation.objects.get(trigger="workflows.unsafe_digital_process")
    assert escalation.severity == "high" and escalation.escalated_to == "senior_leadership_team"
    assert escalation.subject == f"gap:{gap.pk}"

    key = uuid.uuid4()
    test, created = services.staff_test_record(
        actor=people["team_leader"],
        step=step,
        staff_role="care_worker",
        shift="early",
        task_practical="yes",
        prompt_practical="no",
        recording_practical="partly",
        minutes_taken=7,
        tested_on=timezone.localdate(),
        idempotency_key=key,
    )
    again, created_again = services.staff_test_record(
        actor=people["team_leader"],
        step=step,
        staff_role="care_worker",
        shift="early",
        task_practical="yes",
        prompt_practical="no",
        recording_practical="partly",
        minutes_taken=7,
        tested_on=timezone.localdate(),
        idempotency_key=key,
    )
    assert created and not created_again and again.pk == test.pk and test.failed

    services.finding_record(
        actor=people["quality"],
        version=version,
        consistency="improves",
        record_quality="no_change",
        risk_visibility="improves",
        summary="Better, but the prompt is not practical on the early round.",
        tests=[test],
        gaps=[gap],
    )
    with pytest.raises(ValidationError) as refused:
        services.version_approve(
            actor=people["senior"],
            version=version,
            implementation_expectations="Use from Monday.",
            meeting_date=timezone.localdate(),
            attendees="Chief executive",
        )
    assert "override_reason" in refused.value.message_dict
    services.version_approve(
        actor=people["senior"],
        version=version,
        implementation_expectations="Use from Monday.",
        meeting_date=timezone.localdate(),
        attendees="Chief executive",
        override_reason="Paper is worse; the prompt is fixed in the next revision within a week.",
    )
    version.refresh_from_db()
    assert version.status == "approved" and version.approval_blockers["tests"]

    revision = services.version_revise(
        actor=people["manager"], workflow_map=version.map, change_summary="Shorter prompt"
    )
    assert revision.number == 2 and revision.steps.count() == 2
    services.version_start_test(actor=people["manager"], version=revision)
    services.gap_resolve(actor=people["manager"], gap=gap, resolution="Fixed in version 2")
    services.version_approve(
        actor=people["senior"],
        version=revision,
        implementation_expectations="Use from Monday.",
        meeting_date=timezone.localdate() - timedelta(days=1),
        attendees="Chief executive",
    )
    version.refresh_from_db()
    assert version.status == "superseded"
    assert PracticeGap.objects.get(pk=gap.pk).status == "resolved"
