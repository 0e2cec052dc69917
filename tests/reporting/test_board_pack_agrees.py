"""The board pack says what the data says: its summary counts what its detail sections show,
every total is the sum of its parts, a measure red anywhere is a risk, and what is stated as at
the quarter's end is read as things stood then (issue 13, section 3)."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from assurance.measures import MEASURES
from assurance.models import MeasureResult
from assurance.selectors import months_back
from caregov.access import Role
from caregov.cadence import Cadence, period_containing, quarter_key
from caregov.models import Action, Escalation, Organisation, ReviewCycle
from reporting import board
from reporting.models import Pack
from tests.reporting.builders import pdf_pages

pytestmark = pytest.mark.usefixtures("pack_media")


def assemble(world, quarter) -> dict:
    return board.assemble(world.org, quarter, timezone.now())


def cycle(world, quarter, *, due_on, signed_off_at=None, service=None, kind=None):
    month = period_containing(Cadence.MONTHLY, due_on - timedelta(days=10))
    return ReviewCycle.objects.create(
        kind=kind or "assurance.trend_review",
        organisation=world.org,
        service=service or world.service_a,
        cadence="monthly",
        period_start=month.start,
        period_end=month.end,
        body="registered_manager",
        due_on=due_on,
        signed_off_at=signed_off_at,
        status="signed_off" if signed_off_at else "open",
    )


def escalation(world, quarter, subject, *, raised, trigger="caregov.review_overdue", **fields):
    return Escalation.objects.create(
        trigger=trigger,
        organisation=world.org,
        service=fields.pop("service", world.service_a),
        cadence="quarterly",
        period_start=quarter.start,
        period_end=quarter.end,
        subject=subject,
        title=subject,
        severity=fields.pop("severity", "high"),
        escalated_to=fields.pop("escalated_to", "quality_lead"),
        raised_at=raised,
        **fields,
    )


def figures(world, quarter, measure, by_service):
    """Each month of the quarter: `by_service` maps a service to (numerator, denominator)."""
    for month in months_back(period_containing(Cadence.MONTHLY, quarter.end), 3):
        for service, (numerator, denominator) in by_service.items():
            MeasureResult.objects.create(
                organisation=world.org,
                service=service,
                period_start=month.start,
                measure=measure,
                source=MEASURES[measure].source,
                numerator=numerator,
                denominator=denominator,
            )


def assert_summary_agrees_with_detail(snapshot: dict) -> None:
    """Every count in the summary is the one its detail section shows, and every total in the
    pack is the sum of its parts."""
    assert board.disagreements(snapshot) == []
    for m in snapshot["measures"]:
        assert {r["service"] for r in m["red_at"]} == {
            row["service"] for row in m["services"] if row["red"]
        }


def test_a_summary_that_differs_from_its_detail_is_caught(world, quarter):
    snapshot = assemble(world, quarter)
    snapshot["summary"]["risk"].append("3 review cycles were overdue for sign-off.")
    snapshot["reviews"]["by_kind"].append(
        {
            "kind": "Made up",
            "due": 2,
            "on_time": 1,
            "late": 0,
            "not_signed_off": 0,
            "earlier_overdue": 0,
        }
    )

    found = board.disagreements(snapshot)

    assert "overdue reviews: summary and detail differ" in found
    assert "reviews Made up: on time + late + not signed off != due" in found


# A measure red anywhere ----------------------------------------------------------------------


def test_a_measure_red_at_one_service_is_at_risk_though_the_organisation_is_green(world, quarter):
    # 98% at Willow House's 1,000 records, 60% at Beech Court's 100: 94.5% together, green.
    figures(
        world, quarter, "timeliness", {world.service_a: (980, 1000), world.service_b: (60, 100)}
    )

    snapshot = assemble(world, quarter)

    (timeliness,) = [m for m in snapshot["measures"] if m["code"] == "timeliness"]
    assert timeliness["quarter"]["rating"] == "green"
    assert not [line for line in snapshot["summary"]["rely"] if line.startswith("Timeliness")]
    assert (
        "Timeliness across the services: Green: 94.5%, target 90%; red at Beech Court "
        "(Jul, Aug, Sep)." in snapshot["summary"]["risk"]
    )
    assert_summary_agrees_with_detail(snapshot)


def test_a_measure_green_everywhere_is_relied_on(world, quarter):
    figures(world, quarter, "timeliness", {world.service_a: (95, 100), world.service_b: (93, 100)})

    summary = assemble(world, quarter)["summary"]

    assert "Timeliness across the services: Green: 94.0%, target 90%." in summary["rely"]
    assert not [line for line in summary["risk"] if line.startswith("Timeliness")]


# Reviews -------------------------------------------------------------------------------------


def test_a_review_due_on_the_quarters_last_day_and_not_signed_off_is_overdue_at_its_end(
    world, quarter
):
    cycle(world, quarter, due_on=quarter.end)
    cycle(world, quarter, due_on=quarter.end - timedelta(days=20), service=world.service_b)

    reviews = assemble(world, quarter)["reviews"]

    assert (reviews["due"], reviews["not_signed_off"], reviews["overdue"]) == (2, 2, 2)
    assert [r["due"] for r in reviews["overdue_list"]] == [
        (quarter.end - timedelta(days=20)).isoformat(),
        quarter.end.isoformat(),
    ]


def test_a_review_overdue_since_an_earlier_quarter_is_counted_and_listed(world, quarter):
    old = quarter.start - timedelta(days=300)
    cycle(world, quarter, due_on=old)
    # Signed off before the quarter began: nothing for this quarter's board.
    cycle(
        world,
        quarter,
        due_on=old - timedelta(days=31),
        signed_off_at=quarter.starts_at - timedelta(days=100),
    )

    snapshot = assemble(world, quarter)

    reviews = snapshot["reviews"]
    assert (reviews["due"], reviews["earlier_overdue"], reviews["overdue"]) == (0, 1, 1)
    assert reviews["overdue_list"][0]["days_overdue"] == (quarter.end - old).days
    assert (
        "1 review cycle was overdue for sign-off at the quarter's end, 1 of them due before the "
        "quarter began." in snapshot["summary"]["risk"]
    )
    assert not [line for line in snapshot["summary"]["rely"] if "review cycle" in line]
    assert_summary_agrees_with_detail(snapshot)


def test_every_row_of_every_table_adds_up(world, quarter, quarter_figures):
    start, end = quarter.starts_at, quarter.ends_at
    cycle(world, quarter, due_on=quarter.start + timedelta(days=9), signed_off_at=start)
    cycle(
        world,
        quarter,
        due_on=quarter.start + timedelta(days=40),
        signed_off_at=start + timedelta(days=45),
    )
    cycle(world, quarter, due_on=quarter.end)
    cycle(world, quarter, due_on=quarter.start + timedelta(days=70), service=world.service_b)
    cycle(world, quarter, due_on=quarter.start - timedelta(days=50), service=world.service_b)
    cycle(
        world,
        quarter,
        due_on=quarter.end - timedelta(days=3),
        signed_off_at=end + timedelta(days=2),  # signed off after the quarter: not by its end
        kind="assurance.reliance_review",
    )
    escalation(world, quarter, "raised earlier, open", raised=start - timedelta(days=200))
    escalation(
        world,
        quarter,
        "raised earlier, resolved in the quarter",
        raised=start - timedelta(days=20),
        resolved_at=start + timedelta(days=5),
        status="resolved",
    )
    escalation(
        world,
        quarter,
        "raised and resolved in the quarter",
        raised=start + timedelta(days=3),
        resolved_at=start + timedelta(days=9),
        status="resolved",
        severity="medium",
    )
    escalation(
        world,
        quarter,
        "raised in the quarter, resolved after it",
        raised=end - timedelta(days=3),
        resolved_at=end + timedelta(days=3),
        status="resolved",
        trigger="workflows.unsafe_digital_process",
    )
    escalation(
        world,
        quarter,
        "safe care, from last year",
        raised=start - timedelta(days=300),
        trigger="workflows.unsafe_digital_process",
        service=world.service_b,
    )

    snapshot = assemble(world, quarter)

    e, r = snapshot["escalations"], snapshot["reviews"]
    assert (e["open_at_start"], e["opened"], e["resolved"], e["open_at_end"]) == (3, 2, 2, 3)
    assert (r["due"], r["on_time"], r["late"], r["not_signed_off"]) == (5, 1, 1, 3)
    assert (r["earlier_overdue"], r["overdue"]) == (1, 4)
    assert (
        "At the quarter's end, 2 escalations that a digital process was not supporting safe care "
        "were open." in snapshot["summary"]["risk"]
    )
    assert_summary_agrees_with_detail(snapshot)


# As things stood at the quarter's end ----------------------------------------------------------


def test_escalations_are_shown_with_the_severity_and_holder_they_had_at_the_quarters_end(
    world, quarter
):
    raised = quarter.starts_at + timedelta(days=20)
    found = Escalation(
        trigger="caregov.review_overdue",
        organisation=world.org,
        service=world.service_a,
        cadence="quarterly",
        period_start=quarter.start,
        period_end=quarter.end,
        subject="notes",
        title="Night notes not reviewed",
        severity="medium",
        escalated_to="registered_manager",
        raised_at=raised,
    )
    found._history_date = raised
    found.save()
    # After the quarter: it rises to high and moves to the quality lead.
    found.severity, found.escalated_to = "high", "quality_lead"
    found._history_date = quarter.ends_at + timedelta(days=10)
    found.save()

    e = assemble(world, quarter)["escalations"]

    assert [(row["severity"], row["escalated_to"]) for row in e["list"]] == [
        ("Medium", "Registered manager")
    ]
    assert e["high_open_at_end"] == 0
    assert e["list"][0]["days_open"] == (quarter.end - raised.date()).days


# What "Did it work?" rests on -------------------------------------------------------------------


def test_did_it_work_shows_the_measure_before_and_after_the_action(world, quarter, quarter_figures):
    aug = quarter.start.replace(month=quarter.start.month + 1)
    Action.objects.create(
        organisation=world.org,
        service=world.service_a,
        title="Coach the day team on timely notes",
        owner=world.user(Role.REGISTERED_MANAGER),
        due_on=aug,
        source="escalation",
        measure="timeliness",
        created_at=quarter.starts_at,
        completed_at=quarter.starts_at + timedelta(days=40),  # in August
        status="done",
        effectiveness="improved",
        effectiveness_note="Checked against the audits.",
        effectiveness_checked_at=quarter.starts_at + timedelta(days=80),  # in September
    )

    (checked,) = assemble(world, quarter)["actions"]["checked"]

    months = months_back(period_containing(Cadence.MONTHLY, quarter.end), 3)
    assert checked["measured"] == (
        f"Timeliness: 90.0% in {months[0].start:%b %Y}, 90.0% in {months[1].start:%b %Y}"
    )


# The PDF reads as English ----------------------------------------------------------------------


def test_the_pack_counts_one_of_each_thing_in_the_singular(
    world, quarter, build_board_pack, pack_media
):
    start = quarter.starts_at
    escalation(world, quarter, "One escalation", raised=start + timedelta(days=3))
    cycle(world, quarter, due_on=quarter.start + timedelta(days=20))
    Action.objects.create(
        organisation=world.org,
        service=world.service_a,
        title="One overdue action",
        owner=world.user(Role.REGISTERED_MANAGER),
        due_on=quarter.start + timedelta(days=30),
        source="escalation",
        created_at=start + timedelta(days=1),
    )

    pack = build_board_pack()

    assert pack.status == Pack.Status.BUILT, pack.error
    text = " ".join(" ".join(pdf_pages((pack_media / pack.file_path).read_bytes())).split())
    assert "1 review cycle was due for sign-off" in text
    assert "1 action was raised" in text
    assert not re.findall(r"\b1 (?:[\w-]+ )*[\w-]+s (?:were|are)\b", text)
    assert not re.findall(r"\b1 (?:were|are)\b", text)
    assert not re.findall(r"\b1 (?:escalations|actions|reviews|gaps)\b", text)


# A board member asks for a past quarter ---------------------------------------------------------


def test_a_board_member_asks_for_a_past_quarters_pack_and_it_is_built_as_at_its_end(
    world, quarter, login, django_capture_on_commit_callbacks
):
    past = quarter.previous().previous()
    client = login(world.user(Role.BOARD_MEMBER))

    listing = client.get(reverse("reporting:pack_list"))
    assert f"?quarter={quarter_key(past)}" in listing.content.decode()
    assert "Ask for this pack" in listing.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(reverse("reporting:pack_build"), {"quarter": quarter_key(past)})

    pack = Pack.objects.get(period_start=past.start)
    assert asked.status_code == 302
    assert pack.requested_by == world.user(Role.BOARD_MEMBER)
    assert pack.status == Pack.Status.BUILT, pack.error
    assert pack.snapshot["as_at"] == past.end.isoformat()

    again = client.post(reverse("reporting:pack_build"), {"quarter": quarter_key(past)})
    assert "is already built: download it from Board packs" in again.content.decode()
    assert Pack.objects.filter(period_start=past.start).count() == 1
    assert client.post(reverse("reporting:pack_retry", args=[pack.pk])).status_code == 403


# The demo provider ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_the_demo_providers_pack_summary_agrees_with_its_detail(quarter):
    call_command("seed_demo", services=3, months=6, seed=3, stdout=StringIO())
    organisation = Organisation.objects.get(name="Oakfield Care Group")

    snapshot = board.assemble(organisation, quarter, timezone.now())

    assert_summary_agrees_with_detail(snapshot)
    assert snapshot["escalations"]["open_at_end"] > 0
    assert snapshot["reviews"]["due"] > 0


def test_a_provider_new_to_caregov_sees_its_trend_from_its_first_figures(world, quarter):
    """A provider whose first figures are from the quarter's middle month: the trend starts at
    the quarter's first month, not with nine months of "No data" before it."""
    middle = months_back(period_containing(Cadence.MONTHLY, quarter.end), 2)[0]
    MeasureResult.objects.create(
        organisation=world.org,
        service=world.service_a,
        period_start=middle.start,
        measure="timeliness",
        source=MEASURES["timeliness"].source,
        numerator=9,
        denominator=10,
    )
    snapshot = assemble(world, quarter)
    quarter_months = months_back(period_containing(Cadence.MONTHLY, quarter.end), 3)
    assert snapshot["months"] == [m.start.strftime("%b %Y") for m in quarter_months]
    assert all(len(m["trend"]) == 3 for m in snapshot["measures"])
    assert_summary_agrees_with_detail(snapshot)


def test_a_provider_with_a_years_figures_sees_twelve_months(world, quarter):
    first = months_back(period_containing(Cadence.MONTHLY, quarter.end), board.TREND_MONTHS)[0]
    MeasureResult.objects.create(
        organisation=world.org,
        service=world.service_a,
        period_start=first.start,
        measure="timeliness",
        source=MEASURES["timeliness"].source,
        numerator=9,
        denominator=10,
    )
    snapshot = assemble(world, quarter)
    assert len(snapshot["months"]) == board.TREND_MONTHS
    assert snapshot["months"][0] == first.start.strftime("%b %Y")
