"""The four workflow triggers, each at its threshold, just short of it and with no data; what an
organisation's own thresholds change; what the escalations carry; and that a second run raises
nothing new.

The quarterly triggers (repeated workarounds, workflow duplication) run on 28 Sep 2026 and read
Q3 2026, 1 Jul to 30 Sep. Poor record quality runs on 3 Nov 2026 and reads October, the last
complete month, against workflow changes from July (3 months before) to October.
"""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from caregov.access import Role
from caregov.cadence import Cadence, period_at, period_containing
from caregov.engine import evaluate_triggers
from caregov.models import Body, Escalation
from caregov.registry import Scope
from caregov.registry import triggers as registry
from caregov.services.governance import trigger_setting_save
from tests.assurance.builders import import_rows, month, rows
from tests.workflows.builders import (
    Status,
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

WORKAROUNDS = "workflows.repeated_workarounds"
DUPLICATION = "workflows.workflow_duplication"
POOR_RECORDS = "workflows.poor_record_quality"
UNSAFE = "workflows.unsafe_digital_process"

AT = london(2026, 9, 30, 23, 0)  # the last hour of Q3 2026
Q3 = period_at(Cadence.QUARTERLY, AT)
NOVEMBER_AT = london(2026, 11, 3, 9, 0)
OCTOBER = month(2026, 10)
#: Service copies in these tests went under test before the quarter began.
TESTED_FROM = london(2026, 6, 1, 9, 0)


@pytest.fixture
def director(world):
    return world.user(Role.OPERATIONS_DIRECTOR)


def findings(code, world, *, at=AT, service=None, **thresholds):
    trigger = registry.get(code)
    return trigger.evaluate(
        Scope(world.org, service or world.service_a),
        period_at(trigger.cadence, at),
        trigger.defaults() | thresholds,
        at,
    )


def escalations(code, service=None):
    found = Escalation.objects.filter(trigger=code).order_by("pk")
    return list(found.filter(service=service) if service else found)


def records(finding) -> list[tuple[str, int]]:
    return [(r.model, r.id) for r in finding.records]


def override(world, code, **thresholds):
    trigger_setting_save(
        actor=world.user(Role.QUALITY_LEAD),
        organisation=world.org,
        trigger_code=code,
        thresholds=thresholds,
        enabled=True,
    )


def under_test(world, **kwargs):
    return service_copy(world, at=TESTED_FROM, **kwargs)


def workaround(world, on, observed_on, **fields):
    return gap(world, on, kind="workaround", observed_on=observed_on, **fields)


def test_the_four_workflow_triggers_are_registered_in_the_seeds_words():
    found = {t.code: t for t in registry.all() if t.code.startswith("workflows.")}
    assert set(found) == {WORKAROUNDS, DUPLICATION, POOR_RECORDS, UNSAFE}
    assert "repeated workarounds" in found[WORKAROUNDS].description
    assert "workflow duplication" in found[DUPLICATION].description
    assert "poor record quality" in found[POOR_RECORDS].description
    assert "not supporting safe care" in found[UNSAFE].description


# Repeated workarounds: 2 on one step, or 3 on one workflow, in a quarter -------------------------


def test_two_workarounds_at_one_step_in_a_quarter_are_repeated(world):
    version = under_test(world)
    seen = [workaround(world, step(version, 2), date(2026, 7, d)) for d in (1, 30)]
    [finding] = findings(WORKAROUNDS, world)
    assert finding.subject == f"step:{step(version, 2).pk}"
    assert finding.title == (
        "Repeated workarounds at Willow House: 2 at step 2 of the care planning workflow in "
        "Q3 2026 (Jul to Sep)"
    )
    assert finding.severity == Escalation.Severity.MEDIUM
    assert finding.figures == {
        "workarounds": 2,
        "threshold": 2,
        "workflow": "Care planning",
        "step": "2. Record the care given",
    }
    assert records(finding) == [("workflows.PracticeGap", g.pk) for g in seen]


def test_one_workaround_at_a_step_is_not_repeated(world):
    workaround(world, step(under_test(world), 2), date(2026, 7, 1))
    assert findings(WORKAROUNDS, world) == []


def test_three_workarounds_on_one_workflow_in_a_quarter_are_repeated(world):
    version = under_test(world)
    seen = [
        workaround(world, step(version, 1), date(2026, 7, 1)),
        workaround(world, step(version, 3), date(2026, 8, 12)),
        workaround(world, step(version, 3), date(2026, 9, 30)),
    ]
    # One finding for the workflow; the step with two is part of it, not a second finding.
    [finding] = findings(WORKAROUNDS, world)
    assert finding.subject == f"map:{version.map_id}"
    assert finding.figures == {
        "workarounds": 3,
        "threshold": 3,
        "workflow": "Care planning",
        "steps": [1, 3],
    }
    assert records(finding) == [("workflows.PracticeGap", g.pk) for g in seen]


def test_two_workarounds_on_different_steps_of_a_workflow_are_not_yet_repeated(world):
    version = under_test(world)
    workaround(world, step(version, 1), date(2026, 7, 1))
    workaround(world, step(version, 2), date(2026, 7, 2))
    assert findings(WORKAROUNDS, world) == []


def test_workarounds_on_the_version_in_use_and_its_revision_count_for_one_workflow(world):
    approved = service_copy(world, status=Status.APPROVED, at=TESTED_FROM)
    revision = revise(world, approved, status=Status.UNDER_TEST, at=TESTED_FROM)
    workaround(world, step(approved, 1), date(2026, 7, 1))
    workaround(world, step(approved, 2), date(2026, 7, 2))
    workaround(world, step(revision, 3), date(2026, 7, 3))
    [finding] = findings(WORKAROUNDS, world)
    assert finding.subject == f"map:{approved.map_id}"


def test_a_step_carried_into_a_revision_is_still_the_same_step(world):
    approved = service_copy(world, status=Status.APPROVED, at=TESTED_FROM)
    revision = revise(world, approved, status=Status.UNDER_TEST, at=TESTED_FROM)
    workaround(world, step(approved, 2), date(2026, 7, 1))
    workaround(world, step(revision, 2), date(2026, 7, 2))
    [finding] = findings(WORKAROUNDS, world)
    assert finding.subject == f"step:{step(approved, 2).pk}"
    assert finding.figures["workarounds"] == 2


def test_only_workarounds_seen_in_the_quarter_count(world):
    version = under_test(world)
    for day in (date(2026, 6, 30), date(2026, 7, 1), date(2026, 10, 1)):
        workaround(world, step(version, 2), day)
    assert findings(WORKAROUNDS, world) == []
    workaround(world, step(version, 2), date(2026, 9, 30))
    [finding] = findings(WORKAROUNDS, world)
    assert finding.figures["workarounds"] == 2


def test_gaps_and_duplication_are_not_workarounds(world):
    version = under_test(world)
    for kind in ("gap", "duplication"):
        for day in (1, 2):
            gap(world, step(version, 2), kind=kind, observed_on=date(2026, 7, day))
    assert findings(WORKAROUNDS, world) == []


def test_no_workarounds_are_not_repeated_workarounds(world):
    under_test(world)
    assert findings(WORKAROUNDS, world) == []


def test_an_organisations_own_thresholds_decide_what_is_repeated(world):
    version = under_test(world)
    workaround(world, step(version, 1), date(2026, 7, 1))
    workaround(world, step(version, 2), date(2026, 7, 2))
    workaround(world, step(version, 2), date(2026, 7, 3))

    override(world, WORKAROUNDS, per_workflow=4, per_step=3)
    evaluate_triggers(at=AT, codes=[WORKAROUNDS])
    assert escalations(WORKAROUNDS) == []

    override(world, WORKAROUNDS, per_workflow=4, per_step=2)
    evaluate_triggers(at=AT, codes=[WORKAROUNDS])
    [escalation] = escalations(WORKAROUNDS)
    assert escalation.subject == f"step:{step(version, 2).pk}"
    assert escalation.evidence["figures"]["threshold"] == 2


def test_repeated_workarounds_escalate_once_to_the_services_manager_with_the_gaps(world):
    willow = under_test(world)
    beech = under_test(world, service=world.service_b, source=willow.map.adopted_from)
    seen = [workaround(world, step(beech, 2), date(2026, 7, d)) for d in (6, 7)]

    evaluate_triggers(at=AT, codes=[WORKAROUNDS])
    evaluate_triggers(at=AT + timedelta(minutes=15), codes=[WORKAROUNDS])

    assert escalations(WORKAROUNDS, world.service_a) == []
    [escalation] = escalations(WORKAROUNDS)
    assert escalation.service == world.service_b
    assert (escalation.period_start, escalation.period_end) == (Q3.start, Q3.end)
    assert escalation.escalated_to == Body.REGISTERED_MANAGER
    assert [(r["model"], r["id"]) for r in escalation.evidence["records"]] == [
        ("workflows.PracticeGap", g.pk) for g in seen
    ]
    assert escalation.evidence["records"][0]["label"] == "Workaround at step 2, 6 Jul 2026"


# Workflow duplication: logged at 2 steps in a quarter, or one item recorded in 2 places ----------


def duplication(world, on, observed_on):
    return gap(world, on, kind="duplication", observed_on=observed_on)


def test_duplication_logged_at_two_steps_in_a_quarter_is_workflow_duplication(world):
    version = under_test(world)
    seen = [
        duplication(world, step(version, 1), date(2026, 7, 1)),
        duplication(world, step(version, 3), date(2026, 9, 30)),
    ]
    [finding] = findings(DUPLICATION, world)
    assert finding.subject == "logged"
    assert finding.title == (
        "Workflow duplication at Willow House: duplicated recording logged at 2 steps in "
        "Q3 2026 (Jul to Sep)"
    )
    assert finding.figures == {"steps_with_duplication": 2, "threshold": 2}
    assert records(finding) == [("workflows.PracticeGap", g.pk) for g in seen]


def test_duplication_logged_twice_at_one_step_is_one_step(world):
    version = under_test(world)
    duplication(world, step(version, 2), date(2026, 7, 1))
    duplication(world, step(version, 2), date(2026, 7, 2))
    assert findings(DUPLICATION, world) == []
    # An organisation that acts on any step with duplication logged.
    [finding] = findings(DUPLICATION, world, duplicated_steps=1)
    assert finding.figures == {"steps_with_duplication": 1, "threshold": 1}


def test_duplication_logged_outside_the_quarter_does_not_count(world):
    version = under_test(world)
    duplication(world, step(version, 1), date(2026, 6, 30))
    duplication(world, step(version, 3), date(2026, 10, 1))
    duplication(world, step(version, 2), date(2026, 8, 1))
    assert findings(DUPLICATION, world) == []


def test_no_records_are_not_workflow_duplication(world):
    assert findings(DUPLICATION, world) == []


FLUIDS = (
    {"action": "Offer a drink", "ecm_location": "Daily note", "recorded_item": "Fluid intake"},
    {
        "action": "Fill in the chart",
        "ecm_location": "Fluid chart",
        "recorded_item": " fluid  INTAKE",
    },
)


def test_the_same_item_expected_in_two_places_is_workflow_duplication(world):
    version = under_test(world, steps=FLUIDS)
    [finding] = findings(DUPLICATION, world)
    assert finding.subject == "recorded:fluid intake"
    assert finding.title == (
        "Workflow duplication at Willow House: “Fluid intake” is expected to be recorded in 2 places"
    )
    assert finding.figures == {
        "recorded_item": "Fluid intake",
        "places": 2,
        "threshold": 2,
        "where": ["Care planning step 1: Daily note", "Care planning step 2: Fluid chart"],
    }
    assert records(finding) == [("workflows.WorkflowVersion", version.pk)] * 2


def test_the_same_item_in_the_same_place_twice_is_one_place(world):
    under_test(
        world,
        steps=(
            {"ecm_location": "Daily note", "recorded_item": "Fluid intake"},
            {"ecm_location": "  daily   NOTE ", "recorded_item": "fluid intake"},
        ),
    )
    assert findings(DUPLICATION, world) == []


def test_the_same_item_in_two_workflows_of_a_service_is_duplication(world):
    under_test(world, steps=FLUIDS[:1])
    under_test(world, workflow="incidents", steps=FLUIDS[1:])
    [finding] = findings(DUPLICATION, world)
    assert finding.figures["where"] == [
        "Care planning step 1: Daily note",
        "Incidents step 1: Fluid chart",
    ]


def test_an_organisation_can_ask_for_three_places_before_it_acts(world):
    under_test(world, steps=FLUIDS)
    override(world, DUPLICATION, places=3)
    evaluate_triggers(at=AT, codes=[DUPLICATION])
    assert escalations(DUPLICATION) == []
    under_test(
        world,
        workflow="incidents",
        steps=({"ecm_location": "Handover", "recorded_item": "fluid intake"},),
    )
    evaluate_triggers(at=AT, codes=[DUPLICATION])
    [escalation] = escalations(DUPLICATION)
    assert escalation.evidence["figures"]["places"] == 3


def test_a_drafts_steps_and_a_templates_steps_are_not_in_use(world):
    service_copy(world, steps=FLUIDS, status=Status.DRAFT)
    template(world, workflow="incidents", steps=FLUIDS)
    assert findings(DUPLICATION, world) == []


def test_the_version_in_use_is_the_approved_one_not_its_revision_under_test(world, director):
    approved = service_copy(world, status=Status.APPROVED, at=TESTED_FROM)
    revision = revise(world, approved, at=TESTED_FROM)
    for fields in FLUIDS:
        services.step_save(actor=director, version=revision, **step_fields(**fields))
    services.version_start_test(actor=director, version=revision, at=TESTED_FROM)
    # The revision under test records fluids twice, but staff follow the approved version.
    assert findings(DUPLICATION, world) == []


def test_duplication_in_the_approved_version_counts_while_a_revision_is_tested(world, director):
    approved = service_copy(world, steps=FLUIDS, status=Status.APPROVED, at=TESTED_FROM)
    revision = revise(world, approved, at=TESTED_FROM)
    services.step_delete(actor=director, step=step(revision, 2))
    services.version_start_test(actor=director, version=revision, at=TESTED_FROM)
    [finding] = findings(DUPLICATION, world)
    assert records(finding) == [("workflows.WorkflowVersion", approved.pk)] * 2


def test_duplication_at_another_service_is_not_this_services(world):
    willow = under_test(world)
    under_test(world, service=world.service_b, source=willow.map.adopted_from)
    # Beech Court's own incidents workflow records fluids twice.
    under_test(world, service=world.service_b, workflow="incidents", steps=FLUIDS)
    assert findings(DUPLICATION, world) == []
    assert len(findings(DUPLICATION, world, service=world.service_b)) == 1


def test_workflow_duplication_escalates_once_per_item_and_quarter(world):
    version = under_test(world, steps=FLUIDS)
    evaluate_triggers(at=AT, codes=[DUPLICATION])
    evaluate_triggers(at=AT - timedelta(days=1), codes=[DUPLICATION])
    [escalation] = escalations(DUPLICATION)
    assert escalation.subject == "recorded:fluid intake"
    assert (escalation.service, escalation.period_start) == (world.service_a, Q3.start)
    assert escalation.evidence["records"] == [
        {
            "model": "workflows.WorkflowVersion",
            "id": version.pk,
            "label": f"Care planning, version 1, step {n}",
        }
        for n in (1, 2)
    ]


# Poor record quality: a measure red within 3 months of a workflow change -----------------------


def red_october(world, service=None):
    """October's ECM export with 8 of 10 notes written: completeness 80.0%, red."""
    record = import_rows(
        world.user(Role.DATA_QUALITY_LEAD),
        service or world.service_a,
        rows(10, start=OCTOBER.start, recorded=8),
    )
    assert record.status == "imported", record.problems
    return record


def green_october(world):
    record = import_rows(
        world.user(Role.DATA_QUALITY_LEAD), world.service_a, rows(10, start=OCTOBER.start)
    )
    assert record.status == "imported", record.problems
    return record


def changed(world, at, **kwargs):
    """A service workflow tested and approved at `at`: a change to how the service works."""
    return service_copy(world, status=Status.APPROVED, at=at, **kwargs)


def test_a_red_month_after_a_workflow_change_is_poor_record_quality(world):
    version = changed(world, london(2026, 8, 10, 9, 0))
    red_october(world)
    [finding] = findings(POOR_RECORDS, world, at=NOVEMBER_AT)
    assert finding.subject == "red-after-change"
    assert finding.period == OCTOBER
    assert finding.title.startswith("Poor record quality at Willow House after a workflow change: ")
    assert "in October 2026" in finding.title
    assert finding.figures["month"] == "October 2026"
    assert finding.figures["red_measures"]["completeness"].startswith("Red: 80.0%")
    assert finding.figures["workflow_changes"] == ["Care planning version 1"]
    assert finding.figures["months_after_change"] == 3
    # The service's version, not the organisation's template it was adopted from.
    assert records(finding) == [("workflows.WorkflowVersion", version.pk)]


@pytest.mark.parametrize(
    ("changed_at", "fires"),
    [
        (london(2026, 7, 1, 0, 30), True),  # the first moment of July in UK time
        (london(2026, 6, 30, 23, 30), False),  # the last hour of June
        (london(2026, 10, 31, 23, 30), True),  # late in the red month itself
        (london(2026, 11, 2, 9, 0), False),  # after the red month
    ],
)
def test_a_change_counts_from_3_months_before_the_red_month(world, changed_at, fires):
    changed(world, changed_at)
    red_october(world)
    assert bool(findings(POOR_RECORDS, world, at=NOVEMBER_AT)) is fires


def test_a_version_that_went_under_test_in_the_window_is_a_change(world, director):
    version = service_copy(world, status=Status.DRAFT, at=london(2026, 5, 1, 9, 0))
    services.version_start_test(actor=director, version=version, at=london(2026, 9, 1, 9, 0))
    red_october(world)
    [finding] = findings(POOR_RECORDS, world, at=NOVEMBER_AT)
    assert records(finding) == [("workflows.WorkflowVersion", version.pk)]


def test_a_red_month_with_no_workflow_change_is_not_put_down_to_one(world):
    changed(world, london(2026, 5, 10, 9, 0))
    red_october(world)
    assert findings(POOR_RECORDS, world, at=NOVEMBER_AT) == []


def test_a_workflow_change_with_no_red_month_is_not_poor_record_quality(world):
    changed(world, london(2026, 8, 10, 9, 0))
    assert findings(POOR_RECORDS, world, at=NOVEMBER_AT) == []
    green_october(world)
    assert findings(POOR_RECORDS, world, at=NOVEMBER_AT) == []


def test_a_template_change_alone_is_not_a_change_at_the_service(world):
    template(world, at=london(2026, 8, 10, 9, 0))
    red_october(world)
    assert findings(POOR_RECORDS, world, at=NOVEMBER_AT) == []


def test_a_change_at_another_service_does_not_explain_this_ones_red_month(world):
    changed(world, london(2026, 8, 10, 9, 0), service=world.service_b)
    red_october(world)
    assert findings(POOR_RECORDS, world, at=NOVEMBER_AT) == []


def test_an_organisation_watching_two_months_after_a_change_acts_on_fewer(world):
    changed(world, london(2026, 7, 20, 9, 0))
    red_october(world)
    override(world, POOR_RECORDS, months_after_change=2)
    evaluate_triggers(at=NOVEMBER_AT, codes=[POOR_RECORDS])
    assert escalations(POOR_RECORDS) == []

    override(world, POOR_RECORDS, months_after_change=3)
    evaluate_triggers(at=NOVEMBER_AT, codes=[POOR_RECORDS])
    assert len(escalations(POOR_RECORDS)) == 1


def test_poor_record_quality_escalates_once_for_the_red_month(world):
    version = changed(world, london(2026, 9, 3, 9, 0))
    red_october(world)
    evaluate_triggers(at=NOVEMBER_AT, codes=[POOR_RECORDS])
    evaluate_triggers(at=NOVEMBER_AT + timedelta(hours=6), codes=[POOR_RECORDS])
    [escalation] = escalations(POOR_RECORDS)
    assert escalation.service == world.service_a
    assert (escalation.period_start, escalation.period_end) == (OCTOBER.start, OCTOBER.end)
    assert escalation.evidence["records"] == [
        {
            "model": "workflows.WorkflowVersion",
            "id": version.pk,
            "label": "Care planning: Willow House, version 1",
        }
    ]


# Digital processes not supporting safe care: at once, high, to the senior leadership team -------


def test_a_gap_affecting_safe_care_escalates_at_once_to_the_senior_leadership_team(
    world, django_capture_on_commit_callbacks
):
    version = service_copy(world)
    with django_capture_on_commit_callbacks(execute=True):
        logged = gap(
            world,
            step(version, 2),
            kind="workaround",
            risk="medium",
            affects_safe_care=True,
            frequency="most_shifts",
            description="Care given is noted on paper and often not copied in.",
        )
    [escalation] = escalations(UNSAFE)
    assert escalation.subject == f"gap:{logged.pk}"
    assert escalation.service == world.service_a
    assert escalation.severity == Escalation.Severity.HIGH
    assert escalation.escalated_to == Body.SENIOR_LEADERSHIP_TEAM
    this_month = period_containing(Cadence.MONTHLY, logged.observed_on)
    assert escalation.period_start == this_month.start
    assert escalation.evidence["figures"] == {
        "risk": "Medium",
        "how_often": "On most shifts",
        "observed_on": logged.observed_on.isoformat(),
        "description": "Care given is noted on paper and often not copied in.",
    }
    assert escalation.evidence["records"] == [
        {
            "model": "workflows.PracticeGap",
            "id": logged.pk,
            "label": f"Workaround at step 2, {logged.observed_on:%-d %b %Y}",
        }
    ]
    assert escalation.title == (
        "Not supporting safe care at Willow House: workaround at step 2 of the care planning "
        "workflow"
    )


def test_a_staff_test_affecting_safe_care_escalates_at_once(
    world, django_capture_on_commit_callbacks
):
    version = service_copy(world)
    with django_capture_on_commit_callbacks(execute=True):
        test = staff_test(
            world,
            step(version, 3),
            affects_safe_care=True,
            recording_practical="partly",
            shift="night",
            comments="The risk prompt does not show on the night tablet.",
        )
    [escalation] = escalations(UNSAFE)
    assert escalation.subject == f"test:{test.pk}"
    assert escalation.severity == Escalation.Severity.HIGH
    assert escalation.escalated_to == Body.SENIOR_LEADERSHIP_TEAM
    assert escalation.evidence["figures"] == {
        "result": "Partly practical",
        "shift": "Night",
        "tested_on": test.tested_on.isoformat(),
        "comments": "The risk prompt does not show on the night tablet.",
    }
    assert [(r["model"], r["id"]) for r in escalation.evidence["records"]] == [
        ("workflows.StaffTest", test.pk)
    ]


def test_high_risk_and_failures_not_flagged_as_safe_care_do_not_escalate_as_unsafe(
    world, django_capture_on_commit_callbacks
):
    version = service_copy(world)
    with django_capture_on_commit_callbacks(execute=True):
        gap(world, step(version, 1), risk="high")
        failed(world, step(version, 2))
    evaluate_triggers(at=timezone.now(), codes=[UNSAFE])
    assert escalations(UNSAFE) == []


def test_a_safe_care_escalation_is_raised_once(world, django_capture_on_commit_callbacks):
    version = service_copy(world)
    with django_capture_on_commit_callbacks(execute=True):
        gap(world, step(version, 2), risk="high", affects_safe_care=True)
    with django_capture_on_commit_callbacks(execute=True):
        gap(world, step(version, 3), risk="low", affects_safe_care=True)
    evaluate_triggers(at=timezone.now(), codes=[UNSAFE])
    evaluate_triggers(at=timezone.now(), codes=[UNSAFE])
    assert len(escalations(UNSAFE)) == 2  # one for each gap, however often it is evaluated


def test_a_safe_care_gap_resolved_before_the_run_is_not_escalated(world, director):
    version = service_copy(world)
    # Recorded without running its on-commit escalation, as if the worker were down.
    logged = gap(world, step(version, 2), risk="high", affects_safe_care=True)
    services.gap_resolve(actor=director, gap=logged, resolution="Prompt added the same day")
    evaluate_triggers(at=timezone.now(), codes=[UNSAFE])
    assert escalations(UNSAFE) == []


@pytest.mark.parametrize(("days_before", "escalated"), [(92, True), (93, False)])
def test_the_scheduler_looks_back_92_days_for_safe_care_staff_tests(world, days_before, escalated):
    version = under_test(world)
    staff_test(
        world,
        step(version, 1),
        affects_safe_care=True,
        tested_on=AT.date() - timedelta(days=days_before),
    )
    evaluate_triggers(at=AT, codes=[UNSAFE])
    assert bool(escalations(UNSAFE)) is escalated


def test_no_safe_care_evidence_is_not_an_unsafe_digital_process(world):
    service_copy(world)
    assert findings(UNSAFE, world) == []
