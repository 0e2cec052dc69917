"""A second factor by role: who is made to set one up, the code at sign-in, recovery codes, an
admin's reset, and the fresh identity check before sign-offs and role changes."""

import base64
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from caregov import mfa
from caregov.access import Role
from caregov.forms import WHOLE_ORGANISATION
from caregov.models import Membership, Organisation, SecurityEvent
from caregov.roles import SECOND_FACTOR_ROLES_DEFAULT
from tests.factories import OrganisationFactory, ServiceFactory, person_with_role

PASSWORD = "Caregov-demo-2026"


def _sign_in(client, user, password=PASSWORD):
    return client.post(reverse("login"), {"username": user.email, "password": password})


def _code(key_hex: str, offset: int = 0) -> str:
    totp = pyotp.TOTP(base64.b32encode(bytes.fromhex(key_hex)).decode())
    return totp.at(timezone.now() + timedelta(seconds=30 * offset))


def _set_up_app(client) -> str:
    """Go through the set-up page as the signed-in person; returns the app's key."""
    client.get(reverse("second_factor_set_up"))
    key = client.session[mfa.PENDING_TOTP_KEY]
    response = client.post(reverse("second_factor_set_up"), {"code": _code(key)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return key


@pytest.fixture
def org(db):
    return OrganisationFactory(name="Oakfield Care Group")


@pytest.fixture
def willow(org):
    return ServiceFactory(organisation=org, name="Willow House", code="WILLOW")


@pytest.fixture
def board_member(org):
    return person_with_role(Role.BOARD_MEMBER, organisation=org, email="board@oakfield.example")


@pytest.fixture
def manager(willow):
    return person_with_role(
        Role.REGISTERED_MANAGER, service=willow, email="manager@oakfield.example"
    )


@pytest.fixture
def admin(org):
    return person_with_role(Role.ORG_ADMIN, organisation=org, email="admin@oakfield.example")


def with_app(user) -> str:
    """Give the person a confirmed authenticator app (and recovery codes); returns its key."""
    from caregov.services.mfa import _recovery_codes_make

    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    _recovery_codes_make(user)
    return device.key


# Who must set one up ---------------------------------------------------------------------------


def test_a_new_organisation_requires_a_second_factor_of_admins_board_leaders_and_quality_leads(
    db,
):
    organisation = Organisation.objects.create(name="New Provider", slug="new-provider")
    assert set(organisation.second_factor_roles) == {
        Role.ORG_ADMIN,
        Role.BOARD_MEMBER,
        Role.SENIOR_LEADER,
        Role.QUALITY_LEAD,
        Role.DATA_QUALITY_LEAD,
    }
    assert set(organisation.second_factor_roles) == set(SECOND_FACTOR_ROLES_DEFAULT)


@pytest.mark.parametrize("role", SECOND_FACTOR_ROLES_DEFAULT, ids=lambda r: r.value)
def test_each_required_role_must_set_up_a_second_factor_before_anything_else(client, org, role):
    person = person_with_role(role, organisation=org, email="lead@oakfield.example")
    response = _sign_in(client, person)
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert home.status_code == 302
    assert home["Location"].startswith(reverse("second_factor_set_up"))
    for name in ("service_list", "notice_list", "person_list"):
        assert client.get(reverse(name))["Location"].startswith(reverse("second_factor_set_up"))
    page = client.get(home["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert f"As {role.label.lower()}, you sign in with your password and a second factor" in text
    assert 'class="site-nav' not in text  # no menu leads anywhere else meanwhile


def test_a_role_the_organisation_does_not_require_signs_in_with_the_password_alone(client, manager):
    _sign_in(client, manager)
    assert client.get(reverse("home")).status_code == 200


def test_the_organisation_chooses_the_roles(client, org, board_member, manager):
    org.second_factor_roles = [Role.REGISTERED_MANAGER.value]
    org.save()
    _sign_in(client, board_member)
    assert client.get(reverse("home")).status_code == 200
    client.logout()
    _sign_in(client, manager)
    assert client.get(reverse("home"))["Location"].startswith(reverse("second_factor_set_up"))


def test_a_person_held_at_set_up_can_still_sign_out(client, board_member):
    _sign_in(client, board_member)
    response = client.post(reverse("logout"))
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_post_from_a_session_without_its_second_factor_changes_nothing(
    client, board_member, willow
):
    _sign_in(client, board_member)
    response = client.post(reverse("service_edit", args=[willow.pk]), {"name": "Renamed"})
    assert response.status_code == 302
    willow.refresh_from_db()
    assert willow.name == "Willow House"


# Setting up an authenticator app --------------------------------------------------------------


def test_setting_up_the_app_with_its_first_code_reaches_home_via_recovery_codes(
    client, board_member
):
    _sign_in(client, board_member)
    client.get(reverse("second_factor_set_up"))
    key = client.session[mfa.PENDING_TOTP_KEY]
    page = client.get(reverse("second_factor_set_up")).content.decode()
    assert "data:image/svg+xml;base64," in page  # the QR code is drawn by caregov itself
    assert "Key:" in page

    response = client.post(reverse("second_factor_set_up"), {"code": _code(key)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("second_factor_recovery_codes"))
    codes_page = client.get(response["Location"]).content.decode()
    codes = list(
        StaticToken.objects.filter(device__user=board_member).values_list("token", flat=True)
    )
    assert len(codes) == 10
    assert all(code in codes_page for code in codes)
    # Shown once only.
    again = client.get(reverse("second_factor_recovery_codes")).content.decode()
    assert not any(code in again for code in codes)
    assert "You have 10 unused recovery codes." in again

    assert client.get(reverse("home")).status_code == 200
    assert TOTPDevice.objects.get(user=board_member).confirmed
    assert SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.SECOND_FACTOR_ADDED, user=board_member
    ).exists()


def test_a_wrong_first_code_sets_up_nothing_and_says_what_to_do(client, board_member):
    _sign_in(client, board_member)
    client.get(reverse("second_factor_set_up"))
    key = client.session[mfa.PENDING_TOTP_KEY]
    wrong = "000000" if _code(key) != "000000" else "111111"
    response = client.post(reverse("second_factor_set_up"), {"code": wrong})
    assert response.status_code == 200
    page = response.content.decode()
    assert "That code is not right. Enter the 6-digit code the app shows now." in page
    assert wrong in page  # what was typed stays
    assert not TOTPDevice.objects.filter(user=board_member).exists()
    # The same key is still on the page, so the app just scanned keeps working.
    assert client.session[mfa.PENDING_TOTP_KEY] == key
    assert client.get(reverse("home")).status_code == 302


# The code at sign-in --------------------------------------------------------------------------


def test_with_an_app_sign_in_asks_for_the_code_and_refuses_a_wrong_one(client, board_member):
    key = with_app(board_member)
    _sign_in(client, board_member)
    home = client.get(reverse("home"))
    assert home["Location"].startswith(reverse("second_factor_check"))

    moment = timezone.now()
    right = _code(key)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with time_machine.travel(moment, tick=False):
        response = client.post(reverse("second_factor_check"), {"code": wrong, "next": "/"})
        assert response.status_code == 200
        assert "That code is not right" in response.content.decode()
        assert client.get(reverse("home")).status_code == 302
        assert SecurityEvent.objects.filter(
            kind=SecurityEvent.Kind.SECOND_FACTOR_FAILED, user=board_member
        ).exists()
        # django-otp slows down guessing: straight after a wrong code, even the right one waits.
        response = client.post(reverse("second_factor_check"), {"code": right, "next": "/"})
        assert "Too many wrong codes. Wait 1 second and try again." in response.content.decode()

    with time_machine.travel(moment + timedelta(seconds=3), tick=False):
        response = client.post(reverse("second_factor_check"), {"code": right, "next": "/"})
        assert response.status_code == 302
        assert response["Location"] == "/"
        assert client.get(reverse("home")).status_code == 200


def test_a_person_whose_role_needs_none_but_who_has_an_app_is_asked_for_it(client, manager):
    with_app(manager)
    _sign_in(client, manager)
    assert client.get(reverse("home"))["Location"].startswith(reverse("second_factor_check"))


def test_the_code_that_confirmed_the_app_cannot_be_used_again(client, board_member):
    _sign_in(client, board_member)
    key = _set_up_app(client)
    used = _code(key)
    client.logout()
    _sign_in(client, board_member)
    response = client.post(reverse("second_factor_check"), {"code": used})
    assert response.status_code == 200
    assert client.get(reverse("home")).status_code == 302


def test_a_recovery_code_works_once(client, board_member):
    with_app(board_member)
    code = StaticToken.objects.filter(device__user=board_member).first().token
    _sign_in(client, board_member)
    response = client.post(reverse("second_factor_check"), {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.RECOVERY_CODE_USED)
    assert event.detail == "9 recovery codes left"

    client.logout()
    _sign_in(client, board_member)
    response = client.post(reverse("second_factor_check"), {"code": code})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client, board_member):
    with_app(board_member)
    old = set(StaticToken.objects.filter(device__user=board_member).values_list("token", flat=True))
    client.force_login(board_member)
    response = client.post(reverse("second_factor_recovery_codes"))
    assert response.status_code == 200
    new = set(StaticToken.objects.filter(device__user=board_member).values_list("token", flat=True))
    assert len(new) == 10 and not (old & new)
    assert all(code in response.content.decode() for code in new)


# An admin's reset ------------------------------------------------------------------------------


def test_an_admin_resets_a_persons_second_factor_and_it_is_in_the_security_log(
    client, admin, board_member
):
    with_app(board_member)
    other = client.__class__()
    other.force_login(board_member)  # the person's own session, on their lost phone
    client.force_login(admin)

    detail = client.get(reverse("person_detail", args=[board_member.pk])).content.decode()
    assert "Reset second factor" in detail
    response = client.post(reverse("person_second_factor_reset", args=[board_member.pk]))
    assert response.status_code == 302

    assert not TOTPDevice.objects.filter(user=board_member).exists()
    assert not StaticToken.objects.filter(device__user=board_member).exists()
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.SECOND_FACTOR_RESET)
    assert event.user == admin
    assert event.email == board_member.email
    assert event.organisation_id == admin.organisation_id
    assert "authenticator app" in event.detail and "recovery codes" in event.detail
    assert "1 session(s) ended" in event.detail
    log = client.get(reverse("security_event_list")).content.decode()
    assert "Second factor reset by an admin" in log
    # Their old session has ended; at the next sign-in they set up a new second factor.
    assert other.get(reverse("home"))["Location"].startswith(reverse("login"))
    _sign_in(other, board_member)
    assert other.get(reverse("home"))["Location"].startswith(reverse("second_factor_set_up"))


def test_an_admin_cannot_reset_their_own_second_factor(client, admin):
    with_app(admin)
    client.force_login(admin)
    client.post(reverse("person_second_factor_reset", args=[admin.pk]))
    assert TOTPDevice.objects.filter(user=admin).exists()
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.SECOND_FACTOR_RESET).exists()


def test_an_admin_of_another_organisation_cannot_reset_it(client, board_member):
    with_app(board_member)
    stranger = person_with_role(Role.ORG_ADMIN, email="admin@elsewhere.example")
    client.force_login(stranger)
    response = client.post(reverse("person_second_factor_reset", args=[board_member.pk]))
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=board_member).exists()


def test_an_admin_chooses_the_roles_and_the_change_is_logged(client, admin, org):
    client.force_login(admin)
    page = client.get(reverse("second_factor_roles")).content.decode()
    assert "Roles that must use a second factor" in page
    response = client.post(
        reverse("second_factor_roles"), {"roles": [Role.ORG_ADMIN, Role.REGISTERED_MANAGER]}
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.second_factor_roles == [Role.REGISTERED_MANAGER.value, Role.ORG_ADMIN.value]
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.SECOND_FACTOR_ROLES_CHANGED)
    assert event.detail == (
        "A second factor is now required for: registered manager, organisation admin"
    )
    assert "2 roles must use a second factor" in client.get(response["Location"]).content.decode()


# The fresh identity check ---------------------------------------------------------------------


def _stale(client):
    """Move the clock past the fresh identity window (but inside the idle timeout)."""
    return time_machine.travel(timezone.now() + timedelta(minutes=16), tick=True)


@pytest.fixture
def meeting(db, world):
    from datetime import date

    from caregov.models import Body
    from caregov.services.governance import decision_record, meeting_record, meeting_update

    lead = world.user(Role.QUALITY_LEAD)
    meeting = meeting_record(
        actor=lead,
        organisation=world.org,
        body=Body.QUALITY_MEETING,
        meeting_date=date(2026, 11, 2),
        title="Monthly quality meeting",
        attendees="A. Lead, quality lead",
    )
    meeting = meeting_update(actor=lead, meeting=meeting, minutes="Reviewed the audit.")
    decision_record(actor=lead, meeting=meeting, text="Audit weekly.")
    return meeting


def test_signing_off_minutes_asks_for_the_password_again_after_fifteen_minutes(
    client, world, meeting
):
    lead = world.user(Role.QUALITY_LEAD)
    client.force_login(lead)
    url = reverse("meeting_sign_off", args=[meeting.pk])
    with _stale(client):
        response = client.post(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert "Confirm it's you" in page
        assert "To sign off these minutes, enter your password again" in page
        meeting.refresh_from_db()
        assert not meeting.is_frozen

        response = client.post(url, {"identity-check": "POST", "identity-password": "wrong"})
        assert response.status_code == 200
        assert "That password is not right" in response.content.decode()
        meeting.refresh_from_db()
        assert not meeting.is_frozen
        assert SecurityEvent.objects.filter(
            kind=SecurityEvent.Kind.IDENTITY_CHECK_FAILED, user=lead
        ).exists()

        response = client.post(url, {"identity-check": "POST", "identity-password": PASSWORD})
        assert response.status_code == 302
        meeting.refresh_from_db()
        assert meeting.is_frozen and meeting.signed_off_by == lead


def test_a_fresh_password_at_sign_in_is_enough_for_a_sign_off(client, world, meeting):
    lead = world.user(Role.QUALITY_LEAD)
    world.org.second_factor_roles = []
    world.org.save()
    _sign_in(client, lead)
    response = client.post(reverse("meeting_sign_off", args=[meeting.pk]))
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.is_frozen


def test_a_review_sign_off_keeps_what_was_typed_through_the_check(client, world):
    from caregov.models import ReviewCycle

    manager = world.user(Role.REGISTERED_MANAGER)
    cycle = world.record("review", world.service_a)
    client.force_login(manager)
    url = reverse("review_sign_off", args=[cycle.pk])
    typed = {
        "decision": "Carry on with weekly audits",
        "minutes": "Completeness rose to 92%.",
        "confirm": "on",
    }
    with _stale(client):
        page = client.post(url, typed).content.decode()
        assert "Confirm it's you" in page
        assert 'value="Completeness rose to 92%."' in page
        assert ReviewCycle.objects.get(pk=cycle.pk).status != ReviewCycle.Status.SIGNED_OFF
        response = client.post(
            url, {**typed, "identity-check": "POST", "identity-password": PASSWORD}
        )
        assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.status == ReviewCycle.Status.SIGNED_OFF
    assert cycle.minutes == "Completeness rose to 92%."


def test_a_code_from_the_app_also_confirms_it_is_you(client, world, meeting):
    lead = world.user(Role.QUALITY_LEAD)
    key = with_app(lead)
    client.force_login(lead)
    url = reverse("meeting_sign_off", args=[meeting.pk])
    with _stale(client):
        response = client.post(url, {"identity-check": "POST", "identity-code": _code(key)})
        assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.is_frozen


def test_giving_a_role_asks_for_the_password_again_and_then_gives_it(client, admin, manager):
    client.force_login(admin)
    url = reverse("membership_add", args=[manager.pk])
    with _stale(client):
        assert "Confirm it's you" in client.get(url).content.decode()
        page = client.post(
            url, {"role": Role.QUALITY_LEAD, "service": WHOLE_ORGANISATION}
        ).content.decode()
        assert "To give a role, enter your password again" in page
        assert not Membership.objects.filter(user=manager, role=Role.QUALITY_LEAD).exists()
        response = client.post(
            url,
            {
                "role": Role.QUALITY_LEAD,
                "service": WHOLE_ORGANISATION,
                "identity-check": "POST",
                "identity-password": PASSWORD,
            },
        )
        assert response.status_code == 302
        assert Membership.objects.filter(user=manager, role=Role.QUALITY_LEAD).exists()
        # Confirmed for the next quarter of an hour: removing it asks nothing more.
        membership = Membership.objects.get(user=manager, role=Role.QUALITY_LEAD)
        remove = reverse("membership_remove", args=[manager.pk, membership.pk])
        assert client.post(remove).status_code == 302
        assert not Membership.objects.filter(pk=membership.pk).exists()


def test_a_check_asked_for_on_opening_a_page_returns_to_that_page(client, admin, manager):
    client.force_login(admin)
    url = reverse("membership_add", args=[manager.pk])
    with _stale(client):
        response = client.post(url, {"identity-check": "GET", "identity-password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == url
        assert "Give role" in client.get(url).content.decode()


# Passkeys: what the server says to a bad answer (the browser journey is in tests/e2e) ---------


def test_a_garbled_passkey_answer_is_refused_with_a_message_and_saves_nothing(client, board_member):
    _sign_in(client, board_member)
    options = client.get(reverse("passkey_add")).json()
    assert options["rp"]["id"] == "testserver" and options["challenge"]
    response = client.post(
        reverse("passkey_add"), data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error": "The browser's answer did not check out. Try again.",
    }
    assert not board_member.passkeys.exists()
    # The challenge is used up: a replayed answer is refused too.
    again = client.post(reverse("passkey_add"), data="{}", content_type="application/json")
    assert "expired" in again.json()["error"]
    assert client.get(reverse("home")).status_code == 302


def test_a_passkey_sign_in_with_an_unknown_credential_is_refused_and_logged(client, board_member):
    from caregov.models import Passkey

    Passkey.objects.create(
        user=board_member, name="Laptop", credential_id="abc", public_key=b"\x00"
    )
    _sign_in(client, board_member)
    assert client.get(reverse("home"))["Location"].startswith(reverse("second_factor_check"))
    options = client.get(reverse("passkey_check")).json()
    assert [c["id"] for c in options["allowCredentials"]] == ["abc"]
    response = client.post(
        reverse("passkey_check"),
        data='{"id": "someone-elses", "type": "public-key", "response": {}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "That passkey is not one of yours in caregov."
    assert SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.SECOND_FACTOR_FAILED, user=board_member, detail="Passkey refused"
    ).exists()
    assert client.get(reverse("home")).status_code == 302


def test_adding_a_passkey_needs_a_fresh_identity(client, board_member):
    client.force_login(board_member)
    with _stale(client):
        response = client.get(reverse("passkey_add"))
    assert response.status_code == 403
    assert "Confirm it's you first" in response.json()["error"]
