"""Writes for review cycles, escalations, actions, meetings and decisions.

Signed-off reviews and meetings are frozen: every write here checks, so a change is refused by
the service and not only hidden in the screens.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from caregov import access
from caregov.history import save_with_reason
from caregov.models import Action, Decision, Escalation, Meeting, ReviewCycle, TriggerSetting, User
from caregov.records import require_capability
from caregov.registry import triggers
from caregov.roles import BODY_ROLES, ESCALATION_CHAIN


class Frozen(ValidationError):
    """Raised when a write would change a signed-off record."""


def _acts_for_body(user: User, body: str, record) -> bool:
    allowed = BODY_ROLES.get(body, frozenset())
    for membership in access.memberships_of(user):
        if membership.role not in allowed:
            continue
        if membership.service_id is None and membership.organisation_id == record.organisation_id:
            return True
        if record.service_id and membership.service_id == record.service_id:
            return True
    return False


def can_conduct_review(user: User, cycle: ReviewCycle) -> bool:
    return _acts_for_body(user, cycle.body, cycle)


def bodies_at_or_above(body: str) -> list[str]:
    if body in ESCALATION_CHAIN:
        return ESCALATION_CHAIN[ESCALATION_CHAIN.index(body) :]
    return [body, *ESCALATION_CHAIN[2:]]


def can_decide_escalation(user: User, escalation: Escalation) -> bool:
    """Resolving or reassigning is for the body it was escalated to, or a body above it."""
    return any(
        _acts_for_body(user, body, escalation)
        for body in bodies_at_or_above(escalation.escalated_to)
    )


def _require_escalation_body(actor: User, escalation: Escalation) -> None:
    if not can_decide_escalation(actor, escalation):
        raise PermissionDenied(
            f"This escalation is with the {escalation.get_escalated_to_display().lower()}: "
            "only they, or a body above them, can resolve or reassign it."
        )


def _resolve_escalations_about(*, trigger: str, subject: str, actor, at, note: str) -> None:
    """Close the escalations a trigger raised about a record once the record is put right,
    at once rather than at the scheduler's next run."""
    for escalation in (
        Escalation.objects.select_for_update()
        .filter(trigger=trigger, subject=subject)
        .exclude(status=Escalation.Status.RESOLVED)
    ):
        escalation.status = Escalation.Status.RESOLVED
        escalation.resolved_at = at
        escalation.resolved_by = actor
        escalation.resolution_note = note
        escalation._history_date = at
        save_with_reason(escalation, actor=actor, reason="caregov.escalation.cleared")


# Review cycles -----------------------------------------------------------------------------


def _lock_cycle(cycle: ReviewCycle) -> ReviewCycle:
    cycle = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.is_frozen:
        raise Frozen(
            f"This review was signed off on {timezone.localtime(cycle.signed_off_at):%d %b %Y} "
            "and cannot be changed. Record a correction as a new action or decision."
        )
    return cycle


def _require_body(actor: User, cycle: ReviewCycle) -> None:
    if not can_conduct_review(actor, cycle):
        raise PermissionDenied(
            f"Only the {cycle.get_body_display().lower()} for {cycle.scope_label} can do this."
        )


@transaction.atomic
def review_start(*, actor: User, cycle: ReviewCycle) -> ReviewCycle:
    cycle = _lock_cycle(cycle)
    _require_body(actor, cycle)
    if cycle.status == ReviewCycle.Status.IN_REVIEW:
        return cycle
    cycle.status = ReviewCycle.Status.IN_REVIEW
    cycle.started_at = timezone.now()
    cycle.started_by = actor
    return save_with_reason(cycle, actor=actor, reason="caregov.review.started")


@transaction.atomic
def review_update_notes(
    *, actor: User, cycle: ReviewCycle, decision: str, minutes: str
) -> ReviewCycle:
    cycle = _lock_cycle(cycle)
    _require_body(actor, cycle)
    cycle.decision = decision.strip()
    cycle.minutes = minutes.strip()
    return save_with_reason(cycle, actor=actor, reason="caregov.review.notes_saved")


@transaction.atomic
def review_sign_off(
    *, actor: User, cycle: ReviewCycle, decision: str, minutes: str, at: datetime | None = None
) -> ReviewCycle:
    cycle = _lock_cycle(cycle)
    _require_body(actor, cycle)
    errors = {}
    if not decision.strip():
        errors["decision"] = "Enter the decision the review reached."
    if not minutes.strip():
        errors["minutes"] = "Enter the minutes: who reviewed what, and what was found."
    if errors:
        raise ValidationError(errors)
    at = at or timezone.now()
    if cycle.status == ReviewCycle.Status.OPEN:
        cycle.started_at, cycle.started_by = at, actor
    cycle.status = ReviewCycle.Status.SIGNED_OFF
    cycle.decision = decision.strip()
    cycle.minutes = minutes.strip()
    cycle.signed_off_at = at
    cycle.signed_off_by = actor
    cycle._history_date = at
    save_with_reason(cycle, actor=actor, reason="caregov.review.signed_off")
    _resolve_escalations_about(
        trigger="caregov.review_overdue",
        subject=f"review:{cycle.pk}",
        actor=actor,
        at=at,
        note=f"Resolved: the review was signed off on {timezone.localtime(at):%-d %b %Y} by {actor}.",
    )
    return cycle


# Escalations --------------------------------------------------------------------------------


def _lock_escalation(escalation: Escalation) -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.status == Escalation.Status.RESOLVED:
        raise ValidationError("This escalation is resolved. Raise an action if more is needed.")
    return escalation


@transaction.atomic
def escalation_acknowledge(*, actor: User, escalation: Escalation) -> Escalation:
    escalation = _lock_escalation(escalation)
    require_capability(actor, "escalations.manage", escalation)
    if escalation.status == Escalation.Status.ACKNOWLEDGED:
        return escalation
    escalation.status = Escalation.Status.ACKNOWLEDGED
    escalation.acknowledged_at = timezone.now()
    escalation.acknowledged_by = actor
    if escalation.owner_id is None:
        escalation.owner = actor
    return save_with_reason(escalation, actor=actor, reason="caregov.escalation.acknowledged")


@transaction.atomic
def escalation_assign(*, actor: User, escalation: Escalation, owner: User) -> Escalation:
    escalation = _lock_escalation(escalation)
    _require_escalation_body(actor, escalation)
    _check_owner(escalation, owner, "escalations.manage")
    escalation.owner = owner
    return save_with_reason(escalation, actor=actor, reason="caregov.escalation.assigned")


@transaction.atomic
def escalation_resolve(
    *, actor: User | None, escalation: Escalation, note: str, at=None
) -> Escalation:
    escalation = _lock_escalation(escalation)
    if actor is not None:
        _require_escalation_body(actor, escalation)
    if not note.strip():
        raise ValidationError({"note": "Say how it was resolved, so the next reader can check."})
    escalation.status = Escalation.Status.RESOLVED
    escalation.resolved_at = at or timezone.now()
    escalation.resolved_by = actor
    escalation.resolution_note = note.strip()
    if at:
        escalation._history_date = at
    return save_with_reason(escalation, actor=actor, reason="caregov.escalation.resolved")


# Actions ------------------------------------------------------------------------------------


def _check_owner(record, owner: User, capability: str) -> None:
    """An owner must be able to act on the record where it lives: the pickers offer only such
    people (`selectors.people_who_can_act`), and a crafted choice is refused here."""
    if owner.organisation_id != record.organisation_id or not owner.is_active:
        raise ValidationError({"owner": "Choose an active person from this organisation."})
    if not access.can_act(owner, capability, record):
        kind = "escalations" if isinstance(record, Escalation) else "actions"
        place = f"at {record.service.name}" if record.service_id else "across the organisation"
        raise ValidationError(
            {
                "owner": f"{owner} cannot be the owner: they hold no role that works on {kind} "
                f"{place}. Choose someone from the list."
            }
        )


@transaction.atomic
def action_raise(
    *,
    actor: User,
    title: str,
    owner: User,
    due_on: date,
    detail: str = "",
    escalation: Escalation | None = None,
    review_cycle: ReviewCycle | None = None,
    decision: Decision | None = None,
    finding_ref: str = "",
    organisation=None,
    service=None,
    measure: str = "",
    created_at: datetime | None = None,
) -> Action:
    sources = [s for s in (escalation, review_cycle, decision) if s is not None]
    if len(sources) + bool(finding_ref) != 1:
        raise ValueError(
            "An action comes from exactly one escalation, review, decision or finding."
        )
    if escalation is not None:
        source, organisation, service = (
            Action.Source.ESCALATION,
            escalation.organisation,
            escalation.service,
        )
    elif review_cycle is not None:
        source, organisation, service = (
            Action.Source.REVIEW,
            review_cycle.organisation,
            review_cycle.service,
        )
    elif decision is not None:
        source = Action.Source.DECISION
        organisation, service = decision.meeting.organisation, decision.meeting.service
    else:
        source = Action.Source.FINDING
        if organisation is None:
            raise ValueError("An action from a finding needs its organisation.")
    action = Action(
        title=title.strip(),
        detail=detail.strip(),
        owner=owner,
        due_on=due_on,
        source=source,
        escalation=escalation,
        review_cycle=review_cycle,
        decision=decision,
        finding_ref=finding_ref,
        organisation=organisation,
        service=service,
        measure=measure,
        created_by=actor,
        created_at=created_at or timezone.now(),
    )
    require_capability(actor, "actions.manage", action)
    errors = {}
    if not action.title:
        errors["title"] = "Enter what needs to be done."
    today = timezone.localdate(created_at) if created_at else timezone.localdate()
    if due_on < today:
        errors["due_on"] = "The due date must be today or later."
    if errors:
        raise ValidationError(errors)
    _check_owner(action, owner, "actions.manage")
    if created_at:
        action._history_date = created_at
    return save_with_reason(action, actor=actor, reason="caregov.action.raised")


def _lock_action(action: Action) -> Action:
    return Action.objects.select_for_update().get(pk=action.pk)


@transaction.atomic
def action_complete(
    *, actor: User, action: Action, evidence: str, effectiveness_due_on: date | None = None, at=None
) -> Action:
    action = _lock_action(action)
    if action.owner_id != actor.pk:
        require_capability(actor, "actions.manage", action)
    if action.status == Action.Status.DONE:
        raise ValidationError("This action is already done.")
    if not evidence.strip():
        raise ValidationError({"evidence": "Describe the evidence that the action was done."})
    at = at or timezone.now()
    action.status = Action.Status.DONE
    action.completed_at = at
    action.completed_by = actor
    action.completion_evidence = evidence.strip()
    action.effectiveness_due_on = effectiveness_due_on or Action.default_effectiveness_due(
        timezone.localdate(at)
    )
    action._history_date = at
    save_with_reason(action, actor=actor, reason="caregov.action.completed")
    _resolve_escalations_about(
        trigger="caregov.action_overdue",
        subject=f"action:{action.pk}",
        actor=actor,
        at=at,
        note=f"Resolved: the action was done on {timezone.localtime(at):%-d %b %Y} by {actor}.",
    )
    return action


@transaction.atomic
def action_check_effect(*, actor: User, action: Action, result: str, note: str, at=None) -> Action:
    action = _lock_action(action)
    if action.owner_id != actor.pk:
        require_capability(actor, "actions.manage", action)
    if action.status != Action.Status.DONE:
        raise ValidationError("Record the effectiveness check once the action is done.")
    if action.effectiveness:
        raise ValidationError("The effectiveness check is already recorded.")
    errors = {}
    if result not in Action.Effect.values:
        errors["result"] = "Choose whether it improved things or not."
    if not note.strip():
        errors["note"] = "Say what you looked at to decide."
    if errors:
        raise ValidationError(errors)
    at = at or timezone.now()
    action.effectiveness = result
    action.effectiveness_note = note.strip()
    action.effectiveness_checked_at = at
    action.effectiveness_checked_by = actor
    action._history_date = at
    return save_with_reason(action, actor=actor, reason="caregov.action.effect_checked")


# Meetings and decisions -----------------------------------------------------------------------


def _lock_meeting(meeting: Meeting) -> Meeting:
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.is_frozen:
        raise Frozen(
            "These minutes are signed off and cannot be changed. Record a new meeting instead."
        )
    return meeting


@transaction.atomic
def meeting_record(
    *,
    actor: User,
    organisation,
    service=None,
    body: str,
    meeting_date: date,
    title: str,
    attendees: str,
    minutes: str = "",
    at: datetime | None = None,
) -> Meeting:
    meeting = Meeting(
        organisation=organisation,
        service=service,
        body=body,
        meeting_date=meeting_date,
        title=title.strip(),
        attendees=attendees.strip(),
        minutes=minutes.strip(),
        created_by=actor,
    )
    require_capability(actor, "decisions.record", meeting)
    meeting.full_clean()
    if at is not None:
        meeting._history_date = at
    return save_with_reason(meeting, actor=actor, reason="caregov.meeting.recorded")


@transaction.atomic
def meeting_update(*, actor: User, meeting: Meeting, **fields) -> Meeting:
    meeting = _lock_meeting(meeting)
    require_capability(actor, "decisions.record", meeting)
    for name in ("title", "attendees", "minutes", "meeting_date", "body"):
        if name in fields:
            setattr(meeting, name, fields[name])
    meeting.full_clean()
    return save_with_reason(meeting, actor=actor, reason="caregov.meeting.updated")


@transaction.atomic
def decision_record(
    *,
    actor: User,
    meeting: Meeting,
    text: str,
    review_cycles=(),
    escalations=(),
    at: datetime | None = None,
) -> Decision:
    meeting = _lock_meeting(meeting)
    require_capability(actor, "decisions.record", meeting)
    if not text.strip():
        raise ValidationError({"text": "Enter the decision, in the words of the minutes."})
    for linked in [*review_cycles, *escalations]:
        if linked.organisation_id != meeting.organisation_id:
            raise ValidationError("Link only reviews and escalations of this organisation.")
    decision = Decision(meeting=meeting, text=text.strip(), created_at=at or timezone.now())
    if at is not None:
        decision._history_date = at
    save_with_reason(decision, actor=actor, reason="caregov.decision.recorded")
    decision.review_cycles.set(review_cycles)
    decision.escalations.set(escalations)
    return decision


@transaction.atomic
def meeting_sign_off(*, actor: User, meeting: Meeting, at=None) -> Meeting:
    meeting = _lock_meeting(meeting)
    require_capability(actor, "decisions.record", meeting)
    errors = {}
    if not meeting.minutes.strip():
        errors["minutes"] = "Write the minutes before signing them off."
    if not meeting.decisions.exists():
        errors["__all__"] = "Record at least one decision before signing off the minutes."
    if errors:
        raise ValidationError(errors)
    at = at or timezone.now()
    meeting.status = Meeting.Status.SIGNED_OFF
    meeting.signed_off_at = at
    meeting.signed_off_by = actor
    meeting._history_date = at
    return save_with_reason(meeting, actor=actor, reason="caregov.meeting.signed_off")


# Trigger thresholds ---------------------------------------------------------------------------


@transaction.atomic
def trigger_setting_save(
    *, actor: User, organisation, trigger_code: str, thresholds: dict, enabled: bool
) -> TriggerSetting:
    trigger = triggers.get(trigger_code)
    if trigger is None:
        raise ValidationError("Unknown trigger.")
    errors = {}
    clean = {}
    for threshold in trigger.thresholds:
        value = thresholds.get(threshold.name, threshold.default)
        if value < threshold.minimum or (
            threshold.maximum is not None and value > threshold.maximum
        ):
            top = f" and {threshold.maximum}" if threshold.maximum is not None else " or more"
            errors[threshold.name] = f"Enter a number between {threshold.minimum}{top}."
        clean[threshold.name] = value
    if errors:
        raise ValidationError(errors)
    setting, _ = TriggerSetting.objects.select_for_update().get_or_create(
        organisation=organisation, trigger=trigger_code, defaults={"thresholds": clean}
    )
    setting.thresholds = clean
    setting.enabled = enabled
    return save_with_reason(setting, actor=actor, reason="caregov.trigger.thresholds_changed")
