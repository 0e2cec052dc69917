"""Under caregov's Content-Security-Policy the pages still work: charts draw, nothing is refused."""

from datetime import date

import pytest

from assurance.measures import MEASURES
from assurance.models import MeasureResult
from caregov.access import Role
from caregov.cadence import Cadence, period_containing
from tests.factories import ServiceFactory, person_with_role

pytestmark = pytest.mark.e2e


@pytest.fixture
def manager_with_figures(transactional_db):
    willow = ServiceFactory(name="Willow House", code="WILLOW")
    for day, value in [(date(2026, 8, 1), 77), (date(2026, 9, 1), 84), (date(2026, 10, 1), 91)]:
        month = period_containing(Cadence.MONTHLY, day)
        MeasureResult.objects.create(
            organisation=willow.organisation,
            service=willow,
            period_start=month.start,
            measure="completeness",
            source=MEASURES["completeness"].source,
            numerator=value,
            denominator=100,
        )
    return person_with_role(Role.REGISTERED_MANAGER, service=willow, email="rm@oakfield.example")


def test_the_dashboard_draws_its_charts_and_the_browser_refuses_nothing(
    live_server, page, manager_with_figures
):
    refused = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email address").fill("rm@oakfield.example")
    page.get_by_label("Password").fill("Caregov-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    response = page.goto(f"{live_server.url}/reporting/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("[data-plotly] svg.main-svg", timeout=15000)
    assert refused == []
