"""The workflow screens at tablet width (768 x 1024), as their users meet them on shift.

A team leader records staff tests between two calls; a registered manager logs what differs from
the map; anyone reads a map without scrolling sideways. The world (tests/conftest.py) gives
Willow House a medication version under test with one step and an open gap, and a draft daily
notes version."""

import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from caregov.access import Role
from caregov.models import Escalation
from workflows.models import CareRole, Practical, PracticeGap, StaffTest, WorkflowStep

pytestmark = pytest.mark.e2e

SIDEWAYS_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
HEIGHTS = "els => els.map(e => [e.textContent.trim(), e.getBoundingClientRect().height])"
#: What a person taps on a form: each tile, each radio or checkbox row, and the primary button.
TAP_TARGETS = (
    "main form .radio-tile, main form label:has(input[type=radio]), "
    "main form label:has(input[type=checkbox]), main form button[type=submit]"
)


def sign_in(page, live_server, user) -> None:
    """Start the browser signed in (the sign-in form itself is covered in test_sign_in.py)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def assert_fits_the_tablet(page) -> None:
    """Nothing on the page is wider than the screen: no sideways scrolling."""
    assert page.evaluate(SIDEWAYS_OVERFLOW) <= 0, f"sideways scroll on {page.url}"


def assert_targets_are_large(page, selector: str = TAP_TARGETS) -> None:
    heights = page.eval_on_selector_all(selector, HEIGHTS)
    assert heights, f"no tap targets matched {selector!r}"
    small = [(text, round(h)) for text, h in heights if h < 44]
    assert not small, f"tap targets under 44 px on {page.url}: {small}"


def group(page, legend: str):
    return page.get_by_role("group", name=legend, exact=True)


@pytest.fixture
def under_test(world):
    return world.record("wf_under_test", world.service_a)


def fill_staff_test(page, *, role="Care worker", shift="Night", minutes="6", comments=""):
    page.locator("label", has_text="1. Give the medicines").click()
    group(page, "Staff role").get_by_text(role, exact=True).click()
    group(page, "Shift").get_by_text(shift, exact=True).click()
    group(page, "Was the task practical during care?").get_by_text("Yes", exact=True).click()
    group(page, "Was the ECM prompt practical?").get_by_text("Partly", exact=True).click()
    group(page, "Was the recording expectation practical?").get_by_text("Yes", exact=True).click()
    page.get_by_label("Time taken (minutes)").fill(minutes)
    if comments:
        page.get_by_label("Comments").fill(comments)


# 1. A staff test in under a minute -------------------------------------------------------------


def test_a_team_leader_records_a_staff_test_on_a_tablet_in_nine_taps(
    live_server, page, world, under_test
):
    sign_in(page, live_server, world.user(Role.TEAM_LEADER))
    page.goto(live_server.url + under_test.get_absolute_url())
    interactions = []

    def tap(locator):
        locator.click()
        interactions.append(locator)

    def type_into(locator, text):
        locator.fill(text)
        interactions.append(locator)

    tap(page.get_by_role("link", name="Record a staff test"))
    expect(page.get_by_role("heading", name="Record a staff test")).to_be_visible()
    # Every tile, radio row and the save button is a 44 px target, and nothing scrolls sideways.
    tiles = len(CareRole.choices) + len(StaffTest.Shift.choices) + 3 * len(Practical.choices)
    assert page.locator("main form .radio-tile").count() == tiles
    assert_targets_are_large(page)
    assert_fits_the_tablet(page)

    tap(page.locator("label", has_text="1. Give the medicines"))
    tap(group(page, "Staff role").get_by_text("Care worker", exact=True))
    tap(group(page, "Shift").get_by_text("Night", exact=True))
    tap(group(page, "Was the task practical during care?").get_by_text("Yes", exact=True))
    tap(group(page, "Was the ECM prompt practical?").get_by_text("Partly", exact=True))
    tap(group(page, "Was the recording expectation practical?").get_by_text("Yes", exact=True))
    type_into(page.get_by_label("Time taken (minutes)"), "6")
    # The date is today's already: nothing to type.
    tap(page.get_by_role("button", name="Save the test"))

    expect(page.get_by_role("status")).to_contain_text(
        "Test of step 1 recorded: partly practical. Record the next one below."
    )
    assert len(interactions) <= 9, f"{len(interactions)} taps and fields for one test"
    # The next test is usually the same step and shift: the server sends those already chosen
    # (the checked attribute, not whatever the device restores from its draft).
    for chosen in (
        page.locator("label", has_text="1. Give the medicines").locator("input"),
        group(page, "Staff role").get_by_label("Care worker", exact=True),
        group(page, "Shift").get_by_label("Night", exact=True),
    ):
        expect(chosen).to_be_checked()
        expect(chosen).to_have_attribute("checked", "")
    expect(page.locator("main .lead")).to_contain_text("1 recorded today.")
    assert_fits_the_tablet(page)

    test = StaffTest.objects.get(version=under_test)
    assert (test.staff_role, test.shift, test.minutes_taken) == ("care_worker", "night", 6)
    assert (test.task_practical, test.prompt_practical, test.recording_practical) == (
        "yes",
        "partly",
        "yes",
    )
    assert test.tested_by == world.user(Role.TEAM_LEADER)


# 2. A double tap makes one test ----------------------------------------------------------------


def test_a_double_tap_on_save_the_test_makes_one_test(live_server, page, world, under_test):
    sign_in(page, live_server, world.user(Role.TEAM_LEADER))
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{live_server.url}/workflows/versions/{under_test.pk}/tests/new/")

    fill_staff_test(page)
    page.get_by_role("button", name="Save the test").dblclick()
    expect(page.get_by_role("status")).to_contain_text("Test of step 1 recorded")
    assert len(posts) == 1
    assert StaffTest.objects.filter(version=under_test).count() == 1

    # Two submits fired at once (a bouncing finger, an impatient tap): still one more test.
    fill_staff_test(page, shift="Early", minutes="4")
    with page.expect_navigation():
        page.locator("form[data-draft]").evaluate("f => { f.requestSubmit(); f.requestSubmit(); }")
    expect(page.get_by_role("status")).to_contain_text("Test of step 1 recorded")
    assert len(posts) == 2
    assert StaffTest.objects.filter(version=under_test).count() == 2


# 3. What was typed survives a reload -----------------------------------------------------------


@pytest.mark.parametrize("form", ["staff test", "gap"])
def test_what_was_typed_survives_a_reload(live_server, page, world, under_test, form):
    if form == "staff test":
        sign_in(page, live_server, world.user(Role.TEAM_LEADER))
        page.goto(f"{live_server.url}/workflows/versions/{under_test.pk}/tests/new/")
        typed = "Prompt hidden behind a second screen"
        fill_staff_test(page, minutes="7", comments=typed)
        text_field = page.get_by_label("Comments")
        chosen = group(page, "Shift").get_by_label("Night", exact=True)
    else:
        sign_in(page, live_server, world.user(Role.REGISTERED_MANAGER))
        page.goto(f"{live_server.url}/workflows/versions/{under_test.pk}/gaps/new/")
        typed = "Fluids recorded on the chart and again in the daily note"
        page.locator("label", has_text="1. Give the medicines").click()
        group(page, "What did you find?").get_by_text("Duplication", exact=True).click()
        page.get_by_label("What staff actually do").fill(typed)
        text_field = page.get_by_label("What staff actually do")
        chosen = group(page, "What did you find?").get_by_label("Duplication", exact=True)
    expect(page.locator("[data-draft-status]")).to_have_text("Saved on this device.")

    # Called away for a moment; the page is reloaded when they come back.
    page.wait_for_timeout(1200)
    page.reload()

    # The restore runs as the page loads: no need to wait long for it.
    expect(page.locator("[data-draft-status]")).to_contain_text(
        "Restored what you entered", timeout=1000
    )
    expect(text_field).to_have_value(typed, timeout=1000)
    expect(chosen).to_be_checked(timeout=1000)


def test_the_next_test_starts_without_the_last_tests_answers(live_server, page, world, under_test):
    # The tablet's clock runs half a minute fast, as device clocks do.
    page.clock.set_fixed_time(datetime.now() + timedelta(seconds=30))
    sign_in(page, live_server, world.user(Role.TEAM_LEADER))
    page.goto(f"{live_server.url}/workflows/versions/{under_test.pk}/tests/new/")
    fill_staff_test(page, comments="Prompt hidden behind a second screen")
    page.get_by_role("button", name="Save the test").click()
    expect(page.get_by_role("status")).to_contain_text("Test of step 1 recorded")

    # Step, role and shift stay chosen; the answers about the last test do not.
    expect(group(page, "Shift").get_by_label("Night", exact=True)).to_be_checked()
    expect(page.get_by_label("Comments")).to_have_value("", timeout=1000)
    expect(page.get_by_label("Time taken (minutes)")).to_have_value("", timeout=1000)
    expect(
        group(page, "Was the ECM prompt practical?").get_by_label("Partly", exact=True)
    ).not_to_be_checked(timeout=1000)


# 4. A map reads at tablet width ----------------------------------------------------------------


def test_a_map_reads_as_numbered_steps_by_role_without_sideways_scrolling(
    live_server, page, world, under_test
):
    draft = world.record("wf_draft", world.service_a)
    for position, role, action in [
        (2, "care_worker", "Write the daily note before leaving the room"),
        (3, "senior_care_worker", "Check every note written on the shift"),
        (4, "team_leader", "Follow up missing or late notes at handover"),
    ]:
        WorkflowStep.objects.create(
            version=draft,
            position=position,
            role=role,
            action=action,
            ecm_location="Daily note, care plan review and the handover summary screen",
            prompt="Record what was done, how the person was, and anything that needs follow-up.",
            minutes_expected=4,
        )
    sign_in(page, live_server, world.user(Role.REGISTERED_MANAGER))

    page.goto(live_server.url + draft.get_absolute_url())
    expect(page.get_by_role("heading", name="The workflow, step by step")).to_be_visible()
    runs = page.locator(".flow__run")
    expect(runs.locator(".flow__role")).to_have_text(
        ["Care worker", "Senior care worker", "Team leader"]
    )
    expect(runs.nth(0).locator(".flow-step__number")).to_have_text(["1", "2"])
    expect(page.locator(".flow-step__number")).to_have_text(["1", "2", "3", "4"])
    for number in (1, 2, 3, 4):
        expect(page.locator(f"#step-{number} .flow-step__number")).to_be_visible()
    expect(page.locator("#step-3")).to_contain_text("Step 3: Check every note written on the shift")
    expect(page.get_by_role("row", name=re.compile(r"Care worker\s+1, 2\s+9 min"))).to_be_visible()
    assert_fits_the_tablet(page)
    # Changing a draft on a tablet: Change, Move up, Move down, Remove are 44 px targets.
    assert_targets_are_large(page, "main .button")

    # The version under test, with its evidence tables, fits too.
    page.goto(live_server.url + under_test.get_absolute_url())
    expect(page.get_by_role("heading", name="Evidence on this version")).to_be_visible()
    expect(page.locator("#step-1")).to_contain_text("Step 1: Give the medicines")
    assert_fits_the_tablet(page)
    assert_targets_are_large(page, "main .button")

    page.goto(f"{live_server.url}/workflows/")
    expect(page.get_by_role("heading", name="Workflow maps")).to_be_visible()
    expect(page.get_by_role("heading", name="Willow House")).to_be_visible()
    assert_fits_the_tablet(page)

    # The senior leadership team sees every service and the quarterly reviews: it still fits.
    page.context.clear_cookies()
    sign_in(page, live_server, world.user(Role.SENIOR_LEADER))
    page.goto(f"{live_server.url}/workflows/")
    expect(page.get_by_role("heading", name="Beech Court")).to_be_visible()
    assert_fits_the_tablet(page)


# 5. A gap that affects safe care ---------------------------------------------------------------


def test_a_registered_manager_logs_a_safe_care_gap_and_it_is_escalated(
    live_server, page, world, under_test
):
    sign_in(page, live_server, world.user(Role.REGISTERED_MANAGER))
    page.goto(live_server.url + under_test.get_absolute_url())
    page.get_by_role("link", name="Log a gap, duplication or workaround").click()
    expect(page.get_by_role("heading", name="Log a gap, duplication or workaround")).to_be_visible()
    assert_targets_are_large(page)
    assert_fits_the_tablet(page)

    page.locator("label", has_text="1. Give the medicines").click()
    group(page, "What did you find?").get_by_text("Workaround", exact=True).click()
    page.get_by_label("What staff actually do").fill(
        "Night staff note doses on a handover sheet, typed in the next day"
    )
    page.get_by_label("On every shift").check()
    group(page, "Risk to care").get_by_text("High", exact=True).click()
    page.get_by_label("This affects safe care").check()
    page.get_by_label("Observation").check()
    page.get_by_role("button", name="Add to the service review log").click()

    expect(page.get_by_role("status")).to_have_text(
        "Workaround logged at step 1. It affects safe care, so it has been escalated to the "
        "senior leadership team."
    )
    assert_fits_the_tablet(page)
    gap = PracticeGap.objects.get(description__startswith="Night staff note doses")
    assert gap.affects_safe_care and gap.risk == "high"
    # The escalation exists as soon as the page says so (Celery is eager in tests).
    escalation = Escalation.objects.get(subject=f"gap:{gap.pk}")
    assert escalation.escalated_to == "senior_leadership_team"
    assert escalation.severity == "high" and escalation.service == world.service_a

    # The gap's own page links to the escalation.
    page.get_by_role("link", name="Night staff note doses").click()
    expect(page.get_by_role("link", name=escalation.title)).to_be_visible()
    assert_fits_the_tablet(page)
