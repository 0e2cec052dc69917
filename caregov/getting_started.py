"""The getting-started checklist on My work: what a new organisation does first, ticked from its
records. The kernel's own steps are here; apps add theirs from their AppConfig with
`register_getting_started_step`, so the kernel reads no app's models."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.formats import date_format

from caregov import access
from caregov.access import Role
from caregov.cadence import Cadence
from caregov.models import Organisation, ReviewCycle, Service, User
from caregov.registry import (
    GettingStartedStep,
    StepProgress,
    getting_started_steps,
    register_getting_started_step,
)


def names(services: list[Service]) -> str:
    """Service names as a sentence's list: "Willow House, Elm Lodge and Beech Court"."""
    words = [s.name for s in services]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True)
class ChecklistItem:
    step: GettingStartedStep
    progress: StepProgress
    #: The page where the step is done, when this person may open it; otherwise None (the step
    #: says who does it either way).
    url: str | None


@dataclass(frozen=True)
class Checklist:
    items: list[ChecklistItem]

    @property
    def done_count(self) -> int:
        return sum(1 for item in self.items if item.progress.done)

    @property
    def finished(self) -> bool:
        return self.done_count == len(self.items)


def progress_of(organisation: Organisation) -> list[tuple[GettingStartedStep, StepProgress]]:
    """Every step with its progress, in order: one query for the services, then each step's own
    (one or two each), whatever the number of services."""
    services = list(
        Service.objects.filter(organisation=organisation, is_active=True).order_by("name")
    )
    steps = sorted(getting_started_steps.all(), key=lambda step: step.order)
    return [(step, step.progress(organisation, services)) for step in steps]


def checklist_for(*, user: User) -> Checklist | None:
    """The checklist this person sees on My work, or None: their role does not see it (only an
    organisation admin and the data quality lead do), or their organisation has finished it."""
    # The role first: it is read from the memberships already loaded, so for everyone else the
    # checklist costs no query at all.
    if user.organisation_id not in access.organisation_ids_where(user, "getting_started.view"):
        return None
    organisation = user.organisation
    if organisation.getting_started_done_at is not None:
        return None
    items = []
    for step, progress in progress_of(organisation):
        can_open = access.has_organisation_capability(user, step.capability)
        items.append(ChecklistItem(step, progress, reverse(step.url_name) if can_open else None))
    return Checklist(items)


# The kernel's steps ---------------------------------------------------------------------------


def _services_added(organisation: Organisation, services: list[Service]) -> StepProgress:
    if not services:
        return StepProgress(False, "No services yet.")
    return StepProgress(True, f"{len(services)} service{'s' if len(services) != 1 else ''} added.")


def _people_invited(organisation: Organisation, services: list[Service]) -> StepProgress:
    # Someone besides the organisation's admins: the admin who set caregov up is not a team.
    invited = (
        User.objects.filter(organisation=organisation, is_active=True)
        .exclude(memberships__role=Role.ORG_ADMIN)
        .count()
    )
    if not invited:
        return StepProgress(False, "Nobody yet besides the organisation admins.")
    return StepProgress(
        True, f"{invited} {'person' if invited == 1 else 'people'} besides the organisation admins."
    )


def _monthly_review_signed_off(organisation: Organisation, services: list[Service]) -> StepProgress:
    first = (
        ReviewCycle.objects.filter(
            organisation=organisation,
            cadence=Cadence.MONTHLY,
            status=ReviewCycle.Status.SIGNED_OFF,
        )
        .select_related("service", "organisation")
        .order_by("signed_off_at", "pk")
        .first()
    )
    if first is None:
        return StepProgress(False, "No monthly review signed off yet.")
    when = date_format(first.signed_off_at, "j M Y") if first.signed_off_at else ""
    return StepProgress(True, f"{first}, signed off{' ' + when if when else ''}.")


register_getting_started_step(
    GettingStartedStep(
        code="caregov.services",
        order=10,
        label="Add your services",
        hint="Each care home, home care branch or supported living service you run, with its "
        "implementation phase.",
        url_name="service_list",
        capability="services.view",
        done_by="An organisation admin adds them.",
        progress=_services_added,
    )
)
register_getting_started_step(
    GettingStartedStep(
        code="caregov.people",
        order=20,
        label="Invite your people",
        hint="Give each person a role at their service or across the organisation; each gets an "
        "email to set their password.",
        url_name="person_invite",
        capability="people.manage",
        done_by="An organisation admin invites them.",
        progress=_people_invited,
    )
)
register_getting_started_step(
    GettingStartedStep(
        code="caregov.monthly_review",
        order=60,
        label="Sign off a first monthly review",
        hint="Each service's monthly data quality trend review opens by itself once it has "
        "figures, and is signed off with a decision and minutes.",
        url_name="review_list",
        capability="reviews.view",
        done_by="A registered manager signs off their service's monthly review.",
        progress=_monthly_review_signed_off,
    )
)
