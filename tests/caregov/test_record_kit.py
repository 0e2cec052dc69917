"""The record kit (caregov.records), through its worked example (tests/recordkit): one declaration
gives a kind scoped records, a form that offers only what its user may choose, pages, a CSV and
history, and a service that makes a record once however often it is sent."""

import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from caregov import records
from caregov.access import Role
from caregov.views.records import kind_urls
from tests.recordkit.kinds import CHECKS
from tests.recordkit.models import DeviceCheck
from tests.recordkit.services import device_check_record

pytestmark = pytest.mark.django_db


def _check(world, service, device, *, working=True, note="", checked_on=date(2026, 11, 2)):
    return DeviceCheck.objects.create(
        organisation=service.organisation,
        service=service,
        device=device,
        checked_on=checked_on,
        working=working,
        note=note,
        recorded_by=world.user(Role.OPERATIONS_DIRECTOR),
    )


def _form(service, **changes):
    data = {
        "service": service.pk,
        "device": "Lounge 2",
        "checked_on": "2026-11-20",
        "working": "on",
        "note": "",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_declared_kind_is_known_to_the_kernel():
    assert records.kind_for("recordkit.check") is CHECKS
    assert CHECKS in records.kinds()
    names = [p.name for p in kind_urls(CHECKS)]
    assert names == ["check_list", "check_new", "check_detail", "check_history", "check_edit"]


def test_a_manager_sees_only_the_checks_of_their_own_service(world):
    willow = _check(world, world.service_a, "Willow tablet")
    beech = _check(world, world.service_b, "Beech tablet")
    far = _check(world, world.service_c, "Far tablet")
    manager = world.user(Role.REGISTERED_MANAGER)
    director = world.user(Role.OPERATIONS_DIRECTOR)

    assert set(CHECKS.restrict(manager)) >= {willow}
    assert beech not in CHECKS.restrict(manager) and far not in CHECKS.restrict(manager)
    assert {willow, beech} <= set(CHECKS.restrict(director))
    assert far not in CHECKS.restrict(director)


def test_a_role_without_the_capability_is_refused_outright(world):
    with pytest.raises(PermissionDenied):
        CHECKS.restrict(world.user(Role.CARE_STAFF))
    # A digital champion may see checks but not record or change them.
    champion = world.user(Role.DIGITAL_CHAMPION)
    assert CHECKS.restrict(champion).exists()
    with pytest.raises(PermissionDenied):
        CHECKS.restrict(champion, "record")


def test_the_form_offers_only_the_services_where_its_user_records(world):
    manager_form = CHECKS.form(world.user(Role.REGISTERED_MANAGER))
    assert list(manager_form.fields["service"].queryset) == [world.service_a]
    director_form = CHECKS.form(world.user(Role.OPERATIONS_DIRECTOR))
    offered = set(director_form.fields["service"].queryset)
    assert offered == {world.service_a, world.service_b}


def test_a_manager_records_a_check_and_finds_it_in_the_list_and_its_csv(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    response = client.post(reverse("recordkit:check_new"), _form(world.service_a))
    check = DeviceCheck.objects.get(device="Lounge 2")
    assert response.status_code == 302
    assert response["Location"] == reverse("recordkit:check_detail", args=[check.pk])
    assert check.recorded_by == world.user(Role.REGISTERED_MANAGER)
    assert check.organisation == world.org
    assert check.history.get().history_change_reason == "recordkit.check.recorded"

    listing = client.get(reverse("recordkit:check_list")).content.decode()
    assert "Lounge 2" in listing and "Willow House" in listing
    download = client.get(reverse("recordkit:check_list") + "?format=csv")
    assert download["Content-Type"].startswith("text/csv")
    lines = download.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:4] == ["Checked on", "Device", "Service", "Working"]
    assert any("Lounge 2" in line and "Willow House" in line for line in lines[1:])


def test_sending_the_same_form_twice_makes_one_check(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    data = _form(world.service_a)
    first = client.post(reverse("recordkit:check_new"), data)
    second = client.post(reverse("recordkit:check_new"), data)
    assert DeviceCheck.objects.filter(device="Lounge 2").count() == 1
    assert first["Location"] == second["Location"]


def test_another_persons_key_is_refused_and_writes_nothing(world):
    key = uuid.uuid4()
    fields = {
        "organisation": world.org,
        "service": world.service_a,
        "device": "Lounge 2",
        "checked_on": date(2026, 11, 20),
        "working": True,
        "idempotency_key": key,
    }
    device_check_record(actor=world.user(Role.REGISTERED_MANAGER), **fields)
    with pytest.raises(PermissionDenied):
        device_check_record(actor=world.user(Role.OPERATIONS_DIRECTOR), **fields)
    assert DeviceCheck.objects.filter(idempotency_key=key).count() == 1


def test_the_service_checks_the_actor_as_well_as_the_page(world):
    """A digital champion can open the list but the service refuses their record, and a manager
    cannot record at a service that is not theirs."""
    with pytest.raises(PermissionDenied):
        device_check_record(
            actor=world.user(Role.DIGITAL_CHAMPION),
            organisation=world.org,
            service=world.service_a,
            device="Lounge 2",
            checked_on=date(2026, 11, 20),
            working=True,
        )
    with pytest.raises(PermissionDenied):
        device_check_record(
            actor=world.user(Role.REGISTERED_MANAGER),
            organisation=world.org,
            service=world.service_b,
            device="Lounge 2",
            checked_on=date(2026, 11, 20),
            working=True,
        )
    assert not DeviceCheck.objects.filter(device="Lounge 2").exists()


def test_a_service_outside_the_users_scope_is_refused_by_the_form(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    for service in (world.service_b, world.service_c):
        response = client.post(reverse("recordkit:check_new"), _form(service))
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    assert not DeviceCheck.objects.filter(device="Lounge 2").exists()


def test_a_refused_check_keeps_what_was_typed_and_saves_nothing(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    typed = _form(world.service_a, device="Kitchen tablet", working=None, note="")
    response = client.post(reverse("recordkit:check_new"), typed)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Say what did not work." in page
    assert 'value="Kitchen tablet"' in page
    future = _form(world.service_a, device="Kitchen tablet", checked_on="2026-12-25")
    page = client.post(reverse("recordkit:check_new"), future).content.decode()
    assert "A check cannot be dated in the future." in page
    assert not DeviceCheck.objects.filter(device="Kitchen tablet").exists()


def test_the_list_filters_and_offers_only_the_users_services(client, world):
    _check(world, world.service_a, "Hall tablet", working=False, note="Will not sync")
    _check(world, world.service_a, "Office tablet")
    client.force_login(world.user(Role.OPERATIONS_DIRECTOR))
    page = client.get(reverse("recordkit:check_list") + "?working=false").content.decode()
    assert "Hall tablet" in page and "Office tablet" not in page
    page = client.get(reverse("recordkit:check_list")).content.decode()
    assert "Beech Court" in page and "Far Away" not in page


def test_a_manager_changes_a_check_and_its_history_says_so(client, world):
    check = _check(world, world.service_a, "Hall tablet")
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    edit = reverse("recordkit:check_edit", args=[check.pk])
    form = client.get(edit).content.decode()
    assert 'value="Hall tablet"' in form
    data = _form(world.service_a, device="Hall tablet", working=None, note="Screen cracked")
    assert client.post(edit, data).status_code == 302
    check.refresh_from_db()
    assert not check.working and check.note == "Screen cracked"
    reasons = [h.history_change_reason for h in check.history.order_by("history_id")]
    assert reasons[-1] == "recordkit.check.changed"
    history = client.get(reverse("recordkit:check_history", args=[check.pk]))
    assert history.status_code == 200 and "Screen cracked" in history.content.decode()


def test_another_services_check_is_not_found_for_a_manager(client, world):
    beech = _check(world, world.service_b, "Beech tablet")
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    for page in ("check_detail", "check_history", "check_edit"):
        assert client.get(reverse(f"recordkit:{page}", args=[beech.pk])).status_code == 404


def test_the_worked_example_has_all_its_migrations():
    """The example's tables come from its migrations (PostgreSQL cannot make them before the
    kernel's), so its migrations must say what its models say."""
    from django.core.management import call_command

    call_command("makemigrations", "recordkit", "--check", "--dry-run", verbosity=0)


ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "adding-a-record-type.md"
#: What a new plain record type writes by hand, as the guide counts it.
EXAMPLE_FILES = ("models.py", "services.py", "kinds.py", "urls.py", "test_rules.py")
CAPABILITY_LINES = 2


def test_every_block_the_guide_quotes_is_still_in_its_file():
    blocks = re.findall(r"```python\n# (\S+)\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 5
    for path, text in blocks:
        assert text.strip() in (ROOT / path).read_text(), f"the guide's {path} has changed"


def test_a_new_plain_record_type_takes_at_most_six_files_and_150_lines():
    lines = sum(
        len((ROOT / "tests" / "recordkit" / name).read_text().splitlines())
        for name in EXAMPLE_FILES
    )
    files = len(EXAMPLE_FILES) + 1  # and caregov/access.py's two capabilities
    assert files <= 6 and lines + CAPABILITY_LINES <= 150, (files, lines + CAPABILITY_LINES)
    assert f"gives {lines} lines in five files" in GUIDE.read_text()
    assert f"{lines + CAPABILITY_LINES} lines" in GUIDE.read_text()


def test_the_new_page_chooses_the_only_service_and_asks_dates_with_a_date_picker(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    page = client.get(reverse("recordkit:check_new")).content.decode()
    assert re.search(rf'<option value="{world.service_a.pk}" selected>Willow House', page)
    assert re.search(r'<input type="date" name="checked_on"', page)
    client.force_login(world.user(Role.OPERATIONS_DIRECTOR))
    page = client.get(reverse("recordkit:check_new")).content.decode()
    assert "selected>Willow House" not in page and "selected>Beech Court" not in page


def test_a_yes_or_no_filter_offers_any_yes_and_no(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    page = client.get(reverse("recordkit:check_list")).content.decode()
    working = re.search(r'<select name="working".*?</select>', page, flags=re.DOTALL).group(0)
    assert re.findall(r">(\w+)</option>", working) == ["Any", "Yes", "No"]
