"""The registered manager's dashboard and the organisation overview: what each person sees, the
thresholds figures are judged by, the filters, and a query count that does not grow with the
services or months shown."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from assurance.forms import last_complete_month
from assurance.measures import MEASURES
from assurance.models import MeasureResult, ThresholdVersion
from assurance.selectors import months_back
from caregov.access import Role
from caregov.models import Action, Escalation, ReviewCycle
from reporting import dashboards
from tests.factories import ServiceFactory, person_with_role

DASHBOARD = reverse("reporting:dashboard")
OVERVIEW = reverse("reporting:overview")


def text(response) -> str:
    """The page as a reader hears it: tags removed, spaces collapsed."""
    page = re.sub(r"<script.*?</script>", "", response.content.decode(), flags=re.S)
    page = re.sub(r"</?(td|th|tr|li|p|div|h\d|br|caption|summary)\b[^>]*>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def result(service, month, measure, numerator, denominator=100, **fields):
    return MeasureResult.objects.create(
        organisation=service.organisation,
        service=service,
        period_start=month.start,
        measure=measure,
        source=fields.pop("source", MEASURES[measure].source),
        numerator=numerator,
        denominator=denominator,
        **fields,
    )


def escalation(service, *, days_ago: int, trigger="assurance.unreliable_reports", **fields):
    raised = timezone.now() - timedelta(days=days_ago)
    month = last_complete_month()
    return Escalation.objects.create(
        organisation=service.organisation,
        service=service,
        trigger=trigger,
        cadence="monthly",
        period_start=month.start,
        period_end=month.end,
        subject=fields.pop("subject", f"{days_ago}"),
        title=fields.pop("title", f"ECM and audits disagree at {service.name}"),
        escalated_to=fields.pop("escalated_to", "registered_manager"),
        raised_at=raised,
        **fields,
    )


def action(service, owner, title, *, due_in_days: int, **fields):
    return Action.objects.create(
        organisation=service.organisation,
        service=service,
        title=title,
        owner=owner,
        due_on=timezone.localdate() + timedelta(days=due_in_days),
        source="review",
        **fields,
    )


# Who sees what -----------------------------------------------------------------------------------


def test_a_registered_manager_sees_only_their_own_services_figures_and_escalations(client, world):
    month = last_complete_month()
    result(world.service_a, month, "timeliness", 81)
    result(world.service_b, month, "timeliness", 43)
    escalation(world.service_b, days_ago=3, title="Beech Court notes are late")
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    page = text(client.get(DASHBOARD))

    assert "Dashboard: Willow House" in page
    assert "{#" not in page and "{%" not in page  # no template source shows
    assert "81.0%" in page
    assert "Beech Court" not in page
    assert "43.0%" not in page
    assert "Review overdue at Willow House" in page


def test_asking_for_another_service_shows_a_filter_error_and_nothing_of_it(client, world):
    result(world.service_b, last_complete_month(), "timeliness", 43)
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    response = client.get(DASHBOARD, {"service": world.service_b.pk})

    assert response.status_code == 200
    page = text(response)
    assert "Some filters were not understood and were ignored: Service" in page
    assert "Beech Court" not in page
    assert "43.0%" not in page
    assert "Willow House" in page


def test_bad_filter_values_show_an_error_keep_the_rest_and_never_fail(client, world):
    client.force_login(world.user(Role.QUALITY_LEAD))

    for url in (DASHBOARD, OVERVIEW):
        response = client.get(
            url, {"period": "2026-13", "months": "lots", "measure": "timeliness", "service": "x"}
        )
        assert response.status_code == 200
        page = text(response)
        assert "Some filters were not understood and were ignored" in page
        # The valid measure is still applied; the month falls back to the last complete one.
        assert "Is timeliness on target" in page
        assert "Is record completeness on target" not in page
        assert f"Measures in {last_complete_month().label}" in page


def test_the_overview_link_is_offered_only_to_those_who_may_open_it(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    assert reverse("reporting:overview") not in client.get(DASHBOARD).content.decode()
    assert client.get(OVERVIEW).status_code == 403

    client.force_login(world.user(Role.QUALITY_LEAD))
    assert reverse("reporting:overview") in client.get(DASHBOARD).content.decode()
    assert client.get(OVERVIEW).status_code == 200


@pytest.mark.parametrize("role", [Role.CARE_STAFF, Role.DIGITAL_CHAMPION, Role.COMMISSIONER])
def test_roles_outside_governance_reviews_cannot_open_the_dashboard(client, world, role):
    client.force_login(world.user(role))
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(OVERVIEW).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    assert client.get(DASHBOARD)["Location"].startswith(reverse("login"))


def test_a_person_with_no_open_service_sees_what_the_dashboard_would_show(client, world):
    closed = ServiceFactory(organisation=world.org, name="Closed Lodge", is_active=False)
    manager = person_with_role(Role.REGISTERED_MANAGER, service=closed)
    client.force_login(manager)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    page = text(response)
    assert "You have no services to show" in page
    assert "ask your organisation admin" in page
    assert "Closed Lodge" not in page


# Figures -----------------------------------------------------------------------------------------


def test_the_overview_grid_gives_the_word_the_figure_and_the_target(client, world):
    month = last_complete_month()
    result(world.service_a, month, "timeliness", 71)
    result(world.service_a, month.previous(), "timeliness", 75)
    client.force_login(world.user(Role.QUALITY_LEAD))

    page = text(client.get(OVERVIEW))

    assert "Red: 71.0%, target 90%" in page
    assert f"the change in percentage points from {month.previous().label}" in page
    assert "Down 4.0 points" in page


def test_a_measure_filter_narrows_the_charts(client, world):
    result(world.service_a, last_complete_month(), "completeness", 97)
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    every = client.get(DASHBOARD).content.decode()
    one = client.get(DASHBOARD, {"measure": "completeness"}).content.decode()

    assert every.count("data-plotly=") > one.count("data-plotly=") >= 1
    assert "Is record completeness on target at Willow House?" in one
    assert "Is timeliness on target" not in one
    assert "Measure: Record completeness" in text(
        client.get(DASHBOARD, {"measure": "completeness"})
    )


def test_each_month_is_judged_by_the_thresholds_in_force_then(client, world):
    month = last_complete_month()
    before = month.previous()
    for m in (before, month):
        result(world.service_a, m, "completeness", 80)
    # The data quality lead lowers the bar from the last month on.
    ThresholdVersion.objects.create(
        organisation=world.org,
        measure="completeness",
        effective_from=month.start,
        target=Decimal(80),
        green_from=Decimal(78),
        amber_from=Decimal(70),
        reason="Agency staff during the refurbishment",
        created_by=world.user(Role.DATA_QUALITY_LEAD),
    )
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    page = text(client.get(DASHBOARD, {"measure": "completeness"}))

    assert f"{month.label} Green: 80.0%, target 80%" in page
    assert f"{before.label} Red: 80.0%, target 95%" in page
    assert "Green from 78%, amber from 70%" in page
    assert "Green from 95%, amber from 85%" in page


def test_many_services_are_drawn_combined_with_the_lowest_and_highest(client, world):
    month = last_complete_month()
    extra = [ServiceFactory(organisation=world.org, name=f"Home {n}") for n in range(6)]
    for n, service in enumerate([world.service_a, world.service_b, *extra]):
        result(service, month, "narrative_quality", 50 + n)
    client.force_login(world.user(Role.QUALITY_LEAD))

    page = text(client.get(OVERVIEW, {"measure": "narrative_quality"}))

    assert "All 8 services combined" in page
    assert "50.0% at Willow House" in page
    assert "57.0% at Home 5" in page


def test_the_ecm_is_compared_with_the_audits_service_by_service(client, world):
    month = last_complete_month()
    result(
        world.service_a,
        month,
        "dashboard_reliability",
        16,
        20,
        detail={"ecm_completion": "95.0", "audit_completion": "75.0", "divergence": "20.0"},
    )
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    page = text(client.get(DASHBOARD))

    assert "Amber: 80.0%, target 90%" in page
    assert "20.0 points Beyond tolerance" in page
    assert f"{month.label} 95.0% 75.0%" in page


def test_every_chart_on_both_dashboards_is_a_valid_plotly_figure(client, world):
    import plotly.graph_objects as go

    month = last_complete_month()
    services = [world.service_a, *(ServiceFactory(organisation=world.org) for _ in range(7))]
    for n, service in enumerate(services):
        for code in MEASURES:
            result(service, month, code, 60 + n, detail={"ecm_completion": "90.0"})
    escalation(world.service_a, days_ago=30)
    pages = []
    for role, url in ((Role.REGISTERED_MANAGER, DASHBOARD), (Role.QUALITY_LEAD, OVERVIEW)):
        client.force_login(world.user(role))
        pages.append(client.get(url).content.decode())
    client.force_login(world.user(Role.QUALITY_LEAD))
    pages.append(client.get(DASHBOARD).content.decode())  # eight services: drawn combined

    charts = [
        html.unescape(found)
        for page in pages
        for found in re.findall(r'data-plotly="([^"]*)"', page)
    ]
    assert len(charts) == 8 + 7 + 8
    for chart in charts:
        go.Figure(json.loads(chart))  # raises on any property Plotly does not know


# Escalations, actions, reviews and workflows -----------------------------------------------------


def test_open_escalations_are_counted_by_how_long_they_have_waited(world):
    for days in (2, 10, 30, 40):
        escalation(world.service_a, days_ago=days)
    resolved = escalation(world.service_a, days_ago=50)
    resolved.status = Escalation.Status.RESOLVED
    resolved.save()

    found = dashboards.open_escalations(
        user=world.user(Role.REGISTERED_MANAGER), services=[world.service_a]
    )

    rows = {row.code: row for row in found.by_trigger}
    assert rows["assurance.unreliable_reports"].name == "Unreliable reports"
    assert rows["assurance.unreliable_reports"].counts.by_age == [1, 1, 2]
    assert found.by_trigger[0].code == "assurance.unreliable_reports"  # waited longest first


def test_the_dashboard_puts_an_old_escalation_in_the_oldest_column(client, world):
    escalation(world.service_a, days_ago=30)
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    page = text(client.get(DASHBOARD))

    assert "1 waiting 28 days or more" in page
    assert "Unreliable reports 0 0 1 1" in page


def test_an_overdue_action_is_listed_and_a_done_one_is_not(client, world):
    owner = world.user(Role.REGISTERED_MANAGER)
    action(world.service_a, owner, "Coach night staff on handover notes", due_in_days=-5)
    action(
        world.service_a,
        owner,
        "Fix the handover template",
        due_in_days=-10,
        status=Action.Status.DONE,
        completed_at=timezone.now(),
    )
    client.force_login(owner)

    page = text(client.get(DASHBOARD))

    assert "1 overdue action" in page
    assert "Coach night staff on handover notes Action · Willow House" in page
    assert "Overdue by 5 days" in page
    assert "Fix the handover template" not in page


def test_reviews_due_this_week_are_listed_and_later_ones_wait(client, world):
    month = last_complete_month()
    ReviewCycle.objects.create(
        kind="assurance.trend_review",
        organisation=world.org,
        service=world.service_a,
        cadence="monthly",
        period_start=month.previous().previous().start,
        period_end=month.previous().previous().end,
        body="registered_manager",
        due_on=timezone.localdate() + timedelta(days=8),
    )
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    response = client.get(DASHBOARD)

    # The world's review of October 2026 was due on 10 Nov 2026; the one due in 8 days waits.
    reviews = [i.record for i in response.context["decisions"].items if i.kind == "review"]
    assert reviews == [world.record("review", world.service_a)]
    assert "1 review due 1 overdue" in text(response)


def test_what_needs_a_decision_comes_before_the_charts(client, world):
    month = last_complete_month()
    for code in MEASURES:
        result(world.service_a, month, code, 70)
    escalation(world.service_a, days_ago=3, severity="high", title="Notes missing at night")
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    page = client.get(DASHBOARD).content.decode()

    decisions = page.index("Needs your decision this week")
    assert decisions < page.index("Notes missing at night") < page.index("data-plotly")
    assert decisions < page.index("Measures in")
    assert decisions < page.index('class="filters"')


def test_my_work_and_the_dashboard_count_the_same_for_the_same_person_and_moment(client, world):
    import time_machine

    manager = world.user(Role.REGISTERED_MANAGER)
    team_leader = world.user(Role.TEAM_LEADER)
    month = last_complete_month()
    for days, severity in ((2, "high"), (400, "medium"), (30, "low")):
        escalation(world.service_a, days_ago=days, severity=severity)
    escalation(world.service_b, days_ago=4)  # not the manager's service
    action(world.service_a, manager, "Mine, late", due_in_days=-20)
    action(world.service_a, manager, "Mine, this week", due_in_days=3)
    action(world.service_a, team_leader, "Theirs, late", due_in_days=-1)
    action(world.service_a, team_leader, "Theirs, this week", due_in_days=2)
    # Reviews due in 5 days count; one due in 10 days (which the dashboard once counted, as
    # it looked 14 days ahead while My work looked at every review) does not.
    for back, due_in in ((2, 5), (3, 10)):
        period = month
        for _ in range(back):
            period = period.previous()
        ReviewCycle.objects.create(
            kind="assurance.trend_review",
            organisation=world.org,
            service=world.service_a,
            cadence="monthly",
            period_start=period.start,
            period_end=period.end,
            body="registered_manager",
            due_on=timezone.localdate() + timedelta(days=due_in),
        )
    client.force_login(manager)

    with time_machine.travel(timezone.now(), tick=False):
        home = client.get(reverse("home"))
        dashboard = client.get(DASHBOARD)

    counted = home.context["decisions"].counts
    assert counted == dashboard.context["decisions"].counts
    assert (counted.escalations, counted.actions, counted.overdue_actions, counted.reviews) == (
        4,  # three raised here and the world's review overdue escalation
        3,  # not the team leader's own action due this week
        2,
        2,
    )
    glance = re.compile(r"\d+ escalations? with you|\d+ overdue actions?|\d+ reviews? due")
    assert glance.findall(text(home)) == glance.findall(text(dashboard))
    assert glance.findall(text(home)) == [
        "4 escalations with you",
        "2 overdue actions",
        "2 reviews due",
    ]
    assert [i.record for i in home.context["decisions"].items] == [
        i.record for i in dashboard.context["decisions"].items
    ]


def test_workflow_status_shows_where_a_service_has_maps(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    response = client.get(DASHBOARD)

    [status] = response.context["workflows"]
    assert (status.service, status.approved, status.under_test, status.drafts) == (
        world.service_a,
        0,
        1,
        1,
    )
    assert status.open_gaps == 1


def test_the_overview_puts_services_needing_attention_first(client, world):
    month = last_complete_month()
    result(world.service_b, month, "completeness", 40)
    client.force_login(world.user(Role.SENIOR_LEADER))

    response = client.get(OVERVIEW)

    rows = response.context["attention"]
    assert [r.service for r in rows[:2]] == [world.service_b, world.service_a]
    assert rows[0].red == 1


# Queries -----------------------------------------------------------------------------------------


def _fill(services, months: int) -> None:
    """Every measure for each service over the last `months` months."""
    MeasureResult.objects.bulk_create(
        [
            MeasureResult(
                organisation=service.organisation,
                service=service,
                period_start=m.start,
                measure=code,
                source=measure.source,
                numerator=80,
                denominator=100,
                detail={"ecm_completion": "90.0", "audit_completion": "85.0", "divergence": "5.0"},
            )
            for service in services
            for m in months_back(last_complete_month(), months)
            for code, measure in MEASURES.items()
        ],
        ignore_conflicts=True,
    )


# The dashboard reads what needs the person's decision in three queries (escalations, actions,
# reviews), in place of the four it read for its waiting-longest, overdue-actions and reviews-due
# lists and the review counts; one more asks which of the figures shown are being updated after a
# submission: 18, however many items, services and months.
@pytest.mark.parametrize(
    ("url", "queries"), [(DASHBOARD, 18), (OVERVIEW, 17)], ids=["dashboard", "overview"]
)
def test_each_dashboard_reads_the_same_number_of_queries_for_more_services_and_months(
    client, world, django_assert_num_queries, url, queries
):
    owner = world.user(Role.REGISTERED_MANAGER)
    client.force_login(world.user(Role.QUALITY_LEAD))
    few = [world.service_a, world.service_b]
    _fill(few, months=3)
    for service in few:
        escalation(service, days_ago=30)
        action(service, owner, "Retrain on daily notes", due_in_days=-3)
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert (len(response.context["services"]), len(response.context["months"])) == (2, 6)

    more = [ServiceFactory(organisation=world.org, name=f"Extra {n}") for n in range(7)]
    _fill([*few, *more], months=24)
    for service in more:
        # With the quality lead: more for them to decide, read in the same queries.
        escalation(service, days_ago=3, escalated_to="quality_lead")
        action(service, owner, "Retrain on daily notes", due_in_days=-3)
    with django_assert_num_queries(queries):
        response = client.get(url, {"months": "24"})
    assert (len(response.context["services"]), len(response.context["months"])) == (9, 24)
    if url == DASHBOARD:
        assert response.context["decisions"].counts.escalations == 2 + 7
