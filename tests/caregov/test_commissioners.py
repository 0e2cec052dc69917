"""Commissioners read what is theirs to see (issue 13, section 6): the assurance figures of the
services they commission, never the staff-level records behind them (audits with the support
each member of staff needs, staff tests, practice gaps) nor who works at the service."""

import pytest
from django.urls import reverse

from caregov.access import Role
from tests.factories import person_with_role


@pytest.fixture
def commissioner(client, world):
    client.force_login(world.user(Role.COMMISSIONER))
    return world.user(Role.COMMISSIONER)


def _audit(world):
    audit = world.record("audit", world.service_a)
    record = audit.records.get()
    # Which member of staff needs supervision: a staff-level support record.
    record.support_need = record.Need.SUPERVISION
    record.support_staff = "Night senior SN-114"
    record.save()
    return audit


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("assurance:audit_list", lambda a: {}),
        ("assurance:audit_detail", lambda a: {"pk": a.pk}),
        ("assurance:audit_history", lambda a: {"pk": a.pk}),
        ("assurance:audit_record", lambda a: {"pk": a.pk, "position": 1}),
    ],
)
def test_a_commissioner_cannot_open_the_audits_of_the_service_they_commission(
    client, world, commissioner, name, kwargs
):
    audit = _audit(world)
    response = client.get(reverse(name, kwargs=kwargs(audit)))
    assert response.status_code in {403, 404}
    assert "SN-114" not in response.content.decode()


def test_a_registered_manager_still_opens_the_audits_of_their_service(client, world):
    audit = _audit(world)
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    assert client.get(reverse("assurance:audit_list")).status_code == 200
    assert client.get(reverse("assurance:audit_detail", args=[audit.pk])).status_code == 200


def test_the_audits_menu_item_is_not_offered_to_a_commissioner(client, world, commissioner):
    page = client.get(reverse("assurance:overview")).content.decode()
    assert reverse("assurance:audit_list") not in page


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("workflows:gap_list", lambda w: {}),
        ("workflows:gap_detail", lambda w: {"pk": w.record("wf_gap", w.service_a).pk}),
        ("workflows:version_tests", lambda w: {"pk": w.record("wf_under_test", w.service_a).pk}),
        (
            "workflows:version_history",
            lambda w: {"pk": w.record("wf_under_test", w.service_a).pk},
        ),
    ],
)
def test_a_commissioner_cannot_open_staff_tests_or_practice_gaps(
    client, world, commissioner, name, kwargs
):
    assert client.get(reverse(name, kwargs=kwargs(world))).status_code == 403


def test_the_service_page_shows_a_commissioner_the_service_and_no_staff_names(
    client, world, commissioner
):
    senior = person_with_role(
        Role.QUALITY_LEAD, organisation=world.org, full_name="Gwen Harrow", email="gwen@o.example"
    )
    person_with_role(
        Role.TEAM_LEADER, service=world.service_a, full_name="Tariq Bello", email="tb@o.example"
    )
    from caregov.models import Service
    from caregov.services.organisation import service_update

    admin = world.user(Role.ORG_ADMIN)
    admin.full_name = "Dana Whitlock"
    admin.save()
    service = world.service_a
    service_update(actor=admin, service=service, phase=Service.Phase.STABILISED)
    page = client.get(reverse("service_detail", args=[service.pk])).content.decode()
    assert "Willow House" in page
    assert "Gwen Harrow" not in page
    assert "Tariq Bello" not in page
    assert "Dana Whitlock" not in page
    assert "People with a role here" not in page
    # Those who work for the provider still see who holds a role there.
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    page = client.get(reverse("service_detail", args=[service.pk])).content.decode()
    assert "Gwen Harrow" in page and "Tariq Bello" in page
    assert senior.full_name in page and "by Dana Whitlock" in page


def test_the_months_figures_tell_a_commissioner_an_audit_was_done_without_opening_it(
    client, world, commissioner
):
    from assurance.models import Audit

    audit = _audit(world)
    Audit.objects.filter(pk=audit.pk).update(status=Audit.Status.SUBMITTED)
    url = reverse("assurance:service_month", args=[world.service_a.pk, "2026-10"])
    page = client.get(url).content.decode()
    assert "The provider audited records for October 2026" in page
    assert audit.get_absolute_url() not in page
    assert str(audit.started_by) not in page
