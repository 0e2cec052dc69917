"""The six data assurance triggers, each at its threshold, just short of it, and with no data.

The scheduler runs in November 2026, so each trigger reads October 2026, the last complete month
(and the months before it where the trigger looks further back).
"""

from datetime import date, datetime
from decimal import Decimal

import pytest

from assurance.triggers import (
    HighCompletionWeakNarrative,
    InconsistentAudits,
    LackOfImprovement,
    RepeatedDataGaps,
    UnreliableReports,
    WeakOutcomeEvidence,
)
from caregov.access import Role
from caregov.cadence import LONDON
from caregov.engine import evaluate_triggers
from caregov.models import Action, Body, Escalation
from caregov.registry import Scope
from caregov.registry import triggers as registry
from caregov.services.governance import action_check_effect, action_complete, action_raise
from tests.assurance.builders import import_rows, month, rows, submitted_audit

NOVEMBER = month(2026, 11)  # the month the scheduler runs in
OCTOBER = month(2026, 10)  # the month the triggers read
SEPTEMBER = month(2026, 9)
AT = datetime(2026, 11, 3, 9, 0, tzinfo=LONDON)


@pytest.fixture
def manager(world):
    return world.user(Role.REGISTERED_MANAGER)


@pytest.fixture
def leader(world):
    return world.user(Role.TEAM_LEADER)


def findings(trigger, world, **thresholds):
    return trigger.evaluate(
        Scope(world.org, world.service_a), NOVEMBER, trigger.defaults() | thresholds, AT
    )


def export(manager, service, period, count, **kwargs):
    record = import_rows(manager, service, rows(count, start=period.start, **kwargs))
    assert record.status == "imported", record.problems
    return record


def evidence_models(finding) -> list[tuple[str, int]]:
    return [(r.model, r.id) for r in finding.records]


def test_every_assurance_trigger_is_registered_with_the_kernel():
    codes = {t.code for t in registry.all() if t.code.startswith("assurance.")}
    assert codes == {
        "assurance.repeated_data_gaps",
        "assurance.unreliable_reports",
        "assurance.weak_outcome_evidence",
        "assurance.lack_of_improvement",
        "assurance.high_completion_weak_narrative",
        "assurance.inconsistent_audits",
    }


# Repeated data gaps: a measure red in 3 of the last 6 complete months --------------------------


def test_completeness_red_in_3_of_the_last_6_months_is_a_repeated_data_gap(world, manager):
    imports = [
        # 8 of 10 written: 80.0%, red (below 85)
        export(manager, world.service_a, month(2026, m), 10, recorded=8)
        for m in (8, 9, 10)
    ]
    [finding] = findings(RepeatedDataGaps(), world)
    assert finding.subject == "measure:completeness"
    assert finding.title == "Record completeness red in 3 of the last 6 months at Willow House"
    assert finding.severity == Escalation.Severity.MEDIUM
    assert finding.figures["red_months"] == (
        "August 2026 80.0%, September 2026 80.0%, October 2026 80.0%"
    )
    assert finding.figures["rule"] == "red in 3 of 6 months"
    assert evidence_models(finding) == [("assurance.EcmImport", i.pk) for i in imports]
    assert finding.period == OCTOBER


def test_completeness_red_in_2_of_the_last_6_months_is_not_yet_a_repeated_gap(world, manager):
    export(manager, world.service_a, month(2026, 8), 10, recorded=9)  # 90.0%: amber
    export(manager, world.service_a, month(2026, 9), 10, recorded=8)  # 80.0%: red
    export(manager, world.service_a, month(2026, 10), 10, recorded=8)  # 80.0%: red
    assert findings(RepeatedDataGaps(), world) == []


def test_red_months_before_the_six_month_window_do_not_count(world, manager):
    for m in (4, 9, 10):  # April is 7 months before November's last complete month
        export(manager, world.service_a, month(2026, m), 10, recorded=8)
    assert findings(RepeatedDataGaps(), world) == []


def test_a_measure_red_in_every_month_looked_at_is_high_severity(world, manager):
    for m in (9, 10):
        export(manager, world.service_a, month(2026, m), 10, recorded=8)
    # Looking at 2 months, red in both: 2 of 2
    [finding] = findings(RepeatedDataGaps(), world, red_months=2, window_months=2)
    assert finding.severity == Escalation.Severity.HIGH


def test_no_data_is_not_a_repeated_data_gap(world):
    assert findings(RepeatedDataGaps(), world) == []


# Unreliable reports: ECM and audit completion 10 points apart over at least 5 records -----------


@pytest.mark.parametrize(
    ("audited", "found_complete", "fires"),
    [
        (10, 9, True),  # ECM 10/10 = 100.0%, audit 9/10 = 90.0%: 10.0 points, at threshold
        (11, 10, False),  # ECM 100.0%, audit 10/11 = 90.9%: 9.1 points, just below
        (5, 4, True),  # ECM 100.0%, audit 4/5 = 80.0%: 20.0 points over 5 records, the fewest
        (4, 3, False),  # ECM 100.0%, audit 3/4 = 75.0%: 25.0 points but only 4 records
    ],
)
def test_ecm_and_audit_completion_10_points_apart_over_5_records_are_unreliable_reports(
    world, manager, leader, audited, found_complete, fires
):
    ecm = export(manager, world.service_a, OCTOBER, audited)
    answers = ["met"] * found_complete + ["not_met"] * (audited - found_complete)
    audit = submitted_audit(leader, world.service_a, OCTOBER, {"completeness": answers})
    result = findings(UnreliableReports(), world)
    if not fires:
        assert result == []
        return
    [finding] = result
    audit_rate = Decimal(100 * found_complete) / audited
    assert finding.figures == {
        "ecm_reported_completion": "100.0%",
        "audit_verified_completion": f"{audit_rate:.1f}%",
        "divergence": f"{100 - audit_rate:.1f} points",
        "records_compared": audited,
    }
    assert finding.severity == Escalation.Severity.HIGH
    assert evidence_models(finding) == [
        ("assurance.EcmImport", ecm.pk),
        ("assurance.Audit", audit.pk),
    ]


def test_no_audit_means_no_unreliable_report(world, manager):
    export(manager, world.service_a, OCTOBER, 10, recorded=5)
    assert findings(UnreliableReports(), world) == []


# Weak outcome evidence: outcomes recorded in under 80% of records -------------------------------


def test_outcomes_in_80_percent_of_records_are_not_weak(world, manager):
    export(manager, world.service_a, OCTOBER, 10, with_outcome=8)  # 8 / 10 = 80.0%
    assert findings(WeakOutcomeEvidence(), world) == []


def test_outcomes_in_just_under_80_percent_of_records_are_weak_outcome_evidence(world, manager):
    ecm = export(manager, world.service_a, OCTOBER, 24, with_outcome=19)  # 19 / 24 = 79.2%
    [finding] = findings(WeakOutcomeEvidence(), world)
    assert finding.title == "Outcomes recorded in 79.2% of records at Willow House, October 2026"
    assert finding.figures == {
        "outcome_evidence_rate": "79.2%",
        "records_with_outcome": "19 of 24",
        "lowest_acceptable": "80%",
    }
    assert evidence_models(finding) == [("assurance.EcmImport", ecm.pk)]


def test_no_export_is_not_weak_outcome_evidence(world):
    assert findings(WeakOutcomeEvidence(), world) == []


# Lack of improvement after manager intervention -------------------------------------------------


def completed_action(world, manager, *, measure="completeness", completed=None):
    """An action on a measure raised at Willow House on 1 Sep 2026, done on `completed`."""
    action = action_raise(
        actor=manager,
        title="Daily notes huddle at each handover",
        owner=manager,
        due_on=date(2026, 9, 30),
        finding_ref="assurance.audit:test",
        organisation=world.org,
        service=world.service_a,
        measure=measure,
        created_at=datetime(2026, 9, 1, 9, 0, tzinfo=LONDON),
    )
    return action_complete(
        actor=manager,
        action=action,
        evidence="Huddles held every shift",
        at=completed or datetime(2026, 9, 20, 17, 0, tzinfo=LONDON),
    )


def test_a_measure_one_point_better_after_an_action_is_an_improvement(world, manager):
    export(manager, world.service_a, SEPTEMBER, 10, recorded=8)  # 8 / 10 = 80.0%
    export(manager, world.service_a, OCTOBER, 100, recorded=81)  # 81 / 100 = 81.0%: +1.0
    completed_action(world, manager)
    assert findings(LackOfImprovement(), world) == []


def test_a_measure_under_one_point_better_after_an_action_is_a_lack_of_improvement(world, manager):
    export(manager, world.service_a, SEPTEMBER, 10, recorded=8)  # 8 / 10 = 80.0%
    october = export(manager, world.service_a, OCTOBER, 110, recorded=89)  # 89/110 = 80.9%: +0.9
    action = completed_action(world, manager)
    [finding] = findings(LackOfImprovement(), world)
    assert finding.subject == f"action:{action.pk}"
    assert finding.escalate_to == Body.QUALITY_LEAD
    assert finding.figures == {
        "measure": "Record completeness",
        "before (September 2026)": "80.0%",
        "after (October 2026)": "80.9%",
        "change": "+0.9 points",
    }
    assert evidence_models(finding) == [
        ("caregov.Action", action.pk),
        ("assurance.EcmImport", october.pk),
    ]


def test_an_effectiveness_check_saying_not_improved_is_a_lack_of_improvement(world, manager):
    # Done in August, so not judged on September to October figures, of which there are none.
    action = completed_action(world, manager, completed=datetime(2026, 8, 20, tzinfo=LONDON))
    action_check_effect(
        actor=manager,
        action=action,
        result=Action.Effect.NOT_IMPROVED,
        note="Notes still thin in the October audit",
        at=datetime(2026, 10, 15, 12, 0, tzinfo=LONDON),
    )
    [finding] = findings(LackOfImprovement(), world)
    assert finding.figures == {
        "effectiveness_check": "Not improved",
        "note": "Notes still thin in the October audit",
    }
    assert finding.escalate_to == Body.QUALITY_LEAD


def test_an_effectiveness_check_saying_improved_is_not_a_lack_of_improvement(world, manager):
    action = completed_action(world, manager, completed=datetime(2026, 8, 20, tzinfo=LONDON))
    action_check_effect(
        actor=manager,
        action=action,
        result=Action.Effect.IMPROVED,
        note="Better",
        at=datetime(2026, 10, 15, 12, 0, tzinfo=LONDON),
    )
    assert findings(LackOfImprovement(), world) == []


def test_an_action_without_figures_either_side_is_not_judged(world, manager):
    completed_action(world, manager)
    assert findings(LackOfImprovement(), world) == []


def test_no_actions_is_not_a_lack_of_improvement(world, manager):
    export(manager, world.service_a, SEPTEMBER, 10, recorded=8)
    export(manager, world.service_a, OCTOBER, 10, recorded=8)
    assert findings(LackOfImprovement(), world) == []


# High completion but weak narrative: complete >= 95% while narrative <= 60% ---------------------


def test_95_percent_complete_with_60_percent_good_narrative_is_an_early_warning(
    world, manager, leader
):
    ecm = export(manager, world.service_a, OCTOBER, 20, recorded=19)  # 19 / 20 = 95.0%
    audit = submitted_audit(
        leader,
        world.service_a,
        OCTOBER,
        {"narrative_quality": ["met", "met", "met", "not_met", "not_met"]},  # 3 / 5 = 60.0%
    )
    [finding] = findings(HighCompletionWeakNarrative(), world)
    assert finding.figures == {"ecm_completeness": "95.0%", "audited_narrative_quality": "60.0%"}
    assert finding.title == (
        "95.0% complete but narrative good in only 60.0% of audited records at Willow House, "
        "October 2026"
    )
    assert ("assurance.EcmImport", ecm.pk) in evidence_models(finding)
    assert ("assurance.Audit", audit.pk) in evidence_models(finding)


def test_just_under_95_percent_complete_is_not_high_completion(world, manager, leader):
    export(manager, world.service_a, OCTOBER, 19, recorded=18)  # 18 / 19 = 94.7%
    submitted_audit(
        leader, world.service_a, OCTOBER, {"narrative_quality": ["met", "not_met", "not_met"]}
    )
    assert findings(HighCompletionWeakNarrative(), world) == []


def test_narrative_just_over_60_percent_is_not_weak(world, manager, leader):
    export(manager, world.service_a, OCTOBER, 20)  # 100.0%
    submitted_audit(
        leader,
        world.service_a,
        OCTOBER,
        {"narrative_quality": ["met"] * 5 + ["not_met"] * 3},  # 5 / 8 = 62.5%
    )
    assert findings(HighCompletionWeakNarrative(), world) == []


def test_high_completion_without_an_audit_is_not_judged(world, manager):
    export(manager, world.service_a, OCTOBER, 20)
    assert findings(HighCompletionWeakNarrative(), world) == []


# Inconsistent audit results: two audits of the same records disagree on >= 20% -----------------


def two_audits(leader, world, second: dict[str, list[str]]):
    """A first audit of R00001..R00005 with every check met, and a second one as given."""
    first = submitted_audit(leader, world.service_a, OCTOBER, {"completeness": ["met"] * 5})
    return first, submitted_audit(leader, world.service_a, OCTOBER, second)


def test_two_audits_disagreeing_on_20_percent_of_shared_checks_are_inconsistent(world, leader):
    # Second audit: R00001..R00004, narrative not met on all four. Shared: 4 records x 5 checks
    # = 20; answered differently: 4. 4 / 20 = 20.0%
    first, second = two_audits(leader, world, {"narrative_quality": ["not_met"] * 4})
    [finding] = findings(InconsistentAudits(), world)
    assert finding.subject == f"audits:{first.pk}:{second.pk}"
    assert finding.figures == {
        "records_in_both": 4,
        "checks_in_both": 20,
        "answered_differently": "4 (20.0%)",
    }
    assert evidence_models(finding) == [
        ("assurance.Audit", first.pk),
        ("assurance.Audit", second.pk),
    ]


def test_two_audits_disagreeing_on_just_under_20_percent_are_not_inconsistent(world, leader):
    # Second audit: R00001..R00005; R00005 only has completeness answered (the rest not
    # applicable). Shared: 4 x 5 + 1 = 21; answered differently: 4. 4 / 21 = 19.0%
    na_on_5 = ["met"] * 4 + ["na"]
    two_audits(
        leader,
        world,
        {
            "completeness": ["met"] * 5,
            "timeliness": na_on_5,
            "outcome_evidence": na_on_5,
            "review_compliance": na_on_5,
            "narrative_quality": ["not_met"] * 4 + ["na"],
        },
    )
    assert findings(InconsistentAudits(), world) == []


def test_a_single_audit_cannot_be_inconsistent(world, leader):
    submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["not_met"] * 5})
    assert findings(InconsistentAudits(), world) == []


def test_no_audits_are_not_inconsistent(world):
    assert findings(InconsistentAudits(), world) == []


# Through the scheduler -------------------------------------------------------------------------


def test_the_scheduler_raises_one_escalation_with_its_evidence_and_no_duplicate_on_rerun(
    world, manager
):
    ecm = export(manager, world.service_a, OCTOBER, 24, with_outcome=19)  # 79.2%
    code = "assurance.weak_outcome_evidence"

    summary = evaluate_triggers(at=AT)

    escalation = Escalation.objects.get(trigger=code)
    assert escalation.pk in summary.escalations_raised
    assert escalation.service == world.service_a
    assert (escalation.period_start, escalation.period_end) == (OCTOBER.start, OCTOBER.end)
    assert escalation.escalated_to == Body.REGISTERED_MANAGER
    assert escalation.evidence["figures"]["outcome_evidence_rate"] == "79.2%"
    assert escalation.evidence["records"] == [
        {
            "model": "assurance.EcmImport",
            "id": ecm.pk,
            "label": "ECM export for Willow House, October 2026",
        }
    ]
    assert escalation.history.get().history_change_reason == f"{code}.raised"

    again = evaluate_triggers(at=AT.replace(hour=9, minute=15))

    assert Escalation.objects.filter(trigger=code).count() == 1
    assert escalation.pk not in again.escalations_raised
    assert (
        not Escalation.objects.filter(trigger__startswith="assurance.")
        .exclude(trigger=code)
        .exists()
    )
