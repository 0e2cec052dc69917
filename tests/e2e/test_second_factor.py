"""A board member must set up a second factor before anything else: with an authenticator app
(the code computed from the key the page shows, as a phone would), or with a passkey (Chromium's
virtual authenticator stands for the phone's fingerprint reader)."""

import re
import time

import pyotp
import pytest

from caregov.access import Role
from tests.factories import OrganisationFactory, person_with_role

pytestmark = pytest.mark.e2e

PASSWORD = "Caregov-demo-2026"


@pytest.fixture
def board_member(transactional_db):
    org = OrganisationFactory(name="Oakfield Care Group")
    return person_with_role(
        Role.BOARD_MEMBER, organisation=org, email="board@oakfield.example", full_name="Bea Lowe"
    )


def sign_in_with_password(page, live_server):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Email address").fill("board@oakfield.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_board_member_is_made_to_set_up_an_app_and_then_reaches_home(
    live_server, page, board_member
):
    sign_in_with_password(page, live_server)
    page.wait_for_url(re.compile(r"/account/second-factor/set-up/"))
    assert page.get_by_role("heading", name="Set up a second factor").is_visible()
    assert "As board member, you sign in with your password and a second factor" in page.content()
    assert page.locator("img.qr-code").is_visible()

    # Nothing else opens meanwhile.
    page.goto(f"{live_server.url}/services/")
    page.wait_for_url(re.compile(r"/account/second-factor/set-up/\?next=%2Fservices%2F$"))
    page.goto(f"{live_server.url}/")
    page.wait_for_url(re.compile(r"/account/second-factor/set-up/\?next=%2F$"))

    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    page.get_by_label("Code").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="Set up authenticator app").click()
    assert "That code is not right" in page.locator("[data-error-summary]").inner_text()

    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Set up authenticator app").click()
    page.wait_for_url(re.compile(r"/account/second-factor/recovery-codes/"))
    assert page.locator("[data-recovery-codes] li").count() == 10
    page.get_by_role("link", name="I have kept my codes: continue").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="My work").is_visible()

    # Next time the password is not enough: the app's code is asked for.
    page.get_by_role("button", name="Sign out").click()
    sign_in_with_password(page, live_server)
    page.wait_for_url(re.compile(r"/account/second-factor/check/"))
    # The code that set the app up is spent; the app's next one (a step ahead, as from a phone
    # whose clock runs a little fast) is accepted.
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="My work").is_visible()


def _virtual_authenticator(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp


def test_a_board_member_sets_up_a_passkey_and_signs_in_with_it(live_server, page, board_member):
    cdp = _virtual_authenticator(page)
    sign_in_with_password(page, live_server)
    page.wait_for_url(re.compile(r"/account/second-factor/set-up/"))
    page.get_by_label("Name for this passkey").fill("Board laptop")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url(re.compile(r"/account/second-factor/recovery-codes/"))
    page.get_by_role("link", name="I have kept my codes: continue").click()
    page.wait_for_url(f"{live_server.url}/")
    assert board_member.passkeys.get().name == "Board laptop"

    page.get_by_role("button", name="Sign out").click()
    sign_in_with_password(page, live_server)
    page.wait_for_url(re.compile(r"/account/second-factor/check/"))
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="My work").is_visible()
    assert board_member.passkeys.get().last_used_at is not None
    cdp.detach()
