"""The workflow pages as their users meet them: what they see, what a form keeps, what one tap
makes. Access by role and service for every URL is in tests/test_access_matrix.py."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from caregov.access import Role
from caregov.models import Decision, Escalation
from workflows.models import PracticeGap, StaffTest, WorkflowVersion


@pytest.fixture
def records(world):
    return {kind: world.record(kind, world.service_a) for kind in ("wf_draft", "wf_under_test")}


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_map_reads_as_numbered_steps_grouped_by_role(client, world, records):
    client.force_login(world.user(Role.CARE_STAFF))
    page = _page(client, reverse("workflows:version_detail", args=[records["wf_under_test"].pk]))
    assert "Care worker" in page and "Give the medicines" in page and "eMAR" in page
    assert "Under test" in page
    # Care staff read the map; the evidence and the controls are not theirs.
    assert "Record a staff test" not in page and "Evidence on this version" not in page


def test_the_overview_shows_each_services_state(client, world, records):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    page = _page(client, reverse("workflows:overview"))
    assert "Willow House" in page and "Beech Court" not in page
    assert "Under test" in page and "Draft" in page


def test_a_staff_test_submitted_twice_makes_one_test(client, world, records):
    version = records["wf_under_test"]
    step = version.steps.get()
    client.force_login(world.user(Role.TEAM_LEADER))
    url = reverse("workflows:test_new", args=[version.pk])
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "step": step.pk,
        "staff_role": "care_worker",
        "shift": "night",
        "task_practical": "yes",
        "prompt_practical": "partly",
        "recording_practical": "yes",
        "minutes_taken": "6",
        "tested_on": timezone.localdate().isoformat(),
    }
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert StaffTest.objects.filter(version=version).count() == 1
    # The next test starts with the same step, role and shift chosen.
    page = _page(client, first["Location"])
    assert re.search(r'name="shift" value="night"[^>]*checked', page)


def test_a_staff_test_with_a_missing_answer_keeps_what_was_typed(client, world, records):
    version = records["wf_under_test"]
    client.force_login(world.user(Role.TEAM_LEADER))
    response = client.post(
        reverse("workflows:test_new", args=[version.pk]),
        {
            "idempotency_key": str(uuid.uuid4()),
            "step": version.steps.get().pk,
            "staff_role": "care_worker",
            "shift": "early",
            "task_practical": "yes",
            "recording_practical": "no",
            "minutes_taken": "9",
            "comments": "Prompt hidden behind a second screen",
            "tested_on": timezone.localdate().isoformat(),
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Choose yes, partly or no: was the ECM prompt practical?" in page
    assert "There is a problem" in page and "Prompt hidden behind a second screen" in page
    assert StaffTest.objects.count() == 0


def test_a_safe_care_gap_logged_on_the_page_escalates_at_once(
    client, world, records, django_capture_on_commit_callbacks
):
    version = records["wf_under_test"]
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("workflows:gap_new", args=[version.pk]),
            {
                "idempotency_key": str(uuid.uuid4()),
                "step": version.steps.get().pk,
                "kind": "workaround",
                "description": "Night staff note doses on a handover sheet, typed in next day",
                "frequency": "every_shift",
                "risk": "high",
                "affects_safe_care": "on",
                "evidence": ["observation", "staff_feedback"],
                "observed_on": timezone.localdate().isoformat(),
            },
            follow=True,
        )
    assert "escalated to the senior leadership team" in response.content.decode()
    gap = PracticeGap.objects.get(description__startswith="Night staff")
    assert f"saved={gap.idempotency_key}" in response.redirect_chain[0][0]
    escalation = Escalation.objects.get(subject=f"gap:{gap.pk}")
    assert escalation.severity == "high" and escalation.service == world.service_a


def test_approval_with_a_failed_test_asks_for_a_reason_and_then_records_the_decision(
    client, world, records
):
    version = records["wf_under_test"]
    StaffTest.objects.create(
        organisation=world.org,
        service=world.service_a,
        version=version,
        step=version.steps.get(),
        staff_role="care_worker",
        shift="late",
        task_practical="no",
        prompt_practical="yes",
        recording_practical="yes",
        minutes_taken=12,
        tested_on=timezone.localdate(),
        tested_by=world.user(Role.TEAM_LEADER),
        idempotency_key=uuid.uuid4(),
    )
    client.force_login(world.user(Role.SENIOR_LEADER))
    url = reverse("workflows:version_approve", args=[version.pk])
    assert "failed test" in _page(client, url).lower()
    data = {
        "meeting": "new",
        "meeting_date": timezone.localdate().isoformat(),
        "attendees": "Chief executive\nOperations director",
        "implementation_expectations": "Team leaders brief every shift by Friday.",
    }
    refused = client.post(url, data)
    assert (
        refused.status_code == 200 and "Team leaders brief every shift" in refused.content.decode()
    )
    assert Decision.objects.filter(workflow_version=version).count() == 0
    approved = client.post(url, {**data, "override_reason": "The paper alternative is riskier."})
    assert approved.status_code == 302
    version.refresh_from_db()
    assert version.status == WorkflowVersion.Status.APPROVED
    assert "Team leaders brief every shift" in version.decision.text


def test_a_draft_step_is_added_moved_and_the_version_frozen_once_tested(client, world, records):
    draft = records["wf_draft"]
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    response = client.post(
        reverse("workflows:step_new", args=[draft.pk]),
        {
            "role": "senior_care_worker",
            "action": "Check the notes before handover",
            "ecm_location": "Daily note",
            "prompt": "Read every note written this shift.",
            "minutes_expected": "10",
        },
    )
    assert response.status_code == 302
    second = draft.steps.get(position=2)
    client.post(reverse("workflows:step_move", args=[draft.pk, second.pk]), {"direction": "up"})
    assert draft.steps.get(position=1).action == "Check the notes before handover"
    client.post(reverse("workflows:version_start_test", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == WorkflowVersion.Status.UNDER_TEST
    refused = client.get(reverse("workflows:step_new", args=[draft.pk]), follow=True)
    assert "frozen" in refused.content.decode()


def test_the_service_review_log_filters_and_exports(client, world, records):
    client.force_login(world.user(Role.QUALITY_LEAD))
    page = _page(client, reverse("workflows:gap_list") + "?kind=workaround")
    assert "Doses written on paper first" in page
    csv = client.get(reverse("workflows:gap_list") + "?format=csv").content.decode()
    assert "Doses written on paper first" in csv and "Beech Court" in csv


def test_the_quarterly_review_presents_each_service(client, world):
    client.force_login(world.user(Role.SENIOR_LEADER))
    review = world.record("wf_review", world.service_a)
    page = _page(client, reverse("workflows:quarterly_review", args=[review.pk]))
    assert "Willow House" in page and "Beech Court" in page and "Far Away" not in page


def test_a_gap_sent_twice_after_a_dropped_connection_is_logged_once(client, world, records):
    version = records["wf_under_test"]
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "step": version.steps.get().pk,
        "kind": "duplication",
        "description": "Fluids written on the chart and again in the daily note",
        "frequency": "most_shifts",
        "risk": "low",
        "evidence": ["record_sample"],
        "observed_on": timezone.localdate().isoformat(),
    }
    url = reverse("workflows:gap_new", args=[version.pk])
    assert client.post(url, data).status_code == client.post(url, data).status_code == 302
    assert PracticeGap.objects.filter(description__startswith="Fluids written").count() == 1


def test_the_quarterly_review_shows_high_risk_gaps_still_open_from_earlier_quarters(client, world):
    gap = world.record("wf_gap", world.service_a)
    PracticeGap.objects.filter(pk=gap.pk).update(risk="high", observed_on="2026-01-10")
    client.force_login(world.user(Role.SENIOR_LEADER))
    review = world.record("wf_review", world.service_a)
    page = _page(client, reverse("workflows:quarterly_review", args=[review.pk]))
    assert "High-risk gaps still open" in page and "Doses written on paper first" in page


def test_approving_a_service_version_with_no_tests_or_finding_says_the_evidence_is_thin(
    client, world, records
):
    client.force_login(world.user(Role.SENIOR_LEADER))
    page = _page(client, reverse("workflows:version_approve", args=[records["wf_under_test"].pk]))
    assert "No staff tests have been recorded on this version." in page
    assert "The quality lead has recorded no finding on this version." in page


def test_care_staff_read_a_map_but_not_the_history_of_what_it_was_approved_over(
    client, world, records
):
    client.force_login(world.user(Role.CARE_STAFF))
    version = records["wf_under_test"]
    assert client.get(reverse("workflows:version_detail", args=[version.pk])).status_code == 200
    assert client.get(reverse("workflows:version_history", args=[version.pk])).status_code == 403


def test_a_new_step_can_go_before_an_existing_one(client, world, records):
    draft = records["wf_draft"]
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    response = client.post(
        reverse("workflows:step_new", args=[draft.pk]),
        {
            "role": "care_worker",
            "action": "Read the handover before the round",
            "ecm_location": "Handover",
            "prompt": "Read what the last shift handed over.",
            "minutes_expected": "3",
            "insert_at": "1",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#step-1")
    assert [s.action for s in draft.steps.all()] == [
        "Read the handover before the round",
        "Give the medicines",
    ]


def test_the_minutes_link_an_approval_decision_to_the_version_it_approved(client, world, records):
    from workflows import services

    version = records["wf_under_test"]
    services.version_approve(
        actor=world.user(Role.SENIOR_LEADER),
        version=version,
        implementation_expectations="Brief every shift by Friday.",
        meeting_date=timezone.localdate(),
        attendees="Chief executive",
    )
    version.refresh_from_db()
    client.force_login(world.user(Role.SENIOR_LEADER))
    page = _page(client, reverse("meeting_detail", args=[version.decision.meeting_id]))
    assert f'href="{version.get_absolute_url()}"' in page and "Medication (Willow House)" in page
