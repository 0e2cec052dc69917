"""The one capability table: which role may do what. Every view declares one capability.

A capability is granted per membership, so a person who is team leader at one service and care
staff at another has the team leader's capabilities only at the first. Selectors ask
`services_where(user, capability)` to scope their querysets; views ask `require()` through the
`requires` decorator or `CapabilityRequiredMixin`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING

from django.db import models

from caregov.roles import Role

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from caregov.models import Service, User


R = Role
#: Roles that read only: every POST they make is refused and recorded.
READ_ONLY_ROLES = frozenset({R.COMMISSIONER})
#: Roles whose membership must name one service.
SERVICE_ONLY_ROLES = frozenset({R.COMMISSIONER})
#: Roles whose membership must cover the whole organisation.
ORGANISATION_ONLY_ROLES = frozenset({R.ORG_ADMIN})
EVERYONE = frozenset(Role)
INTERNAL = EVERYONE - {R.COMMISSIONER}
CARE_EVIDENCE_READERS = INTERNAL - {R.ORG_ADMIN}
LEADERS = frozenset(
    {R.SENIOR_LEADER, R.OPERATIONS_DIRECTOR, R.QUALITY_LEAD, R.DATA_QUALITY_LEAD, R.PROJECT_LEAD}
)

#: Those who take part in governance reviews in the seeds.
REVIEWERS = frozenset(
    {
        R.BOARD_MEMBER,
        R.SENIOR_LEADER,
        R.OPERATIONS_DIRECTOR,
        R.QUALITY_LEAD,
        R.DATA_QUALITY_LEAD,
        R.PROJECT_LEAD,
        R.REGISTERED_MANAGER,
        R.TEAM_LEADER,
    }
)
#: Those who own and work escalations and actions.
MANAGERS = LEADERS | {R.REGISTERED_MANAGER}

CAPABILITIES: dict[str, frozenset[Role]] = {
    # Everyone signed in has a "My work" page showing their own services and role.
    "work.view": EVERYONE,
    "services.view": EVERYONE,
    "services.history": INTERNAL,
    # Who holds a role at a service, by name: for those who work for the provider. A
    # commissioner reads the service, not its staff list.
    "services.staff": INTERNAL,
    "services.manage": frozenset({R.ORG_ADMIN}),
    "people.view": frozenset({R.ORG_ADMIN}),
    "people.manage": frozenset({R.ORG_ADMIN}),
    "security.view": frozenset({R.ORG_ADMIN}),
    # Those who set a new organisation up see the getting-started checklist on My work until
    # every step is done.
    "getting_started.view": frozenset({R.ORG_ADMIN, R.DATA_QUALITY_LEAD}),
    # Everyone signed in looks after their own sign-in: a second factor, recovery codes.
    "account.own": EVERYONE,
    # Governance kernel
    "reviews.view": REVIEWERS,
    "reviews.conduct": REVIEWERS,
    "escalations.view": REVIEWERS,
    "escalations.manage": MANAGERS,
    "actions.view": CARE_EVIDENCE_READERS,
    "actions.manage": MANAGERS | {R.TEAM_LEADER},
    "decisions.view": REVIEWERS - {R.TEAM_LEADER},
    "decisions.record": LEADERS,
    "triggers.configure": frozenset({R.QUALITY_LEAD, R.ORG_ADMIN}),
    # Data assurance (assurance app). Commissioners read the figures of the services they
    # commission, and write nothing. The audits themselves are staff-level records (which member
    # of staff needs training, supervision or coaching): they stay with the provider.
    "assurance.view": REVIEWERS | {R.DIGITAL_CHAMPION, R.COMMISSIONER},
    "audits.view": REVIEWERS,
    "audits.conduct": frozenset(
        {R.TEAM_LEADER, R.REGISTERED_MANAGER, R.DATA_QUALITY_LEAD, R.QUALITY_LEAD}
    ),
    "ecm.import": frozenset({R.REGISTERED_MANAGER, R.DATA_QUALITY_LEAD, R.QUALITY_LEAD}),
    "measures.configure": frozenset({R.DATA_QUALITY_LEAD}),
    "assurance.compare": frozenset(
        {
            R.QUALITY_LEAD,
            R.DATA_QUALITY_LEAD,
            R.SENIOR_LEADER,
            R.OPERATIONS_DIRECTOR,
            R.BOARD_MEMBER,
        }
    ),
    "assurance.compare_record": frozenset({R.QUALITY_LEAD}),
    # The board's decision is about the whole organisation: read by those who work across it.
    "reliance.view": LEADERS | {R.BOARD_MEMBER},
    "reliance.decide": frozenset({R.BOARD_MEMBER, R.SENIOR_LEADER}),
    # Workflow governance (workflows app). A map is how a service works: everyone who works
    # there may read it. The review log, tests and findings are for those who review them.
    "workflows.view": EVERYONE - {R.ORG_ADMIN},
    "workflows.edit": frozenset({R.OPERATIONS_DIRECTOR, R.REGISTERED_MANAGER}),
    # The organisation's templates are mapped by the operations director (Step 1).
    "workflows.map_templates": frozenset({R.OPERATIONS_DIRECTOR}),
    # The review log, staff tests and practice gaps record what named staff did on shift:
    # staff-level records, not for commissioners.
    "practice.view": REVIEWERS | {R.DIGITAL_CHAMPION},
    "practice.record_gaps": frozenset({R.REGISTERED_MANAGER, R.OPERATIONS_DIRECTOR}),
    "practice.record_tests": frozenset({R.TEAM_LEADER, R.REGISTERED_MANAGER, R.DIGITAL_CHAMPION}),
    "workflows.record_findings": frozenset({R.QUALITY_LEAD}),
    "workflows.approve": frozenset({R.SENIOR_LEADER, R.OPERATIONS_DIRECTOR}),
    # The quarterly review is the senior leadership team's, across the organisation.
    "workflows.quarterly_review": (REVIEWERS - {R.REGISTERED_MANAGER, R.TEAM_LEADER}),
    # Reporting. A dashboard of one's own services for everyone who reviews; the organisation
    # overview for those who lead across services. Board packs are read by the board and those
    # who prepare them; they are built by the leaders who answer to the board.
    "dashboards.view": REVIEWERS,
    "dashboards.overview": LEADERS | {R.BOARD_MEMBER},
    "packs.view": frozenset(
        {
            R.BOARD_MEMBER,
            R.SENIOR_LEADER,
            R.OPERATIONS_DIRECTOR,
            R.QUALITY_LEAD,
            R.DATA_QUALITY_LEAD,
        }
    ),
    "packs.build": frozenset({R.SENIOR_LEADER, R.OPERATIONS_DIRECTOR, R.QUALITY_LEAD}),
    # A board member can ask for a quarter's pack that has not been built (built from the
    # records as they stood at that quarter's end); rebuilding and retrying stay the builders'.
    "packs.request": frozenset(
        {R.SENIOR_LEADER, R.OPERATIONS_DIRECTOR, R.QUALITY_LEAD, R.BOARD_MEMBER}
    ),
}

PUBLIC = "public"


def roles_granting(capability: str) -> frozenset[Role]:
    try:
        return CAPABILITIES[capability]
    except KeyError:
        raise KeyError(f"Unknown capability {capability!r}: add it to caregov/access.py") from None


def memberships_of(user: User):
    """The user's memberships, cached on the user object for the length of a request.

    Only those within the person's own organisation count: one caregov holds many providers, and
    a membership naming another organisation or its service (which the services never make, but
    a hand-edited row could) grants nothing there. Every selector scopes through these, so each
    is scoped by the person's organisation as well as their services."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_caregov_memberships", None)
    if cached is None:
        cached = list(
            user.memberships.filter(organisation_id=user.organisation_id)
            .filter(
                models.Q(service__isnull=True)
                | models.Q(service__organisation_id=user.organisation_id)
            )
            .select_related("service", "organisation")
        )
        user._caregov_memberships = cached
    return cached


def has_capability(user: User, capability: str, service: Service | None = None) -> bool:
    """Whether any of the user's memberships grants `capability` (at `service`, when given)."""
    allowed = roles_granting(capability)
    for membership in memberships_of(user):
        if membership.role not in allowed:
            continue
        if service is None:
            return True
        if membership.service_id == service.pk or (
            membership.service_id is None and membership.organisation_id == service.organisation_id
        ):
            return True
    return False


def has_organisation_capability(user: User, capability: str) -> bool:
    """Whether an organisation-wide membership grants `capability`."""
    allowed = roles_granting(capability)
    return any(m.service_id is None and m.role in allowed for m in memberships_of(user))


def has_capability_for(user: User, capability: str, record) -> bool:
    """Whether the capability is held where a record lives: at its service, or across its
    organisation when the record belongs to the whole organisation."""
    if record.service_id:
        return has_capability(user, capability, record.service)
    return record.organisation_id in organisation_ids_where(user, capability)


def can_act(user: User, capability: str, record) -> bool:
    """Whether a person may be given `record` to act on: active, of its organisation, not in a
    read-only role, and holding `capability` where the record lives. The same rule as the
    owner pickers' `selectors.people_who_can_act`."""
    if not user.is_active or user.organisation_id != record.organisation_id:
        return False
    acting = [m for m in memberships_of(user) if m.role not in READ_ONLY_ROLES]
    allowed = roles_granting(capability)
    for membership in acting:
        if membership.role not in allowed or membership.organisation_id != record.organisation_id:
            continue
        if membership.service_id is None or membership.service_id == record.service_id:
            return True
    return False


def own_organisation_where(request, capability: str):
    """The person's organisation, when they hold `capability` across it; otherwise refused."""
    if request.user.organisation_id in organisation_ids_where(request.user, capability):
        return request.user.organisation
    _deny(request, capability)


def organisation_ids_where(user: User, capability: str) -> set[int]:
    allowed = roles_granting(capability)
    return {
        m.organisation_id
        for m in memberships_of(user)
        if m.role in allowed and m.service_id is None
    }


def services_where(user: User, capability: str) -> QuerySet[Service]:
    """Services at which the user holds a role granting `capability`."""
    from caregov.models import Service

    allowed = roles_granting(capability)
    org_ids: set[int] = set()
    service_ids: set[int] = set()
    for membership in memberships_of(user):
        if membership.role not in allowed:
            continue
        if membership.service_id is None:
            org_ids.add(membership.organisation_id)
        else:
            service_ids.add(membership.service_id)
    if not org_ids and not service_ids:
        return Service.objects.none()
    return Service.objects.filter(
        models.Q(organisation_id__in=org_ids) | models.Q(pk__in=service_ids)
    )


def is_read_only(user: User) -> bool:
    memberships = memberships_of(user)
    return bool(memberships) and all(m.role in READ_ONLY_ROLES for m in memberships)


def _deny(request, capability: str):
    from django.core.exceptions import PermissionDenied

    from caregov.security import record_permission_denied

    record_permission_denied(request, capability)
    raise PermissionDenied("Your role does not allow you to open this page.")


def check(request, capability: str) -> None:
    """Redirect anonymous users to login (done by the caller), refuse a missing capability."""
    if not has_capability(request.user, capability):
        _deny(request, capability)


def requires(capability: str) -> Callable:
    """Declare the capability a function view needs; anonymous users go to login."""
    roles_granting(capability)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            check(request, capability)
            return view(request, *args, **kwargs)

        wrapped.access_capability = capability
        return wrapped

    return decorator


def public(view: Callable) -> Callable:
    """Declare a view open to anyone (login, password reset, health check)."""
    view.access_capability = PUBLIC
    return view


class CapabilityRequiredMixin:
    """Class-based views set `capability`; the mixin enforces it before dispatch."""

    capability: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        check(request, self.capability)
        return super().dispatch(request, *args, **kwargs)


def declared_capability(callback: Callable) -> str | None:
    """The capability a resolved URL callback declares, or None if it declares none."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        if getattr(view_class, "access_capability", None) == PUBLIC:
            return PUBLIC
        return getattr(view_class, "capability", None) or None
    return getattr(callback, "access_capability", None)
