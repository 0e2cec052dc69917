"""Writes for workflow governance. Each function is atomic, takes the acting person, checks their
role where the record lives, and writes history with a namespaced reason.

Only a draft version changes. Approval is a senior leadership decision in the kernel's minutes;
it freezes the version and supersedes the one before.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from caregov.history import delete_with_reason, save_with_reason
from caregov.models import Body, Meeting, Organisation, Service, User
from caregov.records import create_once, replayed, require_capability
from caregov.services.governance import (
    Frozen,
    decision_record,
    meeting_record,
)
from workflows.models import (
    CoreWorkflow,
    PracticeGap,
    QualityFinding,
    Risk,
    StaffTest,
    WorkflowMap,
    WorkflowStep,
    WorkflowVersion,
)

STEP_FIELDS = (
    "role",
    "action",
    "ecm_location",
    "recorded_item",
    "prompt",
    "minutes_expected",
)
#: The trigger that escalates at once when something is flagged as affecting safe care.
SAFE_CARE_TRIGGER = "workflows.unsafe_digital_process"


def _lock_version(version: WorkflowVersion) -> WorkflowVersion:
    return WorkflowVersion.objects.select_for_update().select_related("map").get(pk=version.pk)


def _require_draft(version: WorkflowVersion) -> None:
    if version.status != WorkflowVersion.Status.DRAFT:
        raise Frozen(
            f"Version {version.number} is {version.get_status_display().lower()} and cannot be "
            "changed. Start a revision to change the workflow."
        )


def _escalate_safe_care_now() -> None:
    """'Evidence that digital processes are not supporting safe care' escalates at once: the
    trigger is evaluated in this request once the record is committed, not left to a worker or
    the next scheduler run. Raising is idempotent, so the scheduler finds it already raised."""
    from caregov.engine import evaluate_triggers

    transaction.on_commit(lambda: evaluate_triggers(at=timezone.now(), codes=[SAFE_CARE_TRIGGER]))


# Maps and versions -----------------------------------------------------------------------------


@transaction.atomic
def template_create(
    *,
    actor: User,
    organisation: Organisation,
    workflow: str,
    title: str,
    purpose: str = "",
    at: datetime | None = None,
) -> WorkflowVersion:
    """The operations director maps a core workflow for the organisation: a template and its first
    draft version."""
    at = at or timezone.now()
    workflow_map = WorkflowMap(
        organisation=organisation,
        service=None,
        workflow=workflow,
        title=title.strip(),
        purpose=purpose.strip(),
        created_by=actor,
        created_at=at,
    )
    require_capability(actor, "workflows.map_templates", workflow_map)
    if workflow not in CoreWorkflow.values:
        raise ValidationError({"workflow": "Choose one of the core care workflows."})
    if WorkflowMap.objects.filter(
        organisation=organisation, service=None, workflow=workflow
    ).exists():
        raise ValidationError(
            {"workflow": "This workflow already has a template: revise it instead."}
        )
    if not workflow_map.title:
        raise ValidationError({"title": "Enter a title, like “Medication round”."})
    workflow_map._history_date = at
    save_with_reason(workflow_map, actor=actor, reason="workflows.map.created")
    version = WorkflowVersion(map=workflow_map, number=1, created_by=actor, created_at=at)
    version._history_date = at
    return save_with_reason(version, actor=actor, reason="workflows.version.drafted")


@transaction.atomic
def map_adopt(
    *, actor: User, service: Service, template: WorkflowVersion, at: datetime | None = None
) -> WorkflowVersion:
    """A service adopts a copy of the template's approved version: a draft it can adapt."""
    at = at or timezone.now()
    template = WorkflowVersion.objects.select_related("map").get(pk=template.pk)
    if not template.map.is_template or template.map.organisation_id != service.organisation_id:
        raise ValidationError("Adopt a template of this organisation.")
    if template.status != WorkflowVersion.Status.APPROVED:
        raise ValidationError("Only an approved template version can be adopted.")
    workflow_map = WorkflowMap(
        organisation=service.organisation,
        service=service,
        workflow=template.map.workflow,
        title=template.map.title,
        purpose=template.map.purpose,
        adopted_from=template,
        created_by=actor,
        created_at=at,
    )
    require_capability(actor, "workflows.edit", workflow_map)
    if WorkflowMap.objects.filter(service=service, workflow=template.map.workflow).exists():
        raise ValidationError(
            f"{service.name} already has its own {template.map.get_workflow_display().lower()} "
            "workflow: revise it instead."
        )
    workflow_map._history_date = at
    save_with_reason(workflow_map, actor=actor, reason="workflows.map.adopted")
    version = WorkflowVersion(
        map=workflow_map,
        number=1,
        created_by=actor,
        created_at=at,
        change_summary=f"Adopted from the organisation's template, version {template.number}.",
    )
    version._history_date = at
    save_with_reason(version, actor=actor, reason="workflows.version.drafted")
    _copy_steps(template, version, actor=actor, at=at)
    return version


def _copy_steps(source: WorkflowVersion, target: WorkflowVersion, *, actor: User, at) -> None:
    for step in source.steps.all():
        copy = WorkflowStep(
            version=target,
            position=step.position,
            copied_from=step,
            **{name: getattr(step, name) for name in STEP_FIELDS},
        )
        copy._history_date = at
        save_with_reason(copy, actor=actor, reason="workflows.step.copied")


@transaction.atomic
def version_revise(
    *, actor: User, workflow_map: WorkflowMap, change_summary: str = "", at: datetime | None = None
) -> WorkflowVersion:
    """Start a new draft from the version under test (which is withdrawn), or else from the
    approved one."""
    at = at or timezone.now()
    require_capability(actor, "workflows.edit", workflow_map)
    versions = list(
        WorkflowVersion.objects.select_for_update().filter(map=workflow_map).order_by("-number")
    )
    if any(v.status == WorkflowVersion.Status.DRAFT for v in versions):
        raise ValidationError("There is already a draft of this workflow: change that one.")
    under_test = next((v for v in versions if v.status == WorkflowVersion.Status.UNDER_TEST), None)
    approved = next((v for v in versions if v.status == WorkflowVersion.Status.APPROVED), None)
    base = under_test or approved
    if under_test is not None:
        under_test.status = WorkflowVersion.Status.WITHDRAWN
        under_test.closed_at = at
        under_test._history_date = at
        save_with_reason(under_test, actor=actor, reason="workflows.version.withdrawn")
    version = WorkflowVersion(
        map=workflow_map,
        number=(versions[0].number + 1) if versions else 1,
        based_on=base,
        change_summary=change_summary.strip(),
        created_by=actor,
        created_at=at,
    )
    version._history_date = at
    save_with_reason(version, actor=actor, reason="workflows.version.drafted")
    if base is not None:
        _copy_steps(base, version, actor=actor, at=at)
    return version


@transaction.atomic
def version_update(
    *, actor: User, version: WorkflowVersion, change_summary: str, at: datetime | None = None
) -> WorkflowVersion:
    version = _lock_version(version)
    require_capability(actor, "workflows.edit", version.map)
    _require_draft(version)
    version.change_summary = change_summary.strip()
    if at is not None:
        version._history_date = at
    return save_with_reason(version, actor=actor, reason="workflows.version.updated")


@transaction.atomic
def draft_discard(*, actor: User, version: WorkflowVersion) -> WorkflowMap:
    """Throw away a draft nobody has used. The first draft of a service's adopted copy takes the
    copy with it, so the service can adopt the template again; a revision that withdrew a version
    under test puts that version back under test."""
    version = _lock_version(version)
    workflow_map = version.map
    require_capability(actor, "workflows.edit", workflow_map)
    _require_draft(version)
    if version.tests.exists() or PracticeGap.objects.filter(step__version=version).exists():
        raise ValidationError("This draft has gaps or tests recorded against it and is kept.")
    withdrawn = version.based_on
    for step in version.steps.all():
        delete_with_reason(step, actor=actor, reason="workflows.step.discarded")
    delete_with_reason(version, actor=actor, reason="workflows.version.discarded")
    if withdrawn is not None and withdrawn.status == WorkflowVersion.Status.WITHDRAWN:
        # The revision withdrew the version under test; without it, that test carries on.
        withdrawn = _lock_version(withdrawn)
        withdrawn.status = WorkflowVersion.Status.UNDER_TEST
        withdrawn.closed_at = None
        save_with_reason(withdrawn, actor=actor, reason="workflows.version.test_resumed")
    if not workflow_map.versions.exists():
        delete_with_reason(workflow_map, actor=actor, reason="workflows.map.discarded")
    return workflow_map


@transaction.atomic
def version_start_test(
    *, actor: User, version: WorkflowVersion, at: datetime | None = None
) -> WorkflowVersion:
    """The draft is ready: it is fixed as it is and tested with staff in live care."""
    at = at or timezone.now()
    version = _lock_version(version)
    require_capability(actor, "workflows.edit", version.map)
    _require_draft(version)
    if not version.steps.exists():
        raise ValidationError("Add the workflow's steps before testing it.")
    if version.number > 1 and not version.change_summary.strip():
        raise ValidationError(
            {"change_summary": "Say what changed from the version before, and why."}
        )
    version.status = WorkflowVersion.Status.UNDER_TEST
    version.test_started_at = at
    version.test_started_by = actor
    version._history_date = at
    return save_with_reason(version, actor=actor, reason="workflows.version.test_started")


def _gap_label(gap: PracticeGap, version: WorkflowVersion) -> str:
    where = f"Step {gap.step.position}"
    if gap.step.version_id != version.pk:
        where += f" of version {gap.step.version.number}"
    return f"{where}: {gap.description[:120]}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def blocker_words(blockers: dict) -> str:
    """Like "1 open high-risk gap and 2 failed staff tests"."""
    parts = []
    if blockers["gaps"]:
        parts.append(_count(len(blockers["gaps"]), "open high-risk gap"))
    if blockers["tests"]:
        parts.append(_count(len(blockers["tests"]), "failed staff test"))
    return " and ".join(parts)


def approval_blockers(version: WorkflowVersion) -> dict:
    """What stops approval without an override: open high-risk gaps logged against any version of
    this workflow at this service (the gap that prompted a revision is logged against the version
    in use), and failed staff tests of this version."""
    gaps = PracticeGap.objects.filter(
        step__version__map_id=version.map_id, status=PracticeGap.Status.OPEN
    ).order_by("observed_on", "pk")
    high = [g for g in gaps.select_related("step__version") if g.is_high_risk]
    failed = [t for t in version.tests.select_related("step") if t.failed]
    return {
        "gaps": [{"id": g.pk, "label": _gap_label(g, version), "risk": g.risk} for g in high],
        "tests": [
            {
                "id": t.pk,
                "label": f"Step {t.step.position}, {t.get_shift_display().lower()} shift, "
                f"{t.tested_on:%-d %b %Y}",
            }
            for t in failed
        ],
    }


@transaction.atomic
def version_approve(
    *,
    actor: User,
    version: WorkflowVersion,
    implementation_expectations: str,
    meeting: Meeting | None = None,
    meeting_date: date | None = None,
    attendees: str = "",
    override_reason: str = "",
    at: datetime | None = None,
) -> WorkflowVersion:
    """The senior leadership team approves a version in its minutes: a kernel decision with the
    implementation expectations. The version is frozen and the previous approved one superseded."""
    at = at or timezone.now()
    version = _lock_version(version)
    workflow_map = version.map
    require_capability(actor, "workflows.approve", workflow_map)
    if version.status != WorkflowVersion.Status.UNDER_TEST:
        raise ValidationError(
            f"Version {version.number} is {version.get_status_display().lower()}: only a version "
            "under test can be approved."
        )
    if version.created_by_id == actor.pk:
        raise PermissionDenied(
            "You drafted this version: another member of the senior leadership team approves it."
        )
    errors = {}
    if not implementation_expectations.strip():
        errors["implementation_expectations"] = (
            "Enter the implementation expectations: who does what, by when, and how it is checked."
        )
    blockers = approval_blockers(version)
    if (blockers["gaps"] or blockers["tests"]) and not override_reason.strip():
        errors["override_reason"] = (
            f"This version has {blocker_words(blockers)}. Resolve them, or record why the senior "
            "leadership team approves it anyway."
        )
    if meeting is None and (meeting_date is None or not attendees.strip()):
        errors["meeting"] = "Choose the meeting, or give the new meeting's date and attendees."
    if meeting is not None and (
        meeting.organisation_id != workflow_map.organisation_id
        or meeting.body != Body.SENIOR_LEADERSHIP_TEAM
        or meeting.is_frozen
    ):
        errors["meeting"] = (
            "Choose a senior leadership team meeting whose minutes are not signed off."
        )
    if errors:
        raise ValidationError(errors)
    if meeting is None:
        meeting = meeting_record(
            actor=actor,
            organisation=workflow_map.organisation,
            body=Body.SENIOR_LEADERSHIP_TEAM,
            meeting_date=meeting_date,
            title="Digital workflow model approval",
            attendees=attendees,
            at=at,
        )
    text = (
        f"Approve the {workflow_map.get_workflow_display().lower()} workflow for "
        f"{workflow_map.scope_label}, version {version.number}. "
        f"Implementation expectations: {implementation_expectations.strip()}"
    )
    blocked = bool(blockers["gaps"] or blockers["tests"])
    # A reason is an override only when something was open: the minutes say so only then.
    override_reason = override_reason.strip() if blocked else ""
    if override_reason:
        text += f" Approved with open high-risk gaps or failed tests because: {override_reason}"
    decision = decision_record(actor=actor, meeting=meeting, text=text, at=at)
    for previous in WorkflowVersion.objects.select_for_update().filter(
        map=workflow_map, status=WorkflowVersion.Status.APPROVED
    ):
        previous.status = WorkflowVersion.Status.SUPERSEDED
        previous.closed_at = at
        previous._history_date = at
        save_with_reason(previous, actor=actor, reason="workflows.version.superseded")
    version.status = WorkflowVersion.Status.APPROVED
    version.approved_at = at
    version.approved_by = actor
    version.decision = decision
    version.implementation_expectations = implementation_expectations.strip()
    version.override_reason = override_reason
    version.approval_blockers = blockers
    version._history_date = at
    return save_with_reason(version, actor=actor, reason="workflows.version.approved")


# Steps -----------------------------------------------------------------------------------------


def _clean_step(fields: dict) -> dict:
    clean = {name: fields.get(name) for name in STEP_FIELDS}
    for name in ("action", "ecm_location", "recorded_item", "prompt"):
        clean[name] = (clean[name] or "").strip()
    errors = {}
    if not clean["action"]:
        errors["action"] = "Say what is done in this step."
    if not clean["ecm_location"]:
        errors["ecm_location"] = "Say where in the ECM it is recorded, like “Daily note”."
    if not clean["prompt"]:
        errors["prompt"] = "Say what the ECM prompts, or what staff are expected to record."
    minutes = clean["minutes_expected"]
    if minutes is None or not 0 < int(minutes) <= 480:
        errors["minutes_expected"] = "Enter the time expected in whole minutes, from 1 to 480."
    if errors:
        raise ValidationError(errors)
    return clean


@transaction.atomic
def step_save(
    *,
    actor: User,
    version: WorkflowVersion,
    step: WorkflowStep | None = None,
    at: datetime | None = None,
    insert_at: int | None = None,
    **fields,
) -> WorkflowStep:
    """Add a step to a draft (at the end, or as step `insert_at`, moving the later ones down),
    or change one of its steps."""
    version = _lock_version(version)
    require_capability(actor, "workflows.edit", version.map)
    _require_draft(version)
    clean = _clean_step(fields)
    if step is None:
        last = version.steps.order_by("-position").values_list("position", flat=True).first()
        step = WorkflowStep(version=version, position=(last or 0) + 1)
        reason = "workflows.step.added"
    else:
        if step.version_id != version.pk:
            raise ValidationError("That step belongs to another version.")
        reason = "workflows.step.changed"
    for name, value in clean.items():
        setattr(step, name, value)
    if at is not None:
        step._history_date = at
    save_with_reason(step, actor=actor, reason=reason)
    if reason == "workflows.step.added" and insert_at and insert_at < step.position:
        ordered = [s for s in version.steps.order_by("position") if s.pk != step.pk]
        ordered.insert(max(0, insert_at - 1), step)
        _renumber(version, ordered, actor)
    return step


def _renumber(version: WorkflowVersion, ordered: list[WorkflowStep], actor: User) -> None:
    # Positions are unique per version: move everything clear of the range first.
    offset = 1000
    before = {step.pk: step.position for step in ordered}
    for step in ordered:
        step.position += offset
        step.save_without_historical_record()
    for index, step in enumerate(ordered, start=1):
        step.position = index
        if before[step.pk] != index:
            save_with_reason(step, actor=actor, reason="workflows.step.moved")
        else:
            step.save_without_historical_record()


@transaction.atomic
def step_move(*, actor: User, step: WorkflowStep, offset: int) -> WorkflowStep:
    version = _lock_version(step.version)
    require_capability(actor, "workflows.edit", version.map)
    _require_draft(version)
    ordered = list(version.steps.order_by("position"))
    index = next(i for i, s in enumerate(ordered) if s.pk == step.pk)
    target = max(0, min(len(ordered) - 1, index + offset))
    if target != index:
        ordered.insert(target, ordered.pop(index))
        _renumber(version, ordered, actor)
    return next(s for s in ordered if s.pk == step.pk)


@transaction.atomic
def step_delete(*, actor: User, step: WorkflowStep) -> None:
    version = _lock_version(step.version)
    require_capability(actor, "workflows.edit", version.map)
    _require_draft(version)
    delete_with_reason(step, actor=actor, reason="workflows.step.removed")
    ordered = list(version.steps.order_by("position"))
    if [s.position for s in ordered] != list(range(1, len(ordered) + 1)):
        _renumber(version, ordered, actor)


# The service review log ------------------------------------------------------------------------


def _check_day(day: date, *, field: str, what: str, not_before: date | None = None) -> None:
    if day > timezone.localdate():
        raise ValidationError({field: f"The date {what} cannot be in the future."})
    if not_before and day < not_before:
        raise ValidationError({field: f"The date {what} cannot be before {not_before:%-d %b %Y}."})


@transaction.atomic
def gap_record(
    *,
    actor: User,
    step: WorkflowStep,
    kind: str,
    description: str,
    frequency: str,
    risk: str,
    affects_safe_care: bool,
    evidence: list[str],
    evidence_detail: str = "",
    observed_on: date,
    idempotency_key: uuid.UUID | None = None,
    at: datetime | None = None,
) -> PracticeGap:
    """A registered manager compares a mapped workflow with what staff do and logs what differs.
    A repeat of the same submission (same key) answers with the gap it made."""
    earlier = replayed(PracticeGap, idempotency_key, actor=actor, capability="practice.record_gaps")
    if earlier is not None:
        return earlier
    # Records dated now escalate at once; back-dated ones (the demo) wait for the scheduler.
    live = at is None
    at = at or timezone.now()
    # Read the version afresh: its state decides what may be recorded against it.
    version = WorkflowVersion.objects.select_related("map").get(pk=step.version_id)
    workflow_map = version.map
    gap = PracticeGap(
        organisation=workflow_map.organisation,
        service=workflow_map.service,
        step=step,
        kind=kind,
        description=description.strip(),
        frequency=frequency,
        risk=risk,
        affects_safe_care=affects_safe_care,
        evidence=sorted(set(evidence)),
        evidence_detail=evidence_detail.strip(),
        observed_on=observed_on,
        recorded_by=actor,
        recorded_at=at,
        idempotency_key=idempotency_key or uuid.uuid4(),
    )
    require_capability(actor, "practice.record_gaps", gap)
    if workflow_map.is_template:
        raise ValidationError("Gaps are recorded against a service's own workflow, not a template.")
    if version.status not in (WorkflowVersion.Status.APPROVED, WorkflowVersion.Status.UNDER_TEST):
        raise ValidationError(
            "Compare practice with the version in use or under test, not a "
            f"{version.get_status_display().lower()} one."
        )
    errors = {}
    if not gap.description:
        errors["description"] = "Describe what staff actually do, and how it differs from the step."
    if not gap.evidence:
        errors["evidence"] = "Choose at least one kind of evidence."
    elif set(gap.evidence) - set(PracticeGap.Evidence.values):
        errors["evidence"] = "Choose observation, record sample or staff feedback."
    if observed_on > timezone.localdate():
        errors["observed_on"] = "The date it was seen cannot be in the future."
    if risk == Risk.NONE and affects_safe_care:
        errors["risk"] = "A gap that affects safe care carries a risk: choose low, medium or high."
    if errors:
        raise ValidationError(errors)
    gap.full_clean(exclude=["organisation", "service", "step", "recorded_by", "idempotency_key"])
    gap._history_date = at
    gap, created = create_once(
        gap, actor=actor, capability="practice.record_gaps", reason="workflows.gap.recorded"
    )
    if created and gap.affects_safe_care and live:
        _escalate_safe_care_now()
    return gap


@transaction.atomic
def gap_resolve(
    *, actor: User, gap: PracticeGap, resolution: str, at: datetime | None = None
) -> PracticeGap:
    at = at or timezone.now()
    gap = PracticeGap.objects.select_for_update().get(pk=gap.pk)
    require_capability(actor, "practice.record_gaps", gap)
    if gap.status == PracticeGap.Status.RESOLVED:
        raise ValidationError("This gap is already resolved.")
    if not resolution.strip():
        raise ValidationError({"resolution": "Say how it was resolved, like “fixed in version 3”."})
    gap.status = PracticeGap.Status.RESOLVED
    gap.resolution = resolution.strip()
    gap.resolved_at = at
    gap.resolved_by = actor
    gap._history_date = at
    return save_with_reason(gap, actor=actor, reason="workflows.gap.resolved")


# Staff testing ---------------------------------------------------------------------------------


@transaction.atomic
def staff_test_record(
    *,
    actor: User,
    step: WorkflowStep,
    staff_role: str,
    shift: str,
    task_practical: str,
    prompt_practical: str,
    recording_practical: str,
    minutes_taken: int,
    comments: str = "",
    affects_safe_care: bool = False,
    tested_on: date,
    idempotency_key: uuid.UUID,
    at: datetime | None = None,
) -> tuple[StaffTest, bool]:
    """A team leader records one test of a step with staff on shift. A repeat of the same
    submission (same key) answers with the first; returns (test, created)."""
    # Records dated now escalate at once; back-dated ones (the demo) wait for the scheduler.
    live = at is None
    at = at or timezone.now()
    earlier = replayed(
        StaffTest,
        idempotency_key,
        actor=actor,
        capability="practice.record_tests",
        owner="tested_by",
    )
    if earlier is not None:
        return earlier, False
    # Read the version afresh: its state decides what may be recorded against it.
    version = WorkflowVersion.objects.select_related("map").get(pk=step.version_id)
    workflow_map = version.map
    test = StaffTest(
        organisation=workflow_map.organisation,
        service=workflow_map.service,
        version=version,
        step=step,
        staff_role=staff_role,
        shift=shift,
        task_practical=task_practical,
        prompt_practical=prompt_practical,
        recording_practical=recording_practical,
        minutes_taken=minutes_taken,
        comments=comments.strip(),
        affects_safe_care=affects_safe_care,
        tested_on=tested_on,
        tested_by=actor,
        recorded_at=at,
        idempotency_key=idempotency_key,
    )
    require_capability(actor, "practice.record_tests", test)
    if workflow_map.is_template:
        raise ValidationError("Staff test a service's own workflow, not a template.")
    if version.status != WorkflowVersion.Status.UNDER_TEST:
        raise ValidationError(
            f"Version {version.number} is {version.get_status_display().lower()}: only a version "
            "under test takes staff tests."
        )
    if not 0 < minutes_taken <= 480:
        raise ValidationError({"minutes_taken": "Enter the time taken in whole minutes, 1 to 480."})
    _check_day(
        tested_on,
        field="tested_on",
        what="of the test",
        not_before=timezone.localdate(version.test_started_at),
    )
    test.full_clean(exclude=["organisation", "service", "version", "step", "tested_by"])
    test._history_date = at
    test, created = create_once(
        test,
        actor=actor,
        capability="practice.record_tests",
        reason="workflows.test.recorded",
        owner="tested_by",
    )
    if created and test.affects_safe_care and live:
        _escalate_safe_care_now()
    return test, created


# Quality findings ------------------------------------------------------------------------------


@transaction.atomic
def finding_record(
    *,
    actor: User,
    version: WorkflowVersion,
    consistency: str,
    record_quality: str,
    risk_visibility: str,
    summary: str,
    tests=(),
    gaps=(),
    audit_evidence: list[dict] | None = None,
    at: datetime | None = None,
) -> QualityFinding:
    """The quality lead records whether a revised process improves consistency, record quality and
    risk visibility, with the evidence behind it."""
    at = at or timezone.now()
    version = _lock_version(version)
    require_capability(actor, "workflows.record_findings", version.map)
    if version.status != WorkflowVersion.Status.UNDER_TEST:
        raise ValidationError("Quality findings are recorded on a version under test.")
    errors = {}
    if not summary.strip():
        errors["summary"] = "Say what the evidence shows."
    if any(t.version_id != version.pk for t in tests):
        errors["tests"] = "Link only tests of this version."
    if any(g.service_id != version.map.service_id for g in gaps):
        errors["gaps"] = "Link only gaps from this service's review log."
    if not (tests or gaps or audit_evidence):
        errors["__all__"] = "Link the evidence: at least one staff test, gap or audit."
    if errors:
        raise ValidationError(errors)
    finding = QualityFinding(
        version=version,
        consistency=consistency,
        record_quality=record_quality,
        risk_visibility=risk_visibility,
        summary=summary.strip(),
        audit_evidence=audit_evidence or [],
        recorded_by=actor,
        recorded_at=at,
    )
    finding.full_clean(exclude=["version", "recorded_by"])
    finding._history_date = at
    save_with_reason(finding, actor=actor, reason="workflows.finding.recorded")
    finding.tests.set(tests)
    finding.gaps.set(gaps)
    return finding
