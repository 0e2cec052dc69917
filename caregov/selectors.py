"""Reads, already scoped to what the asking person may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from caregov import access
from caregov.cadence import local_date
from caregov.models import Membership, Organisation, SecurityEvent, Service, User
from caregov.roles import BODY_ROLES, Body


def service_list(*, user: User, capability: str = "services.view") -> QuerySet[Service]:
    return access.services_where(user, capability).select_related(
        "organisation", "registered_manager"
    )


def service_people(*, service: Service) -> QuerySet[Membership]:
    """Who holds a role at this service, directly or across its organisation."""
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


def _acting_for(user: User, *, field: str) -> Q:
    """Records whose `field` names a body this person acts for, where they hold the role: at
    the record's service, or anywhere in the organisation for an organisation-wide role."""

    where = Q(pk__in=[])
    for membership in access.memberships_of(user):
        acts = [body for body, roles in BODY_ROLES.items() if membership.role in roles]
        if not acts:
            continue
        if membership.service_id:
            where |= Q(**{f"{field}__in": acts}, service_id=membership.service_id)
        else:
            where |= Q(**{f"{field}__in": acts}, organisation_id=membership.organisation_id)
    return where


def reviews_due_for(*, user: User):
    """Open and in-review cycles that this person's roles conduct, soonest due first."""
    from caregov.models import ReviewCycle

    return (
        ReviewCycle.objects.filter(_acting_for(user, field="body"))
        .exclude(status=ReviewCycle.Status.SIGNED_OFF)
        .select_related("organisation", "service")
        .order_by("due_on", "kind")
    )


# What needs a person's decision this week ------------------------------------------------------

#: The one order of urgency, most severe first. Escalations carry their trigger's severity;
#: actions and reviews are given one by `severity_by_rule`.
SEVERITY_ORDER: tuple[str, ...] = ("high", "medium", "low")
#: Actions and reviews due within this many days count as due this week.
SOON_DAYS = 7
#: Past its due date by more than this many days, an action or review is of high severity. The
#: kernel's overdue triggers escalate one body further up after 14 days (their default step).
LONG_OVERDUE_DAYS = 14
#: Among items equally severe and equally overdue: escalations, then reviews, then actions.
KINDS: tuple[str, ...] = ("escalation", "review", "action")


def severity_by_rule(days_overdue: int) -> str:
    """An action's or review's severity: high when more than LONG_OVERDUE_DAYS past its due
    date, medium when overdue at all, low when it is only due within the week."""
    if days_overdue > LONG_OVERDUE_DAYS:
        return "high"
    if days_overdue > 0:
        return "medium"
    return "low"


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def escalations_by_urgency(queryset: QuerySet) -> QuerySet:
    """Escalations most urgent first: unresolved before resolved, then by severity (high,
    medium, low), then the longest waiting. The same order as `needs_attention`."""
    from django.db.models import Case, IntegerField, Value, When

    from caregov.models import Escalation

    rank = Case(
        *[When(severity=s, then=Value(i)) for i, s in enumerate(SEVERITY_ORDER)],
        default=Value(len(SEVERITY_ORDER)),
        output_field=IntegerField(),
    )
    settled = Case(
        When(status=Escalation.Status.RESOLVED, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return queryset.alias(_settled=settled, _rank=rank).order_by(
        "_settled", "_rank", "raised_at", "pk"
    )


@dataclass(frozen=True)
class AttentionItem:
    """One thing that needs a decision: an escalation, an action or a review cycle."""

    kind: str
    record: Any
    severity: str
    #: Days past its due date (an escalation: days since it was raised); negative when it is
    #: due in that many days.
    days_overdue: int
    #: The day it fell or falls due (an escalation: the day it was raised).
    due_on: date

    @property
    def sort_key(self) -> tuple:
        # Escalations raised the same day: the earlier first, as escalations_by_urgency has it.
        raised = self.record.raised_at.timestamp() if self.kind == "escalation" else 0
        return (
            severity_rank(self.severity),
            -self.days_overdue,
            self.due_on,
            KINDS.index(self.kind),
            raised,
            self.record.pk,
        )

    @property
    def is_overdue(self) -> bool:
        return self.kind != "escalation" and self.days_overdue > 0

    @property
    def title(self) -> str:
        if self.kind == "review":
            return f"{self.record.kind_name}, {self.record.period.label}"
        return self.record.title

    @property
    def kind_label(self) -> str:
        return {"escalation": "Escalation", "action": "Action", "review": "Review"}[self.kind]

    @property
    def severity_label(self) -> str:
        return self.severity.capitalize()

    @property
    def status(self) -> str:
        if self.kind == "escalation":
            return self.record.get_status_display()
        return "Overdue" if self.is_overdue else self.record.get_status_display()

    @property
    def with_whom(self) -> str:
        """Who it is with: an escalation's body, an action's owner ("" for a review, which is
        the reader's own to sign off)."""
        if self.kind == "escalation":
            return f"with the {self.record.get_escalated_to_display().lower()}"
        if self.kind == "action":
            return f"owner {self.record.owner}"
        return ""

    @property
    def when(self) -> str:
        """Like "Overdue by 3 days", "Due in 2 days" or "Waiting 12 days"."""
        days = self.days_overdue
        if self.kind == "escalation":
            return "Raised today" if days <= 0 else f"Waiting {days} day{'s' if days != 1 else ''}"
        if days > 0:
            return f"Overdue by {days} day{'s' if days != 1 else ''}"
        if days == 0:
            return "Due today"
        return "Due tomorrow" if days == -1 else f"Due in {-days} days"


@dataclass(frozen=True)
class AttentionCounts:
    escalations: int = 0
    high_escalations: int = 0
    actions: int = 0
    overdue_actions: int = 0
    reviews: int = 0
    overdue_reviews: int = 0

    @property
    def soon_actions(self) -> int:
        return self.actions - self.overdue_actions

    @property
    def total(self) -> int:
        return self.escalations + self.actions + self.reviews


@dataclass
class NeedsAttention:
    """What needs one person's decision at one moment, most urgent first, and its counts: the
    one count that My work and the dashboard both show."""

    at: datetime
    items: list[AttentionItem] = field(default_factory=list)

    @cached_property
    def counts(self) -> AttentionCounts:
        def n(kind: str, *, overdue: bool = False, severity: str | None = None) -> int:
            return sum(
                1
                for i in self.items
                if i.kind == kind
                and (not overdue or i.is_overdue)
                and (severity is None or i.severity == severity)
            )

        return AttentionCounts(
            escalations=n("escalation"),
            high_escalations=n("escalation", severity="high"),
            actions=n("action"),
            overdue_actions=n("action", overdue=True),
            reviews=n("review"),
            overdue_reviews=n("review", overdue=True),
        )


def needs_attention(*, user: User, at: datetime) -> NeedsAttention:
    """What needs this person's decision in the week from `at`, most urgent first:
    - open or acknowledged escalations they own, that are with a body they act for, or that
      are at a service where they hold a role that manages escalations;
    - open actions they own that are overdue or due within SOON_DAYS, and anyone's overdue
      actions at a service where they are the registered manager;
    - reviews not signed off that their roles conduct, overdue or due within SOON_DAYS.
    Ordered by severity (high, medium, low), then the most overdue, then the due date. Reads
    three queries whatever the number of items. Nothing made after `at` is counted."""
    from caregov.models import Action, Body, Escalation, ReviewCycle

    today = local_date(at)
    horizon = today + timedelta(days=SOON_DAYS)
    items: list[AttentionItem] = []

    # At a service where they manage, every escalation is theirs to act on, even one escalated
    # above them (they acknowledge it and raise actions); across an organisation, those with
    # their body.
    managers = access.roles_granting("escalations.manage")
    own_services = [
        m.service_id for m in access.memberships_of(user) if m.service_id and m.role in managers
    ]
    escalations = (
        escalation_list(user=user)
        .exclude(status=Escalation.Status.RESOLVED)
        .filter(raised_at__lte=at)
        .filter(
            Q(owner=user) | _acting_for(user, field="escalated_to") | Q(service_id__in=own_services)
        )
    )
    for e in escalations:
        raised = local_date(e.raised_at)
        items.append(AttentionItem("escalation", e, e.severity, (today - raised).days, raised))

    # Anyone's overdue action at a service is for its registered manager to chase.
    managed = Q(pk__in=[])
    for membership in access.memberships_of(user):
        if membership.role in BODY_ROLES[Body.REGISTERED_MANAGER]:
            managed |= (
                Q(service_id=membership.service_id)
                if membership.service_id
                else Q(organisation_id=membership.organisation_id)
            )
    actions = (
        action_list(user=user)
        .select_related("owner")
        .filter(status=Action.Status.OPEN, created_at__lte=at, due_on__lte=horizon)
        .filter(Q(owner=user) | (managed & Q(due_on__lt=today)))
    )
    for a in actions:
        days = (today - a.due_on).days
        items.append(AttentionItem("action", a, severity_by_rule(days), days, a.due_on))

    reviews = (
        review_list(user=user)
        .exclude(status=ReviewCycle.Status.SIGNED_OFF)
        .filter(opened_at__lte=at, due_on__lte=horizon)
        .filter(_acting_for(user, field="body"))
    )
    for c in reviews:
        days = (today - c.due_on).days
        items.append(AttentionItem("review", c, severity_by_rule(days), days, c.due_on))

    items.sort(key=lambda i: i.sort_key)
    return NeedsAttention(at=at, items=items)


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


def owner_for(scope_org: Organisation, service: Service | None, body: str):
    """The person who answers for a body at this scope: the service's registered manager first."""
    if body == Body.REGISTERED_MANAGER and service is not None and service.registered_manager_id:
        return service.registered_manager
    roles = BODY_ROLES.get(body, frozenset())
    where = Q(service__isnull=True, organisation=scope_org)
    if service is not None:
        where |= Q(service=service)
    membership = (
        Membership.objects.filter(where, role__in=roles, user__is_active=True)
        .select_related("user")
        .order_by("service_id", "pk")
        .first()
    )
    return membership.user if membership else None
