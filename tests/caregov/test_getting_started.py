"""The getting-started checklist on My work: seven steps a new organisation takes, ticked from its
records, shown to the organisation admin and the data quality lead until every one is done."""

import html
import re
from datetime import date, datetime
from functools import cached_property
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assurance import services as assurance_services
from assurance.models import Audit, EcmImport, ThresholdVersion
from caregov.access import Role
from caregov.getting_started import checklist_for
from caregov.models import Organisation, ReviewCycle, User
from reporting.models import Pack
from tests.factories import OrganisationFactory, ServiceFactory, person_with_role

LONDON = ZoneInfo("Europe/London")
#: The moment the records in these tests are made: the Monday of the suite's week.
MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=LONDON)
STEPS = [
    "caregov.services",
    "caregov.people",
    "assurance.thresholds",
    "assurance.first_exports",
    "assurance.first_audit",
    "caregov.monthly_review",
    "reporting.first_board_pack",
]


def text(response) -> str:
    """The page as a reader hears it: tags removed, spaces collapsed."""
    page = re.sub(r"<script.*?</script>", "", response.content.decode(), flags=re.S)
    page = re.sub(r"</?(td|th|tr|li|p|div|dt|dd|h\d|br|caption|summary)\b[^>]*>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def checklist_section(response) -> str:
    page = response.content.decode()
    found = re.search(r'<section class="section getting-started".*?</section>', page, flags=re.S)
    return found.group(0) if found else ""


class NewOrganisation:
    """A provider that has just started on caregov: its admin, alone until a test invites its
    data quality lead."""

    def __init__(self):
        self.org = OrganisationFactory(name="Hollybank Care", created_at=MONDAY)
        self.admin = person_with_role(
            Role.ORG_ADMIN, organisation=self.org, email="admin@hollybank.example"
        )

    @cached_property
    def data_quality_lead(self):
        return person_with_role(
            Role.DATA_QUALITY_LEAD, organisation=self.org, email="dq@hollybank.example"
        )

    def service(self, name: str, code: str):
        return ServiceFactory(organisation=self.org, name=name, code=code, created_at=MONDAY)

    def imported(self, service):
        return EcmImport.objects.create(
            organisation=self.org,
            service=service,
            period_start=date(2026, 10, 1),
            file_name="october.csv",
            sha256=f"{service.pk:064d}",
            status=EcmImport.Status.IMPORTED,
            uploaded_by=self.data_quality_lead,
            created_at=MONDAY,
        )

    def everything_done(self):
        """Every step's record: a service with its export, a team leader, a threshold review, a
        submitted audit, a signed-off monthly review and a built board pack."""
        willow = self.service("Willow House", "WILLOW")
        self.imported(willow)
        team_leader = person_with_role(Role.TEAM_LEADER, organisation=self.org, service=willow)
        assurance_services.thresholds_review_confirm(
            actor=self.data_quality_lead, organisation=self.org, at=MONDAY
        )
        submitted_audit(self.org, willow, team_leader)
        signed_off_review(self.org, willow, team_leader)
        built_pack(self.org)
        return willow

    def steps(self, user=None) -> dict:
        checklist = checklist_for(user=user or self.admin)
        return {item.step.code: item for item in checklist.items}


def submitted_audit(org, service, person):
    return Audit.objects.create(
        organisation=org,
        service=service,
        period_start=date(2026, 10, 1),
        status=Audit.Status.SUBMITTED,
        started_by=person,
        started_at=MONDAY,
        submitted_by=person,
        submitted_at=MONDAY,
    )


def signed_off_review(org, service, person, cadence="monthly"):
    return ReviewCycle.objects.create(
        kind="assurance.trend_review",
        organisation=org,
        service=service,
        cadence=cadence,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        body="registered_manager",
        due_on=date(2026, 11, 7),
        status=ReviewCycle.Status.SIGNED_OFF,
        signed_off_at=MONDAY,
        signed_off_by=person,
        decision="Keep going.",
        minutes="Reviewed the October figures.",
    )


def built_pack(org, status=Pack.Status.BUILT):
    return Pack.objects.create(
        organisation=org,
        kind="board",
        period_start=date(2026, 7, 1),
        period_end=date(2026, 9, 30),
        status=status,
        built_at=MONDAY if status == Pack.Status.BUILT else None,
    )


@pytest.fixture
def new_org(db):
    return NewOrganisation()


# What a new organisation sees ------------------------------------------------------------------


def test_a_new_organisation_admin_sees_every_step_to_do_with_links_to_their_own(client, new_org):
    client.force_login(new_org.admin)
    response = client.get(reverse("home"))
    section = checklist_section(response)
    words = text(response)
    assert "Getting started" in words
    assert "0 of 7 steps done." in words
    assert section.count("To do") == 7 and "Done" not in section
    assert f'href="{reverse("service_list")}"' in section
    assert f'href="{reverse("person_invite")}"' in section
    # The admin cannot open the data assurance pages: the step says who does it instead.
    assert reverse("assurance:framework") not in section
    assert "The data quality lead reviews and confirms them." in words
    assert "A senior leader, the operations director or the quality lead builds it." in words


def test_the_data_quality_lead_gets_links_to_the_pages_where_their_steps_are_done(client, new_org):
    client.force_login(new_org.data_quality_lead)
    section = checklist_section(client.get(reverse("home")))
    for url_name in (
        "service_list",
        "assurance:framework",
        "assurance:import_new",
        "assurance:audit_new",
        "review_list",
        "reporting:pack_list",
    ):
        assert f'href="{reverse(url_name)}"' in section, url_name
    # Inviting people is the admin's: done here (the lead was invited), with no link for them.
    assert reverse("person_invite") not in section
    assert "1 of 7 steps done." in section


def test_the_steps_come_in_the_order_a_provider_takes_them(new_org):
    assert list(new_org.steps()) == STEPS


@pytest.mark.parametrize("role", [Role.TEAM_LEADER, Role.QUALITY_LEAD, Role.BOARD_MEMBER])
def test_other_roles_never_see_the_checklist(client, new_org, role):
    service = new_org.service("Willow House", "WILLOW")
    person = person_with_role(
        role, organisation=new_org.org, service=service if role == Role.TEAM_LEADER else None
    )
    client.force_login(person)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Getting started" not in text(response)
    assert checklist_for(user=person) is None


def test_an_admin_elsewhere_sees_their_own_organisations_steps_not_these(client, new_org):
    elsewhere = OrganisationFactory(name="Elsewhere Care")
    other_admin = person_with_role(Role.ORG_ADMIN, organisation=elsewhere)
    client.force_login(other_admin)
    section = checklist_section(client.get(reverse("home")))
    # Their own organisation's checklist, not Hollybank's.
    assert "0 of 7 steps done." in section
    new_org.everything_done()
    assert "0 of 7 steps done." in checklist_section(client.get(reverse("home")))


# Each step ticks itself from the records -------------------------------------------------------


def test_services_added_ticks_once_the_organisation_has_an_active_service(new_org):
    assert not new_org.steps()["caregov.services"].progress.done
    closed = new_org.service("Old Lodge", "OLD")
    closed.is_active = False
    closed.save()
    assert not new_org.steps()["caregov.services"].progress.done
    new_org.service("Willow House", "WILLOW")
    step = new_org.steps()["caregov.services"].progress
    assert step.done and step.detail == "1 service added."


def test_people_invited_ticks_once_someone_besides_the_admins_has_a_login(new_org):
    person_with_role(Role.ORG_ADMIN, organisation=new_org.org)  # a second admin is not a team
    assert not new_org.steps()["caregov.people"].progress.done
    service = new_org.service("Willow House", "WILLOW")
    person_with_role(Role.TEAM_LEADER, organisation=new_org.org, service=service)
    step = new_org.steps()["caregov.people"].progress
    assert step.done and step.detail == "1 person besides the organisation admins."


def test_a_deactivated_login_does_not_count_as_invited(new_org):
    lead = new_org.data_quality_lead
    assert new_org.steps()["caregov.people"].progress.done
    lead.is_active = False
    lead.save()
    assert not new_org.steps()["caregov.people"].progress.done


def test_thresholds_reviewed_ticks_when_the_data_quality_lead_confirms_them(new_org):
    assert not new_org.steps()["assurance.thresholds"].progress.done
    assurance_services.thresholds_review_confirm(
        actor=new_org.data_quality_lead, organisation=new_org.org, at=MONDAY
    )
    step = new_org.steps()["assurance.thresholds"].progress
    assert step.done
    assert step.detail == f"Confirmed by {new_org.data_quality_lead} on 23 Nov 2026."


def test_thresholds_reviewed_ticks_when_the_organisation_sets_its_own(new_org):
    ThresholdVersion.objects.create(
        organisation=new_org.org,
        measure="completeness",
        effective_from=date(2026, 11, 1),
        target=95,
        green_from=95,
        amber_from=85,
        reason="Our own target",
        created_by=new_org.data_quality_lead,
        created_at=MONDAY,
    )
    assert new_org.steps()["assurance.thresholds"].progress.done


def test_thresholds_set_by_another_organisation_tick_nothing_here(new_org):
    elsewhere = OrganisationFactory(name="Elsewhere Care")
    lead = person_with_role(Role.DATA_QUALITY_LEAD, organisation=elsewhere)
    assurance_services.thresholds_review_confirm(actor=lead, organisation=elsewhere, at=MONDAY)
    assert not new_org.steps()["assurance.thresholds"].progress.done


def test_first_exports_tick_only_when_every_service_has_one_and_say_which_lack_one(new_org):
    assert new_org.steps()["assurance.first_exports"].progress.detail == "Add your services first."
    willow = new_org.service("Willow House", "WILLOW")
    beech = new_org.service("Beech Court", "BEECH")
    elm = new_org.service("Elm Lodge", "ELM")
    new_org.imported(willow)
    failed = new_org.imported(beech)
    failed.status = EcmImport.Status.FAILED
    failed.save()
    step = new_org.steps()["assurance.first_exports"].progress
    assert not step.done
    assert step.detail == "Still to import: Beech Court and Elm Lodge."
    new_org.imported(beech)
    new_org.imported(elm)
    step = new_org.steps()["assurance.first_exports"].progress
    assert step.done and step.detail == "All 3 services have one."


def test_first_audit_ticks_once_an_audit_is_submitted_not_while_in_progress(new_org):
    willow = new_org.service("Willow House", "WILLOW")
    draft = Audit.objects.create(
        organisation=new_org.org,
        service=willow,
        period_start=date(2026, 10, 1),
        started_by=new_org.data_quality_lead,
        started_at=MONDAY,
    )
    assert not new_org.steps()["assurance.first_audit"].progress.done
    draft.delete()
    submitted_audit(new_org.org, willow, new_org.data_quality_lead)
    step = new_org.steps()["assurance.first_audit"].progress
    assert step.done and step.detail == "Willow House, October 2026."


def test_monthly_review_ticks_once_a_monthly_review_is_signed_off(new_org):
    willow = new_org.service("Willow House", "WILLOW")
    signed_off_review(new_org.org, willow, new_org.data_quality_lead, cadence="quarterly")
    assert not new_org.steps()["caregov.monthly_review"].progress.done
    signed_off_review(new_org.org, willow, new_org.data_quality_lead)
    step = new_org.steps()["caregov.monthly_review"].progress
    assert step.done
    assert step.detail == (
        "Monthly data quality trend review, Willow House, October 2026, signed off 23 Nov 2026."
    )


def test_board_pack_ticks_once_a_board_pack_is_built_not_while_it_builds(new_org):
    built_pack(new_org.org, status=Pack.Status.QUEUED)
    step = new_org.steps()["reporting.first_board_pack"].progress
    assert not step.done and "is being built" in step.detail
    Pack.objects.all().delete()
    built_pack(new_org.org)
    step = new_org.steps()["reporting.first_board_pack"].progress
    assert step.done and step.detail.endswith("ready 23 Nov 2026.")


# Once everything is done ----------------------------------------------------------------------


def test_the_checklist_goes_once_every_step_is_done_and_never_comes_back(client, new_org):
    new_org.everything_done()
    client.force_login(new_org.admin)
    response = client.get(reverse("home"))
    assert "Getting started" not in text(response)
    org = Organisation.objects.get(pk=new_org.org.pk)
    assert org.getting_started_done_at is not None
    assert org.history.first().history_change_reason == "caregov.organisation.getting_started_done"
    # A service added later has no ECM export yet: the checklist still stays away.
    new_org.service("Beech Court", "BEECH")
    assert checklist_for(user=User.objects.get(pk=new_org.admin.pk)) is None
    client.force_login(new_org.data_quality_lead)
    assert "Getting started" not in text(client.get(reverse("home")))


def test_six_of_seven_done_still_shows_the_last_step(client, new_org):
    new_org.everything_done()
    Pack.objects.all().delete()
    client.force_login(new_org.admin)
    section = checklist_section(client.get(reverse("home")))
    assert "6 of 7 steps done." in section
    assert section.count("To do") == 1
    assert Organisation.objects.get(pk=new_org.org.pk).getting_started_done_at is None


@pytest.mark.django_db
def test_the_demo_provider_shows_no_checklist(client):
    call_command("seed_demo", services=2, months=3, seed=1, stdout=StringIO())
    org = Organisation.objects.get(slug="oakfield")
    admin = org.people.get(email="admin@oakfield.example")
    client.force_login(admin)
    assert "Getting started" not in text(client.get(reverse("home")))
    # Its records do the steps themselves; only its first board pack waits for the worker
    # (the tests ask for no scheduled pack).
    org.getting_started_done_at = None
    org.save()
    lead = org.people.get(email="dataquality@oakfield.example")
    undone = [item.step.code for item in checklist_for(user=lead).items if not item.progress.done]
    assert undone == ["reporting.first_board_pack"]


# The home page stays quick --------------------------------------------------------------------


def _home_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return len(queries)


def test_the_checklist_reads_the_same_few_queries_however_many_services(
    client, new_org, django_assert_max_num_queries
):
    new_org.service("Willow House", "WILLOW")
    one_service = _home_queries(client, new_org.admin)
    for n in range(6):
        service = new_org.service(f"Service {n}", f"S{n}")
        new_org.imported(service)
    assert _home_queries(client, new_org.admin) == one_service
    client.force_login(new_org.admin)
    with django_assert_max_num_queries(30):
        client.get(reverse("home"))


def test_the_checklist_adds_at_most_ten_queries_to_the_home_page(client, new_org):
    new_org.service("Willow House", "WILLOW")
    with_checklist = _home_queries(client, new_org.admin)
    new_org.org.getting_started_done_at = MONDAY
    new_org.org.save()
    without = _home_queries(client, new_org.admin)
    assert with_checklist - without <= 10
