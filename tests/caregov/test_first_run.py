"""A real provider starts without the demo: `manage.py create_organisation` on the command line,
or "Set up caregov" in the browser while the database holds no organisation."""

import threading
import time

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from caregov.access import Role
from caregov.models import Membership, Organisation, User
from caregov.services import organisation as organisation_services

GOOD_PASSWORD = "Larch-kettle-harbour-29"


@pytest.fixture
def typed(monkeypatch):
    """What the person types at the command's password prompts, in order."""
    answers = []
    monkeypatch.setattr(
        "caregov.management.commands.create_organisation.getpass.getpass",
        lambda prompt="": answers.pop(0),
    )
    return answers


def _create(*args, **kwargs):
    call_command("create_organisation", *args, stdout=kwargs.pop("stdout", None), **kwargs)


# The command -----------------------------------------------------------------------------------


def test_the_command_creates_the_organisation_and_its_first_admin(db, typed, capsys):
    typed.extend([GOOD_PASSWORD, GOOD_PASSWORD])
    call_command(
        "create_organisation",
        "Moorside Care Ltd",
        "--admin",
        "Dana.Hale@moorside.example",
        "--full-name",
        "Dana Hale",
    )
    organisation = Organisation.objects.get()
    assert organisation.name == "Moorside Care Ltd"
    assert organisation.slug == "moorside-care-ltd"
    admin = User.objects.get(email="dana.hale@moorside.example")
    assert admin.organisation == organisation
    assert admin.full_name == "Dana Hale"
    assert admin.check_password(GOOD_PASSWORD)
    membership = Membership.objects.get(user=admin)
    assert (membership.role, membership.service) == (Role.ORG_ADMIN, None)
    assert organisation.history.get().history_change_reason == "caregov.organisation.created"
    assert admin.history.get().history_change_reason == "caregov.organisation.first_admin"
    assert "Moorside Care Ltd is on caregov" in capsys.readouterr().out


def test_a_second_organisation_gets_its_own_slug(db, typed):
    Organisation.objects.create(name="Moorside", slug="moorside-care")
    typed.extend([GOOD_PASSWORD, GOOD_PASSWORD])
    _create("Moorside Care", "--admin", "dana@moorside.example", "--full-name", "Dana Hale")
    assert Organisation.objects.get(name="Moorside Care").slug == "moorside-care-2"


def test_the_command_refuses_a_name_already_taken_whatever_its_case(db, typed):
    Organisation.objects.create(name="Moorside Care Ltd", slug="moorside")
    typed.extend([GOOD_PASSWORD, GOOD_PASSWORD])
    with pytest.raises(CommandError, match="Moorside Care Ltd is already on caregov") as refused:
        _create("MOORSIDE care ltd", "--admin", "dana@moorside.example", "--full-name", "Dana")
    assert refused.value.returncode == 1
    assert "Nothing was created" in str(refused.value)
    assert Organisation.objects.count() == 1
    assert not User.objects.exists()
    # It says so before asking for a password.
    assert typed == [GOOD_PASSWORD, GOOD_PASSWORD]


def test_the_command_refuses_an_email_that_already_has_a_login(db, typed):
    other = Organisation.objects.create(name="Elsewhere", slug="elsewhere")
    User.objects.create_user("dana@moorside.example", full_name="Dana", organisation=other)
    typed.extend([GOOD_PASSWORD, GOOD_PASSWORD])
    with pytest.raises(CommandError, match="already has a login") as refused:
        _create("Moorside Care", "--admin", "Dana@Moorside.example", "--full-name", "Dana Hale")
    assert refused.value.returncode == 1
    assert list(Organisation.objects.values_list("name", flat=True)) == ["Elsewhere"]


@pytest.mark.parametrize(
    "first,second,message",
    [
        ("short", "short", "too short"),
        ("password1234", "password1234", "too common"),
        ("dana.hale.moorside", "dana.hale.moorside", "too similar"),
        (GOOD_PASSWORD, GOOD_PASSWORD + "x", "not the same"),
    ],
)
def test_the_command_refuses_a_weak_or_mistyped_password_and_creates_nothing(
    db, typed, first, second, message
):
    typed.extend([first, second])
    with pytest.raises(CommandError, match=message) as refused:
        _create(
            "Moorside Care", "--admin", "dana.hale@moorside.example", "--full-name", "Dana Hale"
        )
    assert refused.value.returncode == 1
    assert not Organisation.objects.exists()
    assert not User.objects.exists()


def test_with_invite_the_admin_gets_one_email_to_set_their_own_password(
    db, typed, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _create(
            "Moorside Care", "--admin", "dana@moorside.example", "--full-name", "Dana", "--invite"
        )
    admin = User.objects.get(email="dana@moorside.example")
    assert not admin.has_usable_password()
    assert typed == []  # no password was asked for
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["dana@moorside.example"]
    assert "You have been invited to caregov, where Moorside Care keeps" in email.body
    link = next(line for line in email.body.splitlines() if "/password-reset/" in line)
    # The link is the one a person invited from the People page gets: it sets the password.
    response = client.get(link.split("8000", 1)[-1], follow=True)
    assert response.status_code == 200
    assert "Set your password" in response.content.decode()


# The set-up page -------------------------------------------------------------------------------


def _setup_form(**changes):
    return {
        "name": "Moorside Care Ltd",
        "full_name": "Dana Hale",
        "email": "dana@moorside.example",
        "password": GOOD_PASSWORD,
        "password_again": GOOD_PASSWORD,
        **changes,
    }


def test_an_empty_caregov_offers_set_up_from_the_sign_in_page_and_from_the_front_page(db, client):
    page = client.get(reverse("home"), follow=True)
    assert page.redirect_chain[-1][0].startswith(reverse("login"))
    assert reverse("setup") in page.content.decode()
    assert "Set up caregov" in page.content.decode()
    assert client.get(reverse("setup")).status_code == 200


def test_set_up_creates_the_organisation_and_signs_its_admin_in(db, client):
    response = client.post(reverse("setup"), _setup_form())
    assert response.status_code == 302
    admin = User.objects.get(email="dana@moorside.example")
    assert admin.organisation.name == "Moorside Care Ltd"
    assert admin.memberships.get().role == Role.ORG_ADMIN
    assert client.session["_auth_user_id"] == str(admin.pk)
    # An organisation admin needs a second factor: set-up is the first thing they are shown.
    follow = client.get(reverse("home"))
    assert follow.status_code == 302
    assert follow["Location"].startswith(reverse("second_factor_set_up"))


def test_once_an_organisation_exists_set_up_is_gone_and_not_offered(db, client):
    Organisation.objects.create(name="Oakfield Care Group", slug="oakfield")
    assert client.get(reverse("setup")).status_code == 404
    assert client.post(reverse("setup"), _setup_form()).status_code == 404
    assert reverse("setup") not in client.get(reverse("login")).content.decode()
    assert Organisation.objects.count() == 1


def test_two_set_up_submissions_make_one_organisation(db, client):
    first = client.post(reverse("setup"), _setup_form())
    assert first.status_code == 302
    other = client.__class__()
    second = other.post(
        reverse("setup"), _setup_form(name="Rival Care", email="rival@rival.example")
    )
    assert second.status_code == 404
    assert list(Organisation.objects.values_list("name", flat=True)) == ["Moorside Care Ltd"]
    assert User.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_racing_set_ups_make_one_organisation(monkeypatch):
    """Both submissions pass the page's first check; the lock makes the second wait for the
    first to commit, then find its organisation."""
    made_slug = organisation_services._unique_slug

    def slow_slug(name):
        time.sleep(0.5)  # the first holds the lock here while the second arrives
        return made_slug(name)

    monkeypatch.setattr(organisation_services, "_unique_slug", slow_slug)
    start = threading.Barrier(2)
    outcomes = []

    def submit(n):
        start.wait()
        try:
            organisation_services.organisation_create(
                name=f"Provider {n}",
                admin_email=f"admin{n}@provider.example",
                admin_full_name=f"Admin {n}",
                password=GOOD_PASSWORD,
                first_run=True,
            )
            outcomes.append("made")
        except organisation_services.FirstRunDone:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["made", "refused"]
    assert Organisation.objects.count() == 1
    assert User.objects.count() == 1


def test_bad_set_up_input_says_what_is_wrong_keeps_what_was_typed_and_saves_nothing(db, client):
    response = client.post(
        reverse("setup"),
        _setup_form(email="not-an-email", password="short", password_again="short"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter an email address like name@example.org." in page
    assert 'value="Moorside Care Ltd"' in page
    assert 'value="Dana Hale"' in page
    assert 'value="not-an-email"' in page
    assert "too short" in page  # every problem at once
    assert 'value="short"' not in page  # a password is never sent back
    assert not Organisation.objects.exists()

    response = client.post(reverse("setup"), _setup_form(password="short", password_again="short"))
    assert "too short" in response.content.decode()
    assert not Organisation.objects.exists() and not User.objects.exists()

    response = client.post(reverse("setup"), _setup_form(password_again="something-else-2026"))
    assert "The two passwords are not the same" in response.content.decode()
    assert not Organisation.objects.exists()

    response = client.post(reverse("setup"), _setup_form(name="  "))
    assert "Enter the organisation&#x27;s name." in response.content.decode()
    assert not Organisation.objects.exists()
