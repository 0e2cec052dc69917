"""The quarterly board assurance pack (reporting/board.py and templates/reporting/board_pack.html):
what the board reads in the PDF, and a snapshot that stands as things were at the quarter's end,
whenever it is built."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from assurance.measures import MEASURES
from assurance.models import MeasureResult
from assurance.selectors import reliance_snapshot
from assurance.services import reliance_record
from caregov.access import Role
from caregov.cadence import Cadence, period_containing
from caregov.models import Action, Escalation, ReviewCycle
from caregov.services.governance import action_complete, escalation_resolve, review_sign_off
from reporting import board
from reporting.models import Pack
from reporting.packs import freeze
from tests.reporting.builders import pdf_pages
from workflows.models import WorkflowMap


def words(text: str) -> str:
    """Text with its line breaks and runs of spaces as single spaces."""
    return " ".join(text.split())


def between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def escalation(world, quarter, title, *, raised, service=None, severity="high"):
    return Escalation.objects.create(
        trigger="caregov.review_overdue",
        organisation=world.org,
        service=service or world.service_a,
        cadence="quarterly",
        period_start=quarter.start,
        period_end=quarter.end,
        subject=title,
        title=title,
        severity=severity,
        escalated_to="quality_lead",
        raised_at=raised,
    )


def action(world, title, *, created, due_on, service=None):
    return Action.objects.create(
        organisation=world.org,
        service=service or world.service_a,
        title=title,
        owner=world.user(Role.REGISTERED_MANAGER),
        due_on=due_on,
        source="escalation",
        created_at=created,
    )


def snapshot_now(world, quarter) -> tuple[dict, str]:
    return freeze(board.assemble(world.org, quarter, timezone.now()))


# The PDF ---------------------------------------------------------------------------------------


def test_the_pdf_leads_with_the_summary_and_shows_the_quarters_figures(
    world, quarter, quarter_figures, build_board_pack, pack_media
):
    escalation(world, quarter, "Medication audit missed", raised=quarter.starts_at + timedelta(3))

    pack = build_board_pack()

    assert pack.status == Pack.Status.BUILT, pack.error
    pages = pdf_pages((pack_media / pack.file_path).read_bytes())
    assert pack.pages == len(pages)
    cover = words(pages[0])
    assert "Oakfield Care Group Board assurance pack" in cover
    assert f"{quarter.label} Prepared for The board" in cover
    assert f"Covers {quarter.start:%-d %b %Y} to {quarter.end:%-d %b %Y}" in cover
    assert (
        f"Escalations, actions and reviews As they stood at the end of {quarter.end:%-d %b %Y}"
        in (cover)
    )
    assert "Snapshot taken" in cover
    assert f"Page 1 of {len(pages)}" in cover

    (summary,) = [words(p) for p in pages if "What leaders can rely on" in p]
    assert summary.index("Executive summary") < summary.index("What leaders can rely on")
    assert "Record completeness across the services: Green: 96.5%, target 95%." in between(
        summary, "What leaders can rely on", "What is at risk"
    )
    at_risk = between(summary, "What is at risk", "What the board is asked to decide")
    assert (
        "Timeliness across the services: Amber: 75.0%, target 90%; red at Beech Court (Jul, Aug, Sep)."
        in (at_risk)
    )
    assert "high-severity escalation" in at_risk
    assert (
        f"What the board is asked to decide 1. Decide whether leaders can rely on ECM "
        f"information for {quarter.label}." in summary
    )
    assert "Record completeness Green: 96.5%, target 95% 579 of 600" in summary

    text = words(" ".join(pages))
    assert "Is record completeness on target across the services?" in text  # the chart, as text
    assert "Willow House 97.0% Green 97.0% Green 97.0% Green Green 97.0%" in text
    assert "Beech Court 60.0% Red 60.0% Red 60.0% Red Red 60.0%" in text
    assert "Medication audit missed High" in text
    assert "Far Away" not in text  # the other organisation's service
    for number, page in enumerate(pages[2:], start=3):
        assert "Oakfield Care Group" in page
        assert f"Board assurance pack • {quarter.label}" in page
        assert f"Page {number} of {len(pages)}" in page


def test_every_column_of_the_workflow_table_is_printed_on_the_page(
    world, build_board_pack, pack_media
):
    pack = build_board_pack()

    (page,) = [
        words(p)
        for p in pdf_pages((pack_media / pack.file_path).read_bytes())
        if "Workflow governance by service" in p
    ]
    assert "High-risk open" in page  # the last column's heading, whole
    for service in ("Beech Court", "Willow House"):  # and its figure on every row
        assert re.search(rf"{service} .*? 0 0 0 0 \(0\) 0 0\b", page), service


# The snapshot as at the quarter's end -----------------------------------------------------------


def test_what_happens_after_the_quarters_end_leaves_its_snapshot_as_it_was(
    world, quarter, quarter_figures
):
    manager = world.user(Role.REGISTERED_MANAGER)
    in_quarter = quarter.starts_at + timedelta(days=10)
    missed = escalation(world, quarter, "Medication audit missed", raised=in_quarter)
    late = action(
        world, "Re-audit medication", created=in_quarter, due_on=quarter.start + timedelta(30)
    )
    month = period_containing(Cadence.MONTHLY, quarter.start + timedelta(days=35))
    review = ReviewCycle.objects.create(
        kind="assurance.trend_review",
        organisation=world.org,
        service=world.service_a,
        cadence="monthly",
        period_start=month.start,
        period_end=month.end,
        body="registered_manager",
        due_on=month.end + timedelta(days=10),
    )
    before = snapshot_now(world, quarter)

    # The next quarter: the escalation is resolved, the action done, the review signed off, and
    # new things are raised and measured.
    escalation_resolve(actor=None, escalation=missed, note="Medication audit done.")
    action_complete(actor=manager, action=late, evidence="Twenty records re-audited.")
    review_sign_off(actor=manager, cycle=review, decision="Carry on.", minutes="Trend read.")
    escalation(world, quarter, "Night notes late", raised=timezone.now(), service=world.service_b)
    action(world, "Coach the night team", created=timezone.now(), due_on=quarter.end)
    MeasureResult.objects.create(
        organisation=world.org,
        service=world.service_a,
        period_start=period_containing(Cadence.MONTHLY, timezone.localdate()).start,
        measure="completeness",
        source=MEASURES["completeness"].source,
        numerator=10,
        denominator=100,
    )
    after = snapshot_now(world, quarter)

    assert after[1] == before[1]
    snapshot = after[0]
    assert [e["title"] for e in snapshot["escalations"]["list"]] == ["Medication audit missed"]
    assert (snapshot["escalations"]["open_at_end"], snapshot["escalations"]["resolved"]) == (1, 0)
    assert [a["title"] for a in snapshot["actions"]["overdue_list"]] == ["Re-audit medication"]
    assert (snapshot["reviews"]["due"], snapshot["reviews"]["overdue"]) == (1, 1)
    assert snapshot["as_at"] == quarter.end.isoformat()


def test_a_workflow_map_begun_after_the_quarters_end_leaves_its_snapshot_as_it_was(world, quarter):
    before = snapshot_now(world, quarter)

    WorkflowMap.objects.create(
        organisation=world.org, service=world.service_a, workflow="incidents", title="Incidents"
    )
    after = snapshot_now(world, quarter)

    def maps(snapshot):
        return [(r["service"], r["mapped"], r["maps"]) for r in snapshot["workflows"]["services"]]

    assert maps(after[0]) == maps(before[0])
    assert after[1] == before[1]


# The summary -----------------------------------------------------------------------------------


def test_the_summary_counts_one_of_a_thing_in_the_singular(world, quarter):
    in_quarter = quarter.starts_at + timedelta(days=10)
    escalation(world, quarter, "Medication audit missed", raised=in_quarter)
    action(world, "Re-audit medication", created=in_quarter, due_on=quarter.start + timedelta(30))

    risk = board.assemble(world.org, quarter, timezone.now())["summary"]["risk"]

    assert "1 high-severity escalation was open at the quarter's end." in risk
    assert "1 action was overdue at the quarter's end." in risk


def test_the_boards_reliance_decision_is_relied_on_and_a_service_it_refused_is_put_to_it(
    world, quarter, quarter_figures
):
    reliance_record(
        actor=world.user(Role.BOARD_MEMBER),
        organisation=world.org,
        quarter=quarter,
        verdict="caveats",
        reasons="Timeliness at Beech Court is red.",
        services={
            world.service_a.pk: ("yes", ""),
            world.service_b.pk: ("no", "Notes are written hours after the care."),
        },
        snapshot=reliance_snapshot(organisation=world.org, quarter=quarter),
    )

    summary = board.assemble(world.org, quarter, timezone.now())["summary"]

    assert (
        f"The board's decision on relying on ECM information for {quarter.label}: "
        f"Yes, with caveats ({timezone.localdate():%-d %b %Y})." in summary["rely"]
    )
    assert summary["decide"] == [
        "Agree what must improve before leaders rely on Beech Court's ECM information."
    ]


def test_sections_where_nothing_happened_share_a_page_and_one_with_tables_starts_its_own(
    world, quarter, quarter_figures, build_board_pack, pack_media
):
    """A quarter without escalations, actions or reviews: each says so in a sentence, and the
    three follow on rather than each leaving a page nearly blank."""
    pack = build_board_pack()

    assert pack.status == Pack.Status.BUILT, pack.error
    pages = pdf_pages((pack_media / pack.file_path).read_bytes())
    (quiet,) = [p for p in pages if "No escalations were raised or open in the quarter." in p]
    assert "Actions and whether they worked" in quiet
    assert "Review cycles" in quiet

    escalation(world, quarter, "Medication audit missed", raised=quarter.starts_at + timedelta(3))
    pages = pdf_pages((pack_media / build_board_pack().file_path).read_bytes())
    (escalations,) = [p for p in pages if "By what triggered them" in p]
    assert words(escalations).startswith(
        f"Oakfield Care Group Board assurance pack • {quarter.label} Escalations"
    )
