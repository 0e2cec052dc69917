from datetime import UTC, datetime

import factory
from django.conf import settings

from caregov.access import Role
from caregov.models import Membership, Organisation, Service, User

SINCE = datetime(2024, 1, 1, tzinfo=UTC)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Provider {n}")
    slug = factory.Sequence(lambda n: f"provider-{n}")
    #: Test providers and services have been on caregov since 2024 unless a test says otherwise,
    #: so a scheduler replayed in 2025 or 2026 finds them there.
    created_at = SINCE


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    code = factory.Sequence(lambda n: f"SVC{n}")
    service_type = Service.Type.CARE_HOME
    address_line_1 = "1 High Street"
    town = "York"
    postcode = "YO1 1AA"
    phase = Service.Phase.ROLLOUT
    created_at = SINCE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    organisation = factory.SubFactory(OrganisationFactory)
    password = factory.PostGenerationMethodCall("set_password", settings.DEMO_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.LazyAttribute(lambda m: m.user.organisation)
    role = Role.TEAM_LEADER
    service = None


def person_with_role(role: Role, *, organisation=None, service=None, **fields) -> User:
    organisation = organisation or (service.organisation if service else OrganisationFactory())
    user = UserFactory(organisation=organisation, **fields)
    MembershipFactory(user=user, organisation=organisation, role=role, service=service)
    return user
