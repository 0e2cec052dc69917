"""Organisation admins add and update services, and invite people and set their roles, from a
spreadsheet: every row checked, nothing saved unless the whole file is right, a preview first."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from caregov import bulk
from caregov.access import Role
from caregov.models import Membership, Service, User

SERVICES_HEADER = "name,code,type,address_line_1,address_line_2,town,postcode,phase\n"
PEOPLE_HEADER = "email,full_name,role,service_code,job_title\n"


@pytest.fixture
def admin(world):
    return world.user(Role.ORG_ADMIN)


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


def upload(client, url_name: str, text: str | bytes, name: str = "upload.csv"):
    content = text.encode() if isinstance(text, str) else text
    return client.post(
        reverse(url_name), {"file": SimpleUploadedFile(name, content, "text/csv")}, follow=True
    )


def confirm(client, url_name: str, preview, **extra):
    data = {
        "confirm": "1",
        "file": preview.context["held"]["sha"],
        "plan": preview.context["plan"].fingerprint,
        **extra,
    }
    return client.post(reverse(url_name), data, follow=True)


def problems(response) -> list[str]:
    return [str(p) for p in response.context["problems"]]


# Services -------------------------------------------------------------------------------------

GOOD_SERVICES = (
    SERVICES_HEADER
    + "Oak Lodge,OAK,Care home,1 Oak Road,,Leeds,ls1 4ab,Rollout\n"
    + "Elm Court,elm,NURSING_HOME,2 Elm Street,Flat 2,York,YO11AA,\n"
    + "Ash Home Care,ASH,domiciliary care,3 Ash Way,,Hull,HU1 2AB,stabilised\n"
)


def test_a_good_services_file_adds_every_service_once_confirmed(as_admin, world, admin):
    preview = upload(as_admin, "services_upload", GOOD_SERVICES)
    assert preview.status_code == 200
    assert "Services to add (3)" in preview.content.decode()
    assert not Service.objects.filter(code__in=["OAK", "ELM", "ASH"]).exists()

    done = confirm(as_admin, "services_upload", preview)
    assert done.redirect_chain[-1][0] == reverse("service_list")
    assert "3 services added and 0 services updated" in done.content.decode()
    elm = Service.objects.get(organisation=world.org, code="ELM")
    assert elm.service_type == Service.Type.NURSING_HOME
    assert elm.postcode == "YO1 1AA"
    assert elm.phase == Service.Phase.PLANNING
    assert Service.objects.get(code="OAK").phase == Service.Phase.ROLLOUT
    record = elm.history.get()
    assert record.history_user == admin
    assert record.history_change_reason == "caregov.service.created"


def test_one_bad_row_saves_nothing_and_every_problem_is_named_by_its_row(as_admin, world):
    text = (
        SERVICES_HEADER
        + "Oak Lodge,OAK,Care home,1 Oak Road,,Leeds,LS1 4AB,Rollout\n"
        + "Elm Court,ELM,Castle,2 Elm Street,,York,not a postcode,Someday\n"
        + ",oak,Care home,,,Hull,HU1 2AB,\n"
        + "Beech again,beech!,Care home,4 Beech Row,,York,YO1 1AA,=1+1\n"
    )
    response = upload(as_admin, "services_upload", text, name="services.csv")
    assert response.status_code == 200
    found = problems(response)
    assert any(p.startswith("Row 3, column type: 'Castle' is not a type") for p in found)
    assert any(p.startswith("Row 3, column postcode: 'not a postcode' is not a UK") for p in found)
    assert any(p.startswith("Row 3, column phase: 'Someday' is not a phase") for p in found)
    assert "Row 4, column name: is empty. Enter the service's name." in found
    assert any(p.startswith("Row 4, column address_line_1: is empty") for p in found)
    assert "Row 4, column code: OAK is also on row 2." in " ".join(found)
    assert any(p.startswith("Row 5, column code: 'beech!' is not a code") for p in found)
    assert any(p.startswith("Row 5, column phase: starts with '='") for p in found)
    page = response.content.decode()
    assert "Nothing was saved" in page and "services.csv" in page
    assert not Service.objects.filter(code="OAK").exists()


def test_a_row_with_an_existing_code_updates_it_only_after_the_changes_are_shown(
    as_admin, world, admin
):
    willow = world.service_a
    text = SERVICES_HEADER + (
        f"Willow House,willow,Care home,{willow.address_line_1},,Harrogate,{willow.postcode},"
        "Stabilised\n"
    )
    preview = upload(as_admin, "services_upload", text)
    page = preview.content.decode()
    assert "Services to update (1)" in page
    assert "Town or city" in page and "Harrogate" in page and "Stabilised" in page
    willow.refresh_from_db()
    assert willow.town == "York"

    confirm(as_admin, "services_upload", preview)
    willow.refresh_from_db()
    assert (willow.town, willow.phase) == ("Harrogate", Service.Phase.STABILISED)
    latest = willow.history.first()
    assert latest.history_change_reason == "caregov.service.phase_changed"
    assert latest.history_user == admin


def test_re_uploading_the_same_services_file_changes_nothing(as_admin, world):
    confirm(as_admin, "services_upload", upload(as_admin, "services_upload", GOOD_SERVICES))
    records = Service.history.count()
    again = upload(as_admin, "services_upload", GOOD_SERVICES)
    assert "Nothing to change" in again.content.decode()
    assert 'name="confirm"' not in again.content.decode()
    assert Service.history.count() == records


def test_a_service_added_meanwhile_stops_the_confirm_and_shows_the_file_again(as_admin, world):
    preview = upload(as_admin, "services_upload", GOOD_SERVICES)
    Service.objects.create(
        organisation=world.org,
        name="Oak Lodge",
        code="OAK",
        service_type=Service.Type.CARE_HOME,
        address_line_1="Somewhere else",
        town="Leeds",
        postcode="LS1 4AB",
    )
    response = confirm(as_admin, "services_upload", preview)
    assert "Something changed since you checked this file" in response.content.decode()
    assert not Service.objects.filter(code="ELM").exists()


def test_a_utf16_file_is_refused_saying_how_to_save_it(as_admin, world):
    response = upload(as_admin, "services_upload", GOOD_SERVICES.encode("utf-16"))
    assert any("This file is UTF-16" in p and "CSV UTF-8" in p for p in problems(response))
    assert not Service.objects.filter(code="OAK").exists()


def test_a_utf8_file_with_a_byte_order_mark_is_read(as_admin, world):
    preview = upload(as_admin, "services_upload", GOOD_SERVICES.encode("utf-8-sig"))
    assert "Services to add (3)" in preview.content.decode()


def test_a_file_of_more_than_5000_rows_is_refused(as_admin, world):
    rows = "".join(f"S {n},S{n},Care home,1 Road,,York,YO1 1AA,\n" for n in range(5001))
    response = upload(as_admin, "services_upload", SERVICES_HEADER + rows)
    assert problems(response) == [
        "The file has more than 5,000 rows. Split it into files of at most 5,000 "
        "rows and upload each."
    ]


def test_a_file_over_2_mb_is_refused_before_it_is_read(as_admin, world):
    response = upload(as_admin, "services_upload", GOOD_SERVICES + " " * bulk.MAX_BYTES)
    assert "The file is larger than 2 MB" in response.content.decode()
    assert not Service.objects.filter(code="OAK").exists()


def test_a_header_missing_columns_is_named(as_admin, world):
    response = upload(as_admin, "services_upload", "name,code,colour\nOak,OAK,red\n")
    found = problems(response)
    assert any("column 'colour'" in p and "does not know this column" in p for p in found)
    assert any("type, address_line_1, town, postcode" in p for p in found)


# People ---------------------------------------------------------------------------------------


def _people(world, admin) -> str:
    """The whole organisation as a file: everyone already there, plus two new people."""
    lines = [PEOPLE_HEADER]
    for person in User.objects.filter(organisation=world.org, is_active=True):
        for m in person.memberships.all():
            code = m.service.code if m.service_id else ""
            lines.append(f"{person.email},{person.full_name},{m.get_role_display()},{code},\n")
    lines += [
        "rosa.patel@oakfield.example,Rosa Patel,Team leader,BEECH,Day shift\n",
        "Rosa.Patel@oakfield.example,Rosa Patel,digital champion,willow,\n",
        "sam.lee@oakfield.example,Sam Lee,Quality lead,whole organisation,\n",
    ]
    return "".join(lines)


def test_a_people_file_invites_each_new_person_once_after_confirm_and_not_before(
    as_admin, world, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        preview = upload(as_admin, "people_upload", _people(world, admin))
    page = preview.content.decode()
    assert "People to invite (2)" in page
    assert "Team leader, Beech Court" in page and "Digital champion, Willow House" in page
    assert len(mail.outbox) == 0
    assert not User.objects.filter(email="rosa.patel@oakfield.example").exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = confirm(as_admin, "people_upload", preview)
    assert "2 invitations sent" in done.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "rosa.patel@oakfield.example",
        "sam.lee@oakfield.example",
    ]
    rosa = User.objects.get(email="rosa.patel@oakfield.example")
    assert rosa.job_title == "Day shift"
    assert {(m.role, m.service.code) for m in rosa.memberships.all()} == {
        ("team_leader", "BEECH"),
        ("digital_champion", "WILLOW"),
    }
    assert rosa.history.get().history_change_reason == "caregov.person.invited"
    assert User.objects.get(email="sam.lee@oakfield.example").memberships.get().service is None


def test_re_uploading_the_same_people_file_changes_nothing(
    as_admin, world, admin, django_capture_on_commit_callbacks
):
    text = _people(world, admin)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(as_admin, "people_upload", upload(as_admin, "people_upload", text))
    sent = len(mail.outbox)
    counts = (User.history.count(), Membership.history.count())
    with django_capture_on_commit_callbacks(execute=True):
        again = upload(as_admin, "people_upload", text)
        assert "Nothing to change" in again.content.decode()
    assert len(mail.outbox) == sent
    assert (User.history.count(), Membership.history.count()) == counts


def test_a_leaver_is_listed_and_kept_active_unless_ticked(as_admin, world, admin):
    leaver = world.colleague
    text = "".join(
        line for line in _people(world, admin).splitlines(True) if leaver.email not in line
    )
    preview = upload(as_admin, "people_upload", text)
    page = preview.content.decode()
    assert "Not in the file: would be deactivated" in page
    assert f'name="deactivate" value="{leaver.pk}"' in page
    confirm(as_admin, "people_upload", preview)
    leaver.refresh_from_db()
    assert leaver.is_active

    preview = upload(as_admin, "people_upload", text)
    confirm(as_admin, "people_upload", preview, deactivate=[leaver.pk])
    leaver.refresh_from_db()
    assert not leaver.is_active
    assert leaver.history.first().history_change_reason == "caregov.person.deactivated"


def test_a_role_missing_from_the_file_is_removed_after_confirm(as_admin, world, admin):
    person = world.colleague
    text = _people(world, admin).replace(
        f"{person.email},{person.full_name},Care staff,WILLOW,",
        f"{person.email},{person.full_name},Team leader,BEECH,",
    )
    preview = upload(as_admin, "people_upload", text)
    assert len(preview.context["removals"]) == 1 and len(preview.context["grants"]) == 1
    assert person.memberships.get().role == "care_staff"
    confirm(as_admin, "people_upload", preview)
    assert {(m.role, m.service.code) for m in person.memberships.all()} == {
        ("team_leader", "BEECH")
    }


def test_every_bad_people_row_is_named_and_nothing_is_saved(
    as_admin, world, django_capture_on_commit_callbacks
):
    text = PEOPLE_HEADER + (
        "new.one@oakfield.example,New One,Team leader,WILLOW,\n"
        "not-an-email,Someone,Team leader,WILLOW,\n"
        "cara@council.example,Cara,Commissioner,,\n"
        "boss@oakfield.example,Boss,Organisation admin,WILLOW,\n"
        "far@oakfield.example,Far,Care staff,FAR,\n"
        "new.one@oakfield.example,New One,team_leader,willow,\n"
        "odd@oakfield.example,Odd,Wizard,,\n"
        f"{world.stranger.email},Stranger,Care staff,WILLOW,\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(as_admin, "people_upload", text)
    found = problems(response)
    assert any(p.startswith("Row 3, column email: 'not-an-email' is not an email") for p in found)
    assert any(p.startswith("Row 4, column service_code: a commissioner must be") for p in found)
    assert any(p.startswith("Row 5, column service_code: an organisation admin") for p in found)
    assert any(
        p.startswith("Row 6, column service_code: Oakfield Care Group has no service")
        for p in found
    )
    assert any(p.startswith("Row 7, column role:") and "also on row 2" in p for p in found)
    assert any(p.startswith("Row 8, column role: 'Wizard' is not a role") for p in found)
    assert any(p.startswith("Row 9, column email:") and "another organisation" in p for p in found)
    assert not User.objects.filter(email="new.one@oakfield.example").exists()
    assert len(mail.outbox) == 0


def test_the_template_files_hold_a_header_and_an_example_that_passes(as_admin, world):
    for name, columns in (
        ("services_upload_template", bulk.SERVICE_COLUMNS),
        ("people_upload_template", bulk.PEOPLE_COLUMNS),
    ):
        response = as_admin.get(reverse(name))
        assert response["Content-Type"].startswith("text/csv")
        lines = response.content.decode("utf-8-sig").splitlines()
        assert lines[0] == ",".join(columns) and len(lines) == 2
    people = upload(
        as_admin, "people_upload", as_admin.get(reverse("people_upload_template")).content
    )
    assert "People to invite (1)" in people.content.decode()


def test_the_lists_link_to_the_bulk_uploads(as_admin):
    assert reverse("services_upload") in as_admin.get(reverse("service_list")).content.decode()
    assert reverse("people_upload") in as_admin.get(reverse("person_list")).content.decode()


def test_an_upload_not_held_any_more_saves_nothing(as_admin, world):
    response = as_admin.post(
        reverse("services_upload"), {"confirm": "1", "file": "0" * 64, "plan": "x"}, follow=True
    )
    assert "no longer waiting to be confirmed" in response.content.decode()
    assert Service.objects.filter(organisation=world.org).count() == 2


def test_confirming_roles_asks_for_the_password_again_and_keeps_the_ticks(as_admin, world, admin):
    leaver = world.colleague
    text = "".join(
        line for line in _people(world, admin).splitlines(True) if leaver.email not in line
    )
    preview = upload(as_admin, "people_upload", text)
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=True):
        page = confirm(as_admin, "people_upload", preview, deactivate=[leaver.pk])
        assert "Confirm it's you" in page.content.decode()
        assert not User.objects.filter(email="rosa.patel@oakfield.example").exists()
        carried = {
            "confirm": "1",
            "file": preview.context["held"]["sha"],
            "plan": preview.context["plan"].fingerprint,
            "deactivate": [leaver.pk],
            "identity-check": "POST",
            "identity-password": settings.DEMO_PASSWORD,
        }
        as_admin.post(reverse("people_upload"), carried)
    leaver.refresh_from_db()
    assert not leaver.is_active
    assert User.objects.filter(email="rosa.patel@oakfield.example").exists()


# Access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["services_upload", "services_upload_template", "people_upload", "people_upload_template"],
)
def test_a_team_leader_cannot_upload(client, world, name):
    client.force_login(world.user(Role.TEAM_LEADER))
    assert client.get(reverse(name)).status_code == 403
    response = client.post(
        reverse(name), {"file": SimpleUploadedFile("x.csv", GOOD_SERVICES.encode())}
    )
    assert response.status_code in (403, 405)
    assert not Service.objects.filter(code="OAK").exists()


def test_the_upload_forms_need_their_csrf_token(world, admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    for name in ("services_upload", "people_upload"):
        page = client.get(reverse(name)).content.decode()
        assert 'name="csrfmiddlewaretoken"' in page
        response = client.post(
            reverse(name), {"file": SimpleUploadedFile("x.csv", GOOD_SERVICES.encode())}
        )
        assert response.status_code == 403
    assert not Service.objects.filter(code="OAK").exists()
