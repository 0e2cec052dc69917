"""Reads, already scoped to what the asking person may see."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from caregov import access
from caregov.models import Membership, SecurityEvent, Service, User


def service_list(*, user: User, capability: str = "services.view") -> QuerySet[Service]:
    return access.services_where(user, capability).select_related(
        "organisation", "registered_manager"
    )


def service_people(*, service: Service) -> QuerySet[Membership]:
    """Who holds a role at this service, directly or across its organisation."""
    from django.db.models import Q

    return (
        Membership.objects.filter(
            Q(service=service) | Q(service__isnull=True, organisation_id=service.organisation_id),
            user__is_active=True,
        )
        .select_related("user", "service")
        .order_by("role", "user__full_name")
    )


def person_list(*, user: User) -> QuerySet[User]:
    org_ids = access.organisation_ids_where(user, "people.view")
    return (
        User.objects.filter(organisation_id__in=org_ids)
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("service"))
        )
        .order_by("full_name", "email")
    )


def security_event_list(*, user: User) -> QuerySet[SecurityEvent]:
    org_ids = access.organisation_ids_where(user, "security.view")
    return SecurityEvent.objects.filter(organisation_id__in=org_ids).select_related("user")


def my_memberships(*, user: User) -> list[Membership]:
    return access.memberships_of(user)
