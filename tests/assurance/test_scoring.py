"""How each measure is scored, checked against examples worked by hand.

Every figure is a share of records as a percentage to one decimal place, rounded half up. The
arithmetic for each example is written beside it.
"""

from decimal import Decimal

import pytest

from assurance import services
from assurance.ecm import export_rows
from assurance.measures import Rating, Thresholds, percentage, rating_words
from assurance.models import EcmImport, MeasureResult
from caregov.access import Role
from tests.assurance.builders import (
    all_met,
    import_bytes,
    import_rows,
    month,
    row,
    rows,
    started_audit,
    submitted_audit,
)

OCTOBER = month(2026, 10)


def result(service, measure, source, period=OCTOBER) -> MeasureResult:
    return MeasureResult.objects.get(
        service=service, period_start=period.start, measure=measure, source=source
    )


def share(service, measure, source, period=OCTOBER) -> tuple[int, int, Decimal | None]:
    r = result(service, measure, source, period)
    return r.numerator, r.denominator, r.value


@pytest.fixture
def manager(world):
    return world.user(Role.REGISTERED_MANAGER)


@pytest.fixture
def leader(world):
    return world.user(Role.TEAM_LEADER)


# Record completeness ---------------------------------------------------------------------------


def test_completeness_is_records_written_out_of_records_due(world, manager):
    # 8 records due, the first 6 written: 6 / 8 = 75.0%
    record = import_rows(manager, world.service_a, rows(8, recorded=6))
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert share(world.service_a, "completeness", "ecm") == (6, 8, Decimal("75.0"))
    assert record.figures["completeness"] == {"numerator": 6, "denominator": 8, "value": "75.0"}


def test_completeness_of_an_export_with_every_record_written_is_100(world, manager):
    # 3 due, 3 written: 3 / 3 = 100.0%
    import_rows(manager, world.service_a, rows(3))
    assert share(world.service_a, "completeness", "ecm") == (3, 3, Decimal("100.0"))


# Timeliness ------------------------------------------------------------------------------------


def test_a_record_written_exactly_two_hours_late_is_on_time_and_one_minute_more_is_late(
    world, manager
):
    data = [
        row("T1", "2026-10-05 08:00", "2026-10-05 10:00"),  # exactly 2 h: on time
        row("T2", "2026-10-05 08:00", "2026-10-05 10:01"),  # 2 h 1 min: late
        row("T3", "2026-10-05 08:00", "2026-10-05 07:45"),  # written early: on time
        row("T4", "2026-10-05 08:00", ""),  # not written: not counted either way
    ]
    import_rows(manager, world.service_a, data)
    # on time T1, T3 = 2; written T1, T2, T3 = 3: 2 / 3 = 66.666..% -> 66.7%
    assert share(world.service_a, "timeliness", "ecm") == (2, 3, Decimal("66.7"))


def test_two_hours_late_counts_as_on_time_in_the_small_hours_and_across_midnight(world, manager):
    data = [
        row("M1", "2026-10-05 23:30", "2026-10-06 01:30"),  # 2 h, over midnight: on time
        row("M2", "2026-10-05 23:30", "2026-10-06 01:31"),  # 2 h 1 min: late
    ]
    import_rows(manager, world.service_a, data)
    # 1 on time of 2 written: 1 / 2 = 50.0%
    assert share(world.service_a, "timeliness", "ecm") == (1, 2, Decimal("50.0"))


def test_an_import_with_a_30_minute_tolerance_judges_timeliness_by_30_minutes(world, manager):
    data = [
        row("T1", "2026-10-05 08:00", "2026-10-05 08:30"),  # exactly 30 min: on time
        row("T2", "2026-10-05 08:00", "2026-10-05 08:31"),  # 31 min: late
        row("T3", "2026-10-05 08:00", "2026-10-05 10:00"),  # 2 h: late under this import
    ]
    record, queued = import_bytes(
        manager, world.service_a, export_rows(data).encode(), tolerance_minutes=30
    )
    assert queued and record.status == EcmImport.Status.IMPORTED, record.problems
    assert record.tolerance_minutes == 30
    # 1 on time of 3 written: 1 / 3 = 33.333..% -> 33.3%
    assert share(world.service_a, "timeliness", "ecm") == (1, 3, Decimal("33.3"))


# Outcome evidence ------------------------------------------------------------------------------


def test_outcome_evidence_counts_written_records_with_an_outcome_and_ignores_unwritten_ones(
    world, manager
):
    data = [
        row("O1", "2026-10-05 08:00", "2026-10-05 08:10", outcome="yes"),
        row("O2", "2026-10-05 09:00", "2026-10-05 09:10", outcome="no"),
        row("O3", "2026-10-05 10:00", "2026-10-05 10:10", outcome="Y"),
        # Not written, so not in the share even though the export says "yes".
        row("O4", "2026-10-05 11:00", "", outcome="yes"),
    ]
    import_rows(manager, world.service_a, data)
    # with an outcome O1, O3 = 2; written O1, O2, O3 = 3: 2 / 3 = 66.7%
    assert share(world.service_a, "outcome_evidence", "ecm") == (2, 3, Decimal("66.7"))


# Review compliance -----------------------------------------------------------------------------


def test_review_compliance_counts_reviews_done_on_or_before_their_due_date(world, manager):
    due, written = "2026-10-05 08:00", "2026-10-05 08:10"
    data = [
        row("V1", due, written, review_due="2026-10-20", last_review="2026-10-20"),  # on the day
        row("V2", due, written, review_due="2026-10-20", last_review="2026-10-21"),  # a day late
        row("V3", due, written, review_due="2026-10-20", last_review=""),  # never reviewed
        row("V4", due, written, review_due="2026-10-20", last_review="2026-09-30"),  # early
        row("V5", due, written, review_due="", last_review="2026-10-01"),  # no review due
    ]
    import_rows(manager, world.service_a, data)
    # on time V1, V4 = 2; with a review due V1..V4 = 4 (V5 left out): 2 / 4 = 50.0%
    assert share(world.service_a, "review_compliance", "ecm") == (2, 4, Decimal("50.0"))


def test_a_month_with_no_reviews_due_has_no_review_compliance_figure(world, manager):
    import_rows(manager, world.service_a, rows(4))
    # 0 / 0: nothing to count, so no figure rather than 0% or 100%
    assert share(world.service_a, "review_compliance", "ecm") == (0, 0, None)


# Narrative quality -----------------------------------------------------------------------------


def test_narrative_quality_leaves_out_records_where_the_question_did_not_apply(world, leader):
    submitted_audit(
        leader,
        world.service_a,
        OCTOBER,
        {"narrative_quality": ["met", "met", "not_met", "na", "na", "met"]},
    )
    # met 3; met or not met 4 (the 2 not applicable left out): 3 / 4 = 75.0%
    assert share(world.service_a, "narrative_quality", "audit") == (3, 4, Decimal("75.0"))


def test_narrative_quality_adds_up_every_submitted_audit_of_the_month(world, leader):
    submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["met", "not_met"]})
    submitted_audit(
        leader, world.service_a, OCTOBER, {"narrative_quality": ["met", "met", "not_met"]}
    )
    # (1 + 2) met of (2 + 3) answered: 3 / 5 = 60.0%
    assert share(world.service_a, "narrative_quality", "audit") == (3, 5, Decimal("60.0"))


def test_a_draft_audit_does_not_count_towards_narrative_quality(world, leader):
    submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["not_met"]})
    draft = started_audit(leader, world.service_a, OCTOBER, ["R00001", "R00002"])
    for record in draft.records.all():
        services.audit_record_save(actor=leader, record=record, answers=all_met())
    # only the submitted audit: 0 met of 1 answered = 0.0%
    assert share(world.service_a, "narrative_quality", "audit") == (0, 1, Decimal("0.0"))


# Dashboard reliability -------------------------------------------------------------------------


def test_dashboard_reliability_is_the_share_of_audited_records_where_ecm_and_audit_agree(
    world, manager, leader
):
    # Export: R00001..R00004 written, R00005 not.
    import_rows(manager, world.service_a, rows(5, recorded=4))
    # Audit of R00001..R00006: R00006 is not in the export.
    submitted_audit(
        leader,
        world.service_a,
        OCTOBER,
        {"completeness": ["met", "not_met", "met", "met", "not_met", "met"]},
    )
    reliability = result(world.service_a, "dashboard_reliability", "comparison")
    # In both: R00001..R00005 = 5. Agree: R00001, R00003, R00004 (complete in both) and
    # R00005 (incomplete in both) = 4; R00002 disagrees. 4 / 5 = 80.0%
    assert (reliability.numerator, reliability.denominator) == (4, 5)
    assert reliability.value == Decimal("80.0")
    # ECM says 4 of 5 complete = 80.0%; the audit found 3 of 5 = 60.0%; |80.0 - 60.0| = 20.0
    assert reliability.detail["ecm_completion"] == "80.0"
    assert reliability.detail["audit_completion"] == "60.0"
    assert reliability.detail["divergence"] == "20.0"
    assert reliability.detail["not_in_export"] == 1


def test_matching_headline_completion_can_hide_records_that_all_disagree(world, manager, leader):
    # Export: R00001, R00002 written; R00003, R00004 not.
    import_rows(manager, world.service_a, rows(4, recorded=2))
    # The auditor finds the opposite on every record.
    submitted_audit(
        leader,
        world.service_a,
        OCTOBER,
        {"completeness": ["not_met", "not_met", "met", "met"]},
    )
    reliability = result(world.service_a, "dashboard_reliability", "comparison")
    # Agree on 0 of 4 records: 0 / 4 = 0.0%
    assert reliability.value == Decimal("0.0")
    # ECM 2 / 4 = 50.0%, audit 2 / 4 = 50.0%: divergence |50.0 - 50.0| = 0.0 points
    assert reliability.detail["ecm_completion"] == "50.0"
    assert reliability.detail["audit_completion"] == "50.0"
    assert reliability.detail["divergence"] == "0.0"


def test_records_whose_completeness_did_not_apply_are_left_out_of_reliability(
    world, manager, leader
):
    import_rows(manager, world.service_a, rows(3))
    submitted_audit(leader, world.service_a, OCTOBER, {"completeness": ["met", "na", "not_met"]})
    reliability = result(world.service_a, "dashboard_reliability", "comparison")
    # R00002 left out; agree R00001 (both complete), disagree R00003: 1 / 2 = 50.0%
    assert (reliability.numerator, reliability.denominator) == (1, 2)
    assert reliability.value == Decimal("50.0")


def test_there_is_no_reliability_figure_without_an_export_to_compare_with(world, leader):
    september = month(2026, 9)  # the test world has an (empty) October export already
    submitted_audit(leader, world.service_a, september, {"completeness": ["met", "met"]})
    assert not MeasureResult.objects.filter(
        service=world.service_a, period_start=september.start, measure="dashboard_reliability"
    ).exists()
    assert share(world.service_a, "completeness", "audit", september) == (2, 2, Decimal("100.0"))


# Percentages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (1, 16, "6.3"),  # 6.25 -> 6.3 (half up; half-even would give 6.2)
        (5, 16, "31.3"),  # 31.25 -> 31.3 (half-even would give 31.2)
        (3, 16, "18.8"),  # 18.75 -> 18.8
        (1, 3, "33.3"),  # 33.333.. -> 33.3
        (2, 3, "66.7"),  # 66.666.. -> 66.7
        (1, 8, "12.5"),  # exactly 12.5
        (199, 200, "99.5"),  # exactly 99.5
        (1999, 2000, "100.0"),  # 99.95 -> 100.0
        (0, 7, "0.0"),  # nothing met is 0.0, not "no data"
        (7, 7, "100.0"),
    ],
)
def test_percentages_are_rounded_half_up_to_one_decimal_place(numerator, denominator, expected):
    assert percentage(numerator, denominator) == Decimal(expected)
    assert str(percentage(numerator, denominator)) == expected


def test_a_share_of_nothing_is_no_data_not_zero():
    # 0 / 0 has no value: None, which pages show as "No data"
    assert percentage(0, 0) is None


# Ratings ---------------------------------------------------------------------------------------

COMPLETENESS = Thresholds(Decimal(98), Decimal(95), Decimal(85))


@pytest.mark.parametrize(
    ("value", "rating"),
    [
        ("100.0", Rating.GREEN),
        ("95.0", Rating.GREEN),  # at green_from: green
        ("94.9", Rating.AMBER),  # just below green_from: amber
        ("85.0", Rating.AMBER),  # at amber_from: amber
        ("84.9", Rating.RED),  # just below amber_from: red
        ("0.0", Rating.RED),
    ],
)
def test_a_figure_is_green_from_green_from_amber_from_amber_from_and_red_below(value, rating):
    assert COMPLETENESS.rate(Decimal(value)) == rating


def test_no_figure_has_no_rating():
    assert COMPLETENESS.rate(None) is None


def test_when_amber_and_green_start_at_the_same_figure_there_is_no_amber():
    thresholds = Thresholds(Decimal(90), Decimal(90), Decimal(90))
    assert thresholds.rate(Decimal("90.0")) == Rating.GREEN
    assert thresholds.rate(Decimal("89.9")) == Rating.RED


def test_rating_words_give_the_rating_the_figure_and_the_target_together():
    outcome = Thresholds(Decimal(90), Decimal(85), Decimal(70))
    assert rating_words(Rating.RED, Decimal("71.0"), outcome) == "Red: 71.0%, target 90%"
    assert rating_words(Rating.GREEN, Decimal("100.0"), COMPLETENESS) == (
        "Green: 100.0%, target 98%"
    )


def test_rating_words_show_a_target_with_a_fraction_and_drop_a_trailing_zero():
    # Stored thresholds come back from the database as 97.5 and 90.0.
    assert rating_words(
        Rating.AMBER, Decimal("96.0"), Thresholds(Decimal("97.5"), Decimal(97), Decimal(90))
    ) == ("Amber: 96.0%, target 97.5%")
    assert rating_words(
        Rating.AMBER, Decimal("88.0"), Thresholds(Decimal("90.0"), Decimal(95), Decimal(85))
    ) == ("Amber: 88.0%, target 90%")


def test_rating_words_say_no_data_when_there_is_no_figure():
    assert rating_words(None, None, COMPLETENESS) == "No data"
