"""Organisation admins invite people, give and remove roles, and deactivate leavers."""

import pytest
from django.core import mail
from django.urls import reverse

from caregov.access import Role
from caregov.models import Membership, SecurityEvent, User


@pytest.fixture
def admin(world):
    return world.user(Role.ORG_ADMIN)


def test_inviting_a_person_creates_their_login_and_role_and_emails_them(
    client, world, admin, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("person_invite"),
            {
                "full_name": "Rosa Patel",
                "email": "Rosa.Patel@oakfield.example",
                "role": "team_leader",
                "service": world.service_a.pk,
            },
        )
    assert response.status_code == 302
    person = User.objects.get(email="rosa.patel@oakfield.example")
    assert not person.has_usable_password()
    assert person.memberships.get().service == world.service_a
    assert len(mail.outbox) == 1 and "/password-reset/" in mail.outbox[0].body
    record = person.history.get()
    assert record.history_user == admin
    assert record.history_change_reason == "caregov.person.invited"


def test_a_commissioner_must_be_linked_to_a_service_and_nothing_is_saved_otherwise(
    client, world, admin
):
    client.force_login(admin)
    response = client.post(
        reverse("person_invite"),
        {
            "full_name": "Cara Council",
            "email": "cara@council.example",
            "role": "commissioner",
            "service": "organisation",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "must be linked to a named service" in page
    assert 'value="Cara Council"' in page
    assert not User.objects.filter(email="cara@council.example").exists()


def test_inviting_an_existing_email_is_refused(client, world, admin):
    client.force_login(admin)
    response = client.post(
        reverse("person_invite"),
        {
            "full_name": "Twin",
            "email": world.colleague.email,
            "role": "care_staff",
            "service": world.service_a.pk,
        },
    )
    assert "already has a login" in response.content.decode()


def test_giving_and_removing_a_role_is_kept_in_history(client, world, admin):
    client.force_login(admin)
    person = world.colleague
    client.post(
        reverse("membership_add", args=[person.pk]),
        {"role": "digital_champion", "service": world.service_b.pk},
    )
    membership = person.memberships.get(role="digital_champion")
    client.post(reverse("membership_remove", args=[person.pk, membership.pk]))
    assert not person.memberships.filter(role="digital_champion").exists()
    reasons = list(
        Membership.history.filter(user_id=person.pk, role="digital_champion").values_list(
            "history_change_reason", flat=True
        )
    )
    assert sorted(reasons) == ["caregov.membership.given", "caregov.membership.removed"]
    page = client.get(reverse("person_history", args=[person.pk])).content.decode()
    assert "Removed" in page and "Digital champion" in page


def test_a_deactivated_person_is_signed_out_and_cannot_sign_in(client, world, admin):
    from django.test import Client

    leaver = world.colleague
    their_browser = Client()
    their_browser.force_login(leaver)
    assert their_browser.get(reverse("home")).status_code == 200

    client.force_login(admin)
    assert client.post(reverse("person_deactivate", args=[leaver.pk])).status_code == 302
    leaver.refresh_from_db()
    assert not leaver.is_active and leaver.deactivated_at

    assert their_browser.get(reverse("home")).status_code == 302
    response = their_browser.post(
        reverse("login"), {"username": leaver.email, "password": "Caregov-demo-2026"}
    )
    assert response.status_code == 200
    assert SecurityEvent.objects.filter(kind="account_deactivated", email=leaver.email).exists()


def test_an_admin_cannot_deactivate_themselves(client, world, admin):
    client.force_login(admin)
    client.post(reverse("person_deactivate", args=[admin.pk]))
    admin.refresh_from_db()
    assert admin.is_active


def test_the_people_list_filters_by_role_and_shows_removable_tags(client, world, admin):
    client.force_login(admin)
    response = client.get(reverse("person_list"), {"role": "team_leader"})
    page = response.content.decode()
    assert world.user(Role.TEAM_LEADER).email in page
    assert world.colleague.email not in page
    assert "Role: Team leader" in page
    assert "1 person" in page


def test_the_security_log_shows_only_this_organisations_events(client, world, admin):
    SecurityEvent.objects.create(
        kind="login_failed", organisation=world.org, email="x@oakfield.example"
    )
    SecurityEvent.objects.create(
        kind="login_failed", organisation=world.other_org, email="y@elsewhere.example"
    )
    client.force_login(admin)
    page = client.get(reverse("security_event_list")).content.decode()
    assert "x@oakfield.example" in page
    assert "y@elsewhere.example" not in page


def test_the_security_log_downloads_as_csv_without_running_formulas(client, world, admin):
    SecurityEvent.objects.create(
        kind="login_failed", organisation=world.org, email="=cmd|calc@x.org"
    )
    client.force_login(admin)
    response = client.get(reverse("security_event_list"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    assert body.splitlines()[0] == "When,What happened,Person,Email given,Address,Page,Detail"
    assert "'=cmd|calc@x.org" in body
