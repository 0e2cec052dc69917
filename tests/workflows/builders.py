"""Builders for workflow tests: templates and service copies at each stage of their life, gaps in
the service review log and staff tests, all made through the services as a user would make them.

Who acts: the operations director maps templates and adopts them for any service of the
organisation; the senior leader approves; gaps are logged by the operations director (who holds
the capability across the organisation) unless a test names someone; staff tests are recorded by
a team leader at the step's service.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.utils import timezone

from caregov.access import Role
from caregov.cadence import LONDON
from tests.factories import person_with_role
from workflows import services
from workflows.models import WorkflowStep, WorkflowVersion

Status = WorkflowVersion.Status

STEP = {
    "role": "care_worker",
    "action": "Record the care given",
    "ecm_location": "Daily note",
    "recorded_item": "care given",
    "prompt": "Record what was done and how the person responded.",
    "minutes_expected": 5,
}
#: Three steps of a care visit, each recording something different in its own place.
ROUND = (
    {"action": "Read the care plan", "ecm_location": "Care plan", "recorded_item": ""},
    {"action": "Record the care given"},
    {
        "action": "Update the risk assessment",
        "ecm_location": "Risk assessment",
        "recorded_item": "risk level",
    },
)
#: The shared test world already holds medication and daily notes maps (tests/conftest.py), so
#: these tests map the other core workflows, care planning first.
WORKFLOW = "care_planning"


def london(*args) -> datetime:
    """An aware moment in UK time: london(2026, 7, 1, 9, 30)."""
    return datetime(*args, tzinfo=LONDON)


def logged_at(day) -> datetime | None:
    """A record about a past day was logged that evening; one about today is logged now."""
    if day >= timezone.localdate():
        return None
    return datetime(day.year, day.month, day.day, 18, 0, tzinfo=LONDON)


def step_fields(**overrides) -> dict:
    return STEP | overrides


def add_steps(actor, version: WorkflowVersion, steps) -> WorkflowVersion:
    for fields in steps:
        services.step_save(actor=actor, version=version, **step_fields(**fields))
    return version


def approve(world, version: WorkflowVersion, *, actor=None, at=None, **kwargs) -> WorkflowVersion:
    """The senior leadership team approves the version in a new meeting on the day."""
    day = timezone.localdate(at) if at else timezone.localdate()
    kwargs.setdefault("implementation_expectations", "Every shift uses it from Monday.")
    if "meeting" not in kwargs:
        kwargs.setdefault("meeting_date", day)
        kwargs.setdefault("attendees", "Chief executive\nOperations director")
    services.version_approve(
        actor=actor or world.user(Role.SENIOR_LEADER), version=version, at=at, **kwargs
    )
    version.refresh_from_db()
    return version


def advance(world, version: WorkflowVersion, status: str, *, actor=None, at=None):
    """Move a draft on to `status` (draft, under test or approved)."""
    actor = actor or world.user(Role.OPERATIONS_DIRECTOR)
    if status in (Status.UNDER_TEST, Status.APPROVED):
        services.version_start_test(actor=actor, version=version, at=at)
    if status == Status.APPROVED:
        approve(world, version, at=at)
    version.refresh_from_db()
    return version


def template(
    world, *, workflow=WORKFLOW, steps=ROUND, status=Status.APPROVED, at=None, organisation=None
) -> WorkflowVersion:
    """The organisation's template of a core workflow, version 1, at `status`."""
    director = world.user(Role.OPERATIONS_DIRECTOR)
    version = services.template_create(
        actor=director,
        organisation=organisation or world.org,
        workflow=workflow,
        title=f"{workflow.replace('_', ' ').capitalize()} workflow",
        at=at,
    )
    add_steps(director, version, steps)
    return advance(world, version, status, at=at)


def service_copy(
    world,
    *,
    service=None,
    source: WorkflowVersion | None = None,
    workflow=WORKFLOW,
    steps=ROUND,
    status=Status.UNDER_TEST,
    at=None,
) -> WorkflowVersion:
    """A service's adopted copy of an approved template (a new one with `steps` unless `source` is
    given), version 1, at `status`."""
    service = service or world.service_a
    source = source or template(world, workflow=workflow, steps=steps, at=at)
    # The service's registered manager adopts it, so the operations director may approve it.
    version = services.map_adopt(
        actor=manager_at(world, service), service=service, template=source, at=at
    )
    return advance(world, version, status, at=at)


def revise(
    world, version: WorkflowVersion, *, status=Status.DRAFT, at=None, actor=None
) -> WorkflowVersion:
    """The next version of the version's workflow, at `status`."""
    actor = actor or world.user(Role.OPERATIONS_DIRECTOR)
    revision = services.version_revise(
        actor=actor, workflow_map=version.map, change_summary="Shorter prompt on the round", at=at
    )
    return advance(world, revision, status, actor=actor, at=at)


def step(version: WorkflowVersion, position: int = 1) -> WorkflowStep:
    return version.steps.get(position=position)


def gap(world, on: WorkflowStep, *, actor=None, **fields):
    """A gap in the service review log: a low-risk gap seen today unless told otherwise."""
    values = {
        "kind": "gap",
        "description": "Staff write notes on paper first and copy them in at the end of the shift.",
        "frequency": "some_shifts",
        "risk": "low",
        "affects_safe_care": False,
        "evidence": ["observation"],
        "observed_on": timezone.localdate(),
    } | fields
    values.setdefault("at", logged_at(values["observed_on"]))
    return services.gap_record(
        actor=actor or world.user(Role.OPERATIONS_DIRECTOR), step=on, **values
    )


def manager_at(world, service):
    if service == world.service_a:
        return world.user(Role.REGISTERED_MANAGER)
    return person_with_role(Role.REGISTERED_MANAGER, service=service)


def team_leader_at(world, service):
    if service == world.service_a:
        return world.user(Role.TEAM_LEADER)
    return person_with_role(Role.TEAM_LEADER, service=service)


def staff_test(world, on: WorkflowStep, *, actor=None, **fields):
    """A staff test of a step, practical in every way and done today unless told otherwise."""
    values = {
        "staff_role": "care_worker",
        "shift": "early",
        "task_practical": "yes",
        "prompt_practical": "yes",
        "recording_practical": "yes",
        "minutes_taken": 6,
        "tested_on": timezone.localdate(),
        "idempotency_key": uuid.uuid4(),
    } | fields
    if actor is None:
        actor = team_leader_at(world, on.version.map.service)
    values.setdefault("at", logged_at(values["tested_on"]))
    test, _ = services.staff_test_record(actor=actor, step=on, **values)
    return test


def failed(world, on: WorkflowStep, **fields):
    return staff_test(world, on, prompt_practical="no", **fields)
