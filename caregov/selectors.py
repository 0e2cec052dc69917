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


# Governance kernel -----------------------------------------------------------------------------


def scoped(queryset: QuerySet, *, user: User, capability: str) -> QuerySet:
    """Rows of a service the user may see with `capability`, or organisation-wide rows of an
    organisation where they hold it across the whole organisation."""
    from django.db.models import Q

    services = access.services_where(user, capability).values("pk")
    org_ids = access.organisation_ids_where(user, capability)
    return queryset.filter(
        Q(service__in=services) | Q(service__isnull=True, organisation_id__in=org_ids)
    )


def review_list(*, user: User, capability: str = "reviews.view"):
    from caregov.models import ReviewCycle

    return scoped(
        ReviewCycle.objects.select_related("organisation", "service", "signed_off_by"),
        user=user,
        capability=capability,
    )


def escalation_list(*, user: User, capability: str = "escalations.view"):
    from caregov.models import Escalation

    return scoped(
        Escalation.objects.select_related("organisation", "service", "owner"),
        user=user,
        capability=capability,
    )


def action_list(*, user: User, capability: str = "actions.view"):
    from caregov.models import Action

    return scoped(
        Action.objects.select_related("organisation", "service", "owner"),
        user=user,
        capability=capability,
    )


def meeting_list(*, user: User, capability: str = "decisions.view"):
    from caregov.models import Meeting

    return scoped(
        Meeting.objects.select_related("organisation", "service", "signed_off_by"),
        user=user,
        capability=capability,
    )


def actions_not_improved(*, organisation, service=None, since=None):
    """Done actions whose effectiveness check said "not improved": what later triggers look for."""
    from caregov.models import Action

    found = Action.objects.filter(
        organisation=organisation, service=service, effectiveness=Action.Effect.NOT_IMPROVED
    )
    if since is not None:
        found = found.filter(effectiveness_checked_at__gte=since)
    return found


def reviews_due_for(*, user: User):
    """Open and in-review cycles that this person's roles conduct, soonest due first."""
    from django.db.models import Q

    from caregov.models import ReviewCycle
    from caregov.registry import BODY_ROLES

    where = Q(pk__in=[])
    for membership in access.memberships_of(user):
        bodies = [body for body, roles in BODY_ROLES.items() if membership.role in roles]
        if not bodies:
            continue
        if membership.service_id:
            where |= Q(body__in=bodies, service_id=membership.service_id)
        else:
            where |= Q(body__in=bodies, organisation_id=membership.organisation_id)
    return (
        ReviewCycle.objects.filter(where)
        .exclude(status=ReviewCycle.Status.SIGNED_OFF)
        .select_related("organisation", "service")
        .order_by("due_on", "kind")
    )


#: Which role to name when a person holds several that may act: the first in the table.
_ROLE_RANK = {role: rank for rank, role in enumerate(access.Role)}


def people_who_can_act(
    capability: str,
    record=None,
    *,
    organisation=None,
    service=None,
    anywhere: bool = False,
) -> QuerySet[User]:
    """The people who may be given a record to act on: active people of its organisation who hold
    `capability` at its service, or across the organisation. Every owner picker offers these and
    the services check owners with the same rule (`access.can_act`), so a commissioner, care
    staff or a team leader of another service is neither offered nor accepted.

    Pass the record, or its organisation and service (None: an organisation-wide record). With
    `anywhere`, for a form whose service is chosen on the same page, people who may act at any
    of the organisation's services are offered, and the service checks the one chosen.

    Each person comes once, annotated with the role to show (`acting_role`) and where they hold
    it (`acting_service`, None for the whole organisation): their role here before an
    organisation-wide one. People of the service come first, then the organisation's, by name.
    """
    from django.db.models import (
        Case,
        Exists,
        F,
        IntegerField,
        OuterRef,
        Q,
        Subquery,
        Value,
        When,
    )

    if record is not None:
        organisation, service = record.organisation, record.service
    allowed = access.roles_granting(capability) - access.READ_ONLY_ROLES
    memberships = Membership.objects.filter(
        user=OuterRef("pk"), organisation=organisation, role__in=allowed
    )
    if anywhere:
        here = Value(1)
    elif service is None:
        memberships = memberships.filter(service__isnull=True)
        here = Value(1)
    else:
        memberships = memberships.filter(Q(service=service) | Q(service__isnull=True))
        here = Case(When(service=service, then=Value(0)), default=Value(1))
    best = memberships.annotate(
        here=here,
        rank=Case(
            *(When(role=role, then=Value(rank)) for role, rank in _ROLE_RANK.items()),
            output_field=IntegerField(),
        ),
    ).order_by("here", "rank", F("service__name").asc(nulls_first=True))
    return (
        User.objects.filter(Exists(memberships), organisation=organisation, is_active=True)
        .annotate(
            acting_role=Subquery(best.values("role")[:1]),
            acting_service=Subquery(best.values("service__name")[:1]),
            acting_here=Subquery(best.values("here")[:1]),
        )
        .order_by("acting_here", "full_name", "pk")
    )
