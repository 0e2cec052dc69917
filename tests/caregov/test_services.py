"""Services: their details, their phase and the history of both."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from caregov import services
from caregov.access import Role
from caregov.models import Service


def test_changing_the_phase_records_the_date_and_who_did_it(world):
    admin = world.user(Role.ORG_ADMIN)
    service = services.service_update(
        actor=admin, service=world.service_a, phase=Service.Phase.STABILISED
    )
    assert service.phase_changed_on == timezone.localdate()
    latest = service.history.first()
    assert latest.history_user == admin
    assert latest.history_change_reason == "caregov.service.phase_changed"
    assert service.history.filter(phase=Service.Phase.ROLLOUT).exists()


def test_a_service_code_is_unique_within_the_provider(world):
    with pytest.raises(ValidationError) as error:
        services.service_create(
            actor=world.user(Role.ORG_ADMIN),
            organisation=world.org,
            name="Copy",
            code="willow",
            service_type=Service.Type.CARE_HOME,
            address_line_1="1 Road",
            town="York",
            postcode="YO1 1AA",
        )
    assert "already uses the code WILLOW" in str(error.value)


def test_the_registered_manager_must_belong_to_the_provider(world):
    with pytest.raises(ValidationError):
        services.service_update(
            actor=world.user(Role.ORG_ADMIN),
            service=world.service_a,
            registered_manager=world.stranger,
        )


def test_the_edit_form_keeps_what_was_typed_and_saves_nothing_on_error(client, world):
    client.force_login(world.user(Role.ORG_ADMIN))
    response = client.post(
        reverse("service_edit", args=[world.service_a.pk]),
        {
            "name": "Willow House Renamed",
            "code": "BEECH",
            "service_type": "care_home",
            "address_line_1": "1 High Street",
            "town": "York",
            "postcode": "yo1 1aa",
            "phase": "rollout",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert 'value="Willow House Renamed"' in page
    world.service_a.refresh_from_db()
    assert world.service_a.name == "Willow House"


def test_the_history_page_says_who_changed_what_in_plain_words(client, world):
    admin = world.user(Role.ORG_ADMIN)
    services.service_update(actor=admin, service=world.service_a, phase=Service.Phase.STABILISED)
    client.force_login(world.user(Role.QUALITY_LEAD))
    page = client.get(reverse("service_history", args=[world.service_a.pk])).content.decode()
    assert "Implementation phase changed" in page
    assert "Rollout" in page and "Stabilised" in page
    assert admin.full_name in page


def test_my_work_shows_my_roles_and_services_and_nothing_else(client, world):
    client.force_login(world.user(Role.TEAM_LEADER))
    page = client.get(reverse("home")).content.decode()
    assert "Team leader" in page
    assert "Willow House" in page
    assert "Beech Court" not in page and "Far Away" not in page


def test_dates_are_written_the_uk_way(client, world):
    Service.objects.filter(pk=world.service_a.pk).update(phase_changed_on="2026-11-22")
    client.force_login(world.user(Role.TEAM_LEADER))
    assert (
        "22 Nov 2026"
        in client.get(reverse("service_detail", args=[world.service_a.pk])).content.decode()
    )
