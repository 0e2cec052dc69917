"""The main path through data assurance: import an export, audit records, read the figures."""

from decimal import Decimal

from assurance.models import EcmImport, MeasureResult
from caregov.access import Role
from tests.assurance.builders import import_rows, month, rows, submitted_audit


def test_an_export_and_an_audit_give_the_months_figures(world):
    manager = world.user(Role.REGISTERED_MANAGER)
    leader = world.user(Role.TEAM_LEADER)
    october = month(2026, 10)
    record = import_rows(
        manager,
        world.service_a,
        rows(10, recorded=8, late=2, with_outcome=6, reviews_due=4, reviews_on_time=3),
    )
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert record.period_start == october.start
    figures = {
        (r.measure, r.source): r.value
        for r in MeasureResult.objects.filter(service=world.service_a)
    }
    assert figures[("completeness", "ecm")] == Decimal("80.0")
    assert figures[("timeliness", "ecm")] == Decimal("75.0")
    assert figures[("outcome_evidence", "ecm")] == Decimal("75.0")
    assert figures[("review_compliance", "ecm")] == Decimal("75.0")

    submitted_audit(
        leader,
        world.service_a,
        october,
        {
            "completeness": ["met", "met", "met", "met", "not_met"],
            "narrative_quality": ["met", "not_met", "not_met", "met", "na"],
        },
    )
    figures = {
        (r.measure, r.source): r for r in MeasureResult.objects.filter(service=world.service_a)
    }
    assert figures[("narrative_quality", "audit")].value == Decimal("50.0")
    reliability = figures[("dashboard_reliability", "comparison")]
    # R00001..R00005 are all recorded in the export; the audit found one incomplete.
    assert (reliability.numerator, reliability.denominator) == (4, 5)
    assert reliability.detail["divergence"] == "20.0"
