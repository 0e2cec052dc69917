"""Owner pickers offer only the people who can act on the record, named with their role and
service, and the services refuse anyone else however the choice arrives (issue 13, sections 6
and 7)."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from caregov import selectors
from caregov.access import Role
from caregov.governance_forms import PersonChoiceField
from caregov.models import Action, Membership
from caregov.services import governance as gov
from tests.factories import person_with_role


@pytest.fixture
def named(world):
    """People with names to look for, at Willow House (A), Beech Court (B) and across the
    organisation."""
    a, b = world.service_a, world.service_b
    people = {
        "asha": person_with_role(
            Role.REGISTERED_MANAGER, service=a, full_name="Asha Patel", email="asha@o.example"
        ),
        "tom": person_with_role(
            Role.TEAM_LEADER, service=a, full_name="Tom Reyes", email="tom@o.example"
        ),
        "gwen": person_with_role(
            Role.QUALITY_LEAD, organisation=world.org, full_name="Gwen Harrow", email="g@o.example"
        ),
        "bella": person_with_role(
            Role.TEAM_LEADER, service=b, full_name="Bella Quinn", email="bella@o.example"
        ),
        "carl": person_with_role(
            Role.COMMISSIONER, service=a, full_name="Carl Ames", email="carl@council.example"
        ),
        "cora": person_with_role(
            Role.CARE_STAFF, service=a, full_name="Cora Lund", email="cora@o.example"
        ),
        "bob": person_with_role(
            Role.BOARD_MEMBER, organisation=world.org, full_name="Bob Sands", email="b@o.example"
        ),
    }
    # Two memberships: organisation-wide project lead, and registered manager here.
    people["dev"] = person_with_role(
        Role.PROJECT_LEAD, organisation=world.org, full_name="Dev Okafor", email="dev@o.example"
    )
    Membership.objects.create(
        user=people["dev"], organisation=world.org, role=Role.REGISTERED_MANAGER, service=a
    )
    return people


def _options(page: str) -> list[str]:
    """The owner picker's choices, as the person reading the page sees them."""
    select = re.search(r'<select name="owner".*?</select>', page, re.S).group(0)
    return [
        label.strip()
        for value, label in re.findall(r'<option value="(\d*)"[^>]*>(.*?)</option>', select)
        if value
    ]


def test_a_team_leaders_action_offers_no_commissioner_and_nobody_from_another_service(
    client, world, named
):
    escalation = world.record("escalation", world.service_a)
    client.force_login(named["tom"])
    page = client.get(reverse("escalation_action_raise", args=[escalation.pk])).content.decode()
    options = _options(page)
    names = " ".join(options)
    assert "Asha Patel — Registered manager, Willow House" in options
    assert "Tom Reyes — Team leader, Willow House" in options
    assert "Gwen Harrow — Quality lead, whole organisation" in options
    for nobody in ("Carl Ames", "Bella Quinn", "Cora Lund", "Bob Sands"):
        assert nobody not in names, nobody


def test_the_owner_list_puts_this_services_people_first_then_the_organisations_by_name(
    world, named
):
    escalation = world.record("escalation", world.service_a)
    field = PersonChoiceField(queryset=selectors.people_who_can_act("actions.manage", escalation))
    labels = [label for value, label in field.choices if value]
    here = [label for label in labels if label.endswith("Willow House")]
    there = [label for label in labels if label.endswith("whole organisation")]
    assert labels == here + there
    assert here == sorted(here) and there == sorted(there)
    assert len(there) > 0 and len(here) > 0


def test_a_person_with_two_roles_is_offered_once_in_the_role_they_hold_here(world, named):
    escalation = world.record("escalation", world.service_a)
    people = selectors.people_who_can_act("actions.manage", escalation)
    labels = [label for value, label in PersonChoiceField(queryset=people).choices if value]
    assert [label for label in labels if "Dev Okafor" in label] == [
        "Dev Okafor — Registered manager, Willow House"
    ]
    assert len(people) == len({p.pk for p in people})


def test_an_escalation_can_be_given_only_to_those_who_manage_escalations_there(world, named):
    escalation = world.record("escalation", world.service_a)
    people = set(selectors.people_who_can_act("escalations.manage", escalation))
    assert named["asha"] in people and named["gwen"] in people
    # Team leaders raise and work actions; escalations are for managers.
    assert named["tom"] not in people
    assert named["carl"] not in people and named["bella"] not in people


def test_an_organisation_wide_action_is_offered_to_organisation_wide_people_only(world, named):
    people = set(
        selectors.people_who_can_act("actions.manage", organisation=world.org, service=None)
    )
    assert named["gwen"] in people and named["dev"] in people
    assert named["asha"] not in people and named["tom"] not in people


def test_posting_a_commissioner_as_owner_is_refused_and_nothing_is_saved(client, world, named):
    escalation = world.record("escalation", world.service_a)
    client.force_login(named["tom"])
    before = Action.objects.count()
    response = client.post(
        reverse("escalation_action_raise", args=[escalation.pk]),
        {
            "title": "Check the night notes",
            "owner": named["carl"].pk,
            "due_on": (timezone.localdate() + timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose someone from the list: it offers only the people who can act" in page
    assert "Check the night notes" in page  # what was typed is kept
    assert Action.objects.count() == before


def test_posting_a_team_leader_of_another_service_as_assignee_is_refused(client, world, named):
    escalation = world.record("escalation", world.service_a)
    client.force_login(named["gwen"])
    response = client.post(
        reverse("escalation_assign", args=[escalation.pk]), {"owner": named["bella"].pk}
    )
    assert response.status_code == 200
    assert "Choose someone from the list" in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.owner_id is None


@pytest.mark.parametrize("who", ["carl", "cora", "bella", "bob"])
def test_the_service_refuses_an_owner_who_cannot_act_on_the_action_there(world, named, who):
    escalation = world.record("escalation", world.service_a)
    before = Action.objects.count()
    with pytest.raises(ValidationError) as refused:
        gov.action_raise(
            actor=named["asha"],
            title="Check the night notes",
            owner=named[who],
            due_on=timezone.localdate() + timedelta(days=7),
            escalation=escalation,
        )
    message = refused.value.message_dict["owner"][0]
    assert message == (
        f"{named[who]} cannot be the owner: they hold no role that works on actions at "
        "Willow House. Choose someone from the list."
    )
    assert Action.objects.count() == before


def test_the_service_refuses_a_commissioner_as_an_escalations_owner(world, named):
    escalation = world.record("escalation", world.service_a)
    with pytest.raises(ValidationError, match="no role that works on escalations"):
        gov.escalation_assign(actor=named["gwen"], escalation=escalation, owner=named["carl"])
    escalation.refresh_from_db()
    assert escalation.owner_id is None


def test_the_service_accepts_the_people_the_picker_offers(world, named):
    escalation = world.record("escalation", world.service_a)
    for person in selectors.people_who_can_act("actions.manage", escalation):
        action = gov.action_raise(
            actor=named["asha"],
            title="Check the night notes",
            owner=person,
            due_on=timezone.localdate() + timedelta(days=7),
            escalation=escalation,
        )
        assert action.owner == person


def test_an_audits_action_picker_names_role_and_service_and_offers_no_commissioner(
    client, world, named
):
    audit = world.record("audit", world.service_a)
    client.force_login(named["asha"])
    page = client.get(reverse("assurance:audit_check_action", args=[audit.pk, 1])).content
    options = _options(page.decode())
    assert "Tom Reyes — Team leader, Willow House" in options
    assert not any("Carl Ames" in o or "Bella Quinn" in o for o in options)


def test_a_comparisons_action_picker_offers_who_can_act_at_any_service_and_refuses_the_rest(
    client, world, named
):
    comparison = world.record("comparison", world.service_a)
    client.force_login(named["gwen"])
    url = reverse("assurance:compare_action", args=[comparison.pk])
    options = _options(client.get(url).content.decode())
    assert "Bella Quinn — Team leader, Beech Court" in options
    assert "Asha Patel — Registered manager, Willow House" in options
    assert not any("Carl Ames" in o or "Cora Lund" in o for o in options)
    before = Action.objects.count()
    response = client.post(
        url,
        {
            "title": "Share the Beech Court handover sheet",
            "service": world.service_a.pk,
            "owner": named["bella"].pk,
            "due_on": (timezone.localdate() + timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert "Bella Quinn cannot be the owner" in response.content.decode()
    assert Action.objects.count() == before
