"""A team leader on a tablet signs in, sees their service and nothing else, and signs out."""

import pytest

from caregov.access import Role
from tests.factories import ServiceFactory, person_with_role

pytestmark = pytest.mark.e2e


@pytest.fixture
def team_leader(transactional_db):
    willow = ServiceFactory(name="Willow House", code="WILLOW")
    ServiceFactory(organisation=willow.organisation, name="Beech Court", code="BEECH")
    return person_with_role(
        Role.TEAM_LEADER, service=willow, email="tl@oakfield.example", full_name="Tia Lane"
    )


def test_a_team_leader_signs_in_on_a_tablet_and_sees_only_their_service(
    live_server, page, team_leader
):
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url

    page.get_by_label("Email address").fill("tl@oakfield.example")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator("[data-error-summary]")
    assert "The email address or password is not right" in summary.inner_text()
    assert page.get_by_label("Email address").input_value() == "tl@oakfield.example"

    page.get_by_label("Password").fill("Caregov-demo-2026")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="My work").is_visible()
    assert page.get_by_role("link", name="Willow House").first.is_visible()
    assert "Beech Court" not in page.content()

    # Nothing on the page is wider than the tablet's screen.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    # The sign-in button and the navigation meet the 44 px touch target.
    heights = page.eval_on_selector_all(
        ".site-nav__link, .link-button", "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 44

    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", name="You have signed out").is_visible()


def test_the_skip_link_is_the_first_thing_the_keyboard_reaches(live_server, page, db):
    page.goto(f"{live_server.url}/login/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
