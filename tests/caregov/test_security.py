"""Sign-in, throttling, session lifetime and password reset, as a person meets them."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from caregov.access import Role
from caregov.models import SecurityEvent
from tests.factories import person_with_role

PASSWORD = "Caregov-demo-2026"


@pytest.fixture
def manager(db):
    from tests.factories import ServiceFactory

    return person_with_role(
        Role.REGISTERED_MANAGER, service=ServiceFactory(), email="manager@oakfield.example"
    )


def _sign_in(client, email, password, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_a_person_signs_in_with_email_and_password(client, manager):
    response = _sign_in(client, "Manager@Oakfield.example", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert SecurityEvent.objects.filter(kind="login_succeeded", user=manager).exists()


def test_a_wrong_password_says_so_keeps_the_email_and_is_logged(client, manager):
    response = _sign_in(client, manager.email, "wrong-password")
    assert response.status_code == 200
    page = response.content.decode()
    assert "The email address or password is not right" in page
    assert manager.email in page
    event = SecurityEvent.objects.get(kind="login_failed")
    assert event.email == manager.email
    assert event.organisation_id == manager.organisation_id
    assert event.ip_address == "10.0.0.1"


def test_four_failures_do_not_lock_the_account(client, manager):
    for _ in range(4):
        _sign_in(client, manager.email, "wrong-password")
    assert _sign_in(client, manager.email, PASSWORD).status_code == 302
    assert not SecurityEvent.objects.filter(kind="locked_out").exists()


def test_five_failures_lock_the_account_even_with_the_right_password(client, manager):
    for _ in range(5):
        _sign_in(client, manager.email, "wrong-password")
    assert SecurityEvent.objects.filter(kind="locked_out", email=manager.email).count() == 1
    response = _sign_in(client, manager.email, PASSWORD, ip="10.9.9.9")
    assert response.status_code == 200
    assert "Sign-in is paused after 5 failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_lifts_after_fifteen_minutes(client, manager):
    for _ in range(5):
        _sign_in(client, manager.email, "wrong-password")
    SecurityEvent.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    assert _sign_in(client, manager.email, PASSWORD).status_code == 302


def test_wrong_passwords_for_made_up_accounts_do_not_lock_out_the_care_home(client, manager):
    # Everyone at a care home signs in from one router's address.
    for n in range(5):
        _sign_in(client, f"guess{n}@oakfield.example", "wrong-password", ip="192.0.2.7")
    assert _sign_in(client, manager.email, PASSWORD, ip="192.0.2.7").status_code == 302


def test_failures_for_many_different_accounts_from_one_address_lock_that_address(client, manager):
    for n in range(20):
        _sign_in(client, f"guess{n}@oakfield.example", "wrong-password", ip="192.0.2.7")
    response = _sign_in(client, manager.email, PASSWORD, ip="192.0.2.7")
    assert "Sign-in from this network is paused" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert _sign_in(client, manager.email, PASSWORD, ip="192.0.2.8").status_code == 302


def test_nineteen_accounts_from_one_address_do_not_lock_it(client, manager):
    for n in range(19):
        _sign_in(client, f"guess{n}@oakfield.example", "wrong-password", ip="192.0.2.7")
    assert _sign_in(client, manager.email, PASSWORD, ip="192.0.2.7").status_code == 302


def test_setting_a_new_password_through_a_reset_lifts_the_accounts_lock(client, manager):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    for _ in range(5):
        _sign_in(client, manager.email, "wrong-password")
    assert "Sign-in is paused" in _sign_in(client, manager.email, PASSWORD).content.decode()

    uid = urlsafe_base64_encode(force_bytes(manager.pk))
    token = default_token_generator.make_token(manager)
    response = client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)
    new = "A-much-better-passphrase-42"
    client.post(response.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})

    assert _sign_in(client, manager.email, new).status_code == 302


def test_failures_for_made_up_addresses_show_in_the_log_of_the_organisation_tried(client, manager):
    for n in range(3):
        _sign_in(client, f"guess{n}@oakfield.example", "wrong-password", ip="192.0.2.7")
    _sign_in(client, "someone@unknown-domain.example", "wrong-password", ip="192.0.2.7")
    failed = SecurityEvent.objects.filter(kind="login_failed")
    assert failed.filter(organisation_id=manager.organisation_id).count() == 3
    assert failed.get(email="someone@unknown-domain.example").organisation_id is None


def test_a_domain_shared_by_two_organisations_files_unknown_addresses_under_neither(
    client, manager
):
    from tests.factories import UserFactory

    UserFactory(email="someone@oakfield.example")  # a person of another provider
    _sign_in(client, "guess@oakfield.example", "wrong-password")
    assert SecurityEvent.objects.get(kind="login_failed").organisation_id is None


def test_many_reset_requests_for_one_account_send_three_emails_an_hour(client, manager):
    for _ in range(20):
        response = client.post(reverse("password_reset"), {"email": manager.email})
        assert response.status_code == 302
    assert len(mail.outbox) == 3
    assert SecurityEvent.objects.filter(kind="password_reset_refused").count() == 17


def test_reset_requests_from_one_address_are_limited_across_accounts(client, db):
    from tests.factories import ServiceFactory

    service = ServiceFactory()
    people = [
        person_with_role(Role.CARE_STAFF, service=service, email=f"carer{n}@oakfield.example")
        for n in range(12)
    ]
    for person in people:
        client.post(reverse("password_reset"), {"email": person.email}, REMOTE_ADDR="192.0.2.9")
    assert len(mail.outbox) == 10


def test_the_lockout_limits_are_configurable(client, manager, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        _sign_in(client, manager.email, "wrong-password")
    assert (
        "Sign-in is paused after 2 failed"
        in _sign_in(client, manager.email, PASSWORD).content.decode()
    )


def _age_session(client, *, seen_minutes=0, started_minutes=0):
    session = client.session
    now = timezone.now().timestamp()
    session["caregov_seen"] = now - seen_minutes * 60
    session["caregov_started"] = now - started_minutes * 60
    session.save()


def test_a_session_idle_for_longer_than_the_timeout_ends(client, manager):
    _sign_in(client, manager.email, PASSWORD)
    _age_session(client, seen_minutes=31, started_minutes=31)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert SecurityEvent.objects.filter(kind="session_expired", user=manager).exists()


def test_a_session_used_within_the_timeout_carries_on(client, manager):
    _sign_in(client, manager.email, PASSWORD)
    _age_session(client, seen_minutes=29, started_minutes=29)
    assert client.get(reverse("home")).status_code == 200


def test_a_session_ends_at_its_absolute_lifetime_however_active(client, manager, settings):
    settings.SESSION_ABSOLUTE_MINUTES = 60
    _sign_in(client, manager.email, PASSWORD)
    _age_session(client, seen_minutes=1, started_minutes=61)
    assert client.get(reverse("home")).status_code == 302


def test_password_reset_sends_a_link_that_sets_a_new_password(client, manager):
    response = client.post(reverse("password_reset"), {"email": manager.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/password-reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path, follow=True)
    assert b"Set your password" in response.content
    new = "A-much-better-passphrase-42"
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    manager.refresh_from_db()
    assert manager.check_password(new)
    assert SecurityEvent.objects.filter(kind="password_changed", user=manager).exists()


def test_password_reset_for_an_unknown_address_reveals_nothing(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_weak_passwords_are_refused_with_a_reason(client, manager):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(manager.pk))
    token = default_token_generator.make_token(manager)
    response = client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": "password", "new_password2": "password"}
    )
    assert response.status_code == 200
    assert "This password is too short" in response.content.decode()


def test_logging_out_is_a_post_and_is_recorded(client, manager):
    client.force_login(manager)
    response = client.post(reverse("logout"))
    assert response.status_code in (200, 302)
    assert client.get(reverse("home")).status_code == 302
    assert SecurityEvent.objects.filter(kind="logout", user=manager).exists()


@pytest.mark.django_db(transaction=True)
def test_forty_wrong_passwords_at_once_are_checked_against_the_limit_one_by_one():
    import threading

    from django.db import connection
    from django.test import Client

    from tests.factories import ServiceFactory

    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL: SQLite serialises writers.")
    person = person_with_role(
        Role.REGISTERED_MANAGER, service=ServiceFactory(), email="target@oakfield.example"
    )
    barrier = threading.Barrier(40)

    def attempt(n):
        try:
            barrier.wait(timeout=20)
            _sign_in(Client(), person.email, f"wrong-{n}", ip=f"10.1.0.{n}")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Five passwords were tried; the other 35 met the lock without their password being checked.
    assert SecurityEvent.objects.filter(kind="login_failed", email=person.email).count() == 5
    assert SecurityEvent.objects.filter(kind="locked_out", email=person.email).count() == 36


def test_a_commissioner_refused_fifty_times_in_a_minute_is_one_event_counted(client, db):
    from tests.factories import ServiceFactory

    commissioner = person_with_role(
        Role.COMMISSIONER, service=ServiceFactory(), email="commissioner@council.example"
    )
    client.force_login(commissioner)
    for _ in range(50):
        assert client.post(reverse("action_list"), {"title": "x"}).status_code == 403

    [event] = SecurityEvent.objects.filter(kind="read_only_write_refused")
    assert event.repeats == 50
    assert event.user == commissioner
    client.post(reverse("logout"))
    admin = person_with_role(Role.ORG_ADMIN, organisation=commissioner.organisation)
    client.force_login(admin)
    assert "50 times, last at" in client.get(reverse("security_event_list")).content.decode()
