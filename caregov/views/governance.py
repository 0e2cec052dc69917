"""Review cycles, escalations, actions, meetings and decisions, and trigger thresholds."""

from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from caregov import access, selectors
from caregov.access import requires
from caregov.engine import thresholds_for
from caregov.filters import ActionFilter, EscalationFilter, MeetingFilter, ReviewFilter
from caregov.forms import apply_validation_error
from caregov.governance_forms import (
    ActionForm,
    AssignForm,
    CompleteForm,
    DecisionForm,
    EffectForm,
    MeetingForm,
    ResolveForm,
    SignOffForm,
    TriggerSettingForm,
)
from caregov.history import history_entries
from caregov.mfa import fresh_identity_required
from caregov.models import Action, Body, Decision, Escalation, ReviewCycle
from caregov.registry import subjects_of, triggers
from caregov.security import record_permission_denied
from caregov.services import governance as gov
from caregov.views.lists import csv_response, filtered_page, wants_csv


def _services(request, capability):
    return selectors.service_list(user=request.user, capability=capability)


def confirm_page(request, *, title, explanation, button, cancel_url, destructive=False):
    return render(
        request,
        "caregov/confirm.html",
        {
            "title": title,
            "explanation": explanation,
            "button": button,
            "cancel_url": cancel_url,
            "destructive": destructive,
        },
    )


def history_page(
    request,
    obj,
    title,
    breadcrumbs,
    related=None,
    related_heading="Decisions in these minutes",
    related_column="Decision",
    hidden: frozenset[str] = frozenset(),
):
    return render(
        request,
        "caregov/history.html",
        {
            "object": obj,
            "title": title,
            "entries": history_entries(obj, hidden=hidden),
            "breadcrumbs": breadcrumbs,
            "related": related or [],
            "related_heading": related_heading,
            "related_column": related_column,
        },
    )


def form_page(request, form, *, save, success, done_url, heading, lead="", button, back_url):
    """A one-form page: on a valid POST call the service, then go back; else show the form with
    what was typed and the service's errors on their fields."""
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, success(form.cleaned_data) if callable(success) else success)
            return redirect(done_url)
    return render(
        request,
        "caregov/simple_form.html",
        {"form": form, "heading": heading, "lead": lead, "button": button, "back_url": back_url},
    )


def _raise_action(request, *, source_kwargs, organisation, back_url, heading, service=None):
    people = selectors.people_who_can_act(
        "actions.manage", organisation=organisation, service=service
    )
    form = ActionForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        try:
            action = gov.action_raise(actor=request.user, **form.cleaned_data, **source_kwargs)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, f"Action raised for {action.owner}, due {action.due_on:%-d %b %Y}."
            )
            return redirect(action)
    return render(
        request,
        "caregov/action_form.html",
        {"form": form, "heading": heading, "back_url": back_url},
    )


# Review cycles ---------------------------------------------------------------------------------


@requires("reviews.view")
def review_list(request):
    reviews = selectors.review_list(user=request.user)
    params = request.GET or QueryDict("status=due")
    # Work still to do: soonest due first. Finished work: newest first.
    ordering = (
        ("-period_end", "kind") if params.get("status") == "signed_off" else ("due_on", "kind")
    )
    filterset = ReviewFilter(
        params,
        queryset=reviews.order_by(*ordering),
        services=_services(request, "reviews.view"),
    )
    if wants_csv(request):
        return csv_response(
            "reviews.csv",
            [
                ("Review", lambda c: c.kind_name),
                ("Where", lambda c: c.scope_label),
                ("Period", lambda c: c.period.label),
                ("Body", lambda c: c.get_body_display()),
                ("Sign-off due", lambda c: c.due_on),
                ("Status", lambda c: c.display_status),
                ("Signed off", lambda c: c.signed_off_at),
                ("Signed off by", lambda c: c.signed_off_by),
                ("Decision", lambda c: c.decision),
            ],
            filterset.qs,
        )
    return render(request, "caregov/review_list.html", filtered_page(request, filterset))


def _review(request, pk, capability="reviews.view") -> ReviewCycle:
    return get_object_or_404(selectors.review_list(user=request.user, capability=capability), pk=pk)


def _recorded(cycle: ReviewCycle) -> list | None:
    """What was recorded in the review as it was worked through (None: its kind records
    nothing of its own), for the review and sign-off pages."""
    kind = cycle.review_kind
    return kind.recorded(cycle) if kind and kind.recorded else None


@requires("reviews.view")
def review_detail(request, pk: int):
    cycle = _review(request, pk)
    escalations = (
        selectors.escalation_list(user=request.user).filter(subject=f"review:{cycle.pk}")
        if access.has_capability(request.user, "escalations.view")
        else Escalation.objects.none()
    )
    return render(
        request,
        "caregov/review_detail.html",
        {
            "cycle": cycle,
            "kind": cycle.review_kind,
            "can_conduct": access.has_capability(request.user, "reviews.conduct")
            and gov.can_conduct_review(request.user, cycle),
            "can_raise_action": access.has_capability_for(request.user, "actions.manage", cycle),
            "actions": cycle.actions.select_related("owner"),
            "recorded": _recorded(cycle),
            "escalations": escalations,
            "decisions": cycle.decisions.select_related("meeting"),
            "breadcrumbs": [("Reviews", "review_list", None)],
        },
    )


@requires("reviews.conduct")
@require_http_methods(["GET", "POST"])
def review_start(request, pk: int):
    cycle = _review(request, pk, "reviews.conduct")
    if request.method == "POST":
        try:
            gov.review_start(actor=request.user, cycle=cycle)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, f"Review started: {cycle}.")
        return redirect(cycle)
    return confirm_page(
        request,
        title=f"Start the {cycle.kind_name.lower()}?",
        explanation=f"{cycle.scope_label}, {cycle.period.label}. Starting shows others the review is under way; "
        "nothing is frozen until you sign off.",
        button="Start review",
        cancel_url=cycle.get_absolute_url(),
    )


@requires("reviews.conduct")
@require_http_methods(["GET", "POST"])
@fresh_identity_required("sign off this review")
def review_sign_off(request, pk: int):
    cycle = _review(request, pk, "reviews.conduct")
    allowed = gov.can_conduct_review(request.user, cycle)
    form = SignOffForm(
        request.POST or None, initial={"decision": cycle.decision, "minutes": cycle.minutes}
    )
    if request.method == "POST" and form.is_valid():
        try:
            gov.review_sign_off(
                actor=request.user,
                cycle=cycle,
                decision=form.cleaned_data["decision"],
                minutes=form.cleaned_data["minutes"],
            )
        except PermissionDenied as error:
            record_permission_denied(request, f"reviews.conduct for {cycle.get_body_display()}")
            raise error
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                f"{cycle.kind_name} for {cycle.scope_label}, {cycle.period.label}, signed off.",
            )
            return redirect(cycle)
    return render(
        request,
        "caregov/review_sign_off.html",
        {
            "cycle": cycle,
            "kind": cycle.review_kind,
            "form": form,
            "allowed": allowed,
            "recorded": _recorded(cycle),
            "actions": cycle.actions.select_related("owner"),
        },
    )


@requires("actions.manage")
@require_http_methods(["GET", "POST"])
def review_action_raise(request, pk: int):
    cycle = _review(request, pk, "actions.manage")
    return _raise_action(
        request,
        source_kwargs={"review_cycle": cycle},
        organisation=cycle.organisation,
        service=cycle.service,
        back_url=cycle.get_absolute_url(),
        heading=f"Raise an action from the {cycle}",
    )


@requires("reviews.view")
def review_history(request, pk: int):
    cycle = _review(request, pk)
    return history_page(
        request,
        cycle,
        f"History of the {cycle}",
        [("Reviews", "review_list", None), (str(cycle.period), "review_detail", cycle.pk)],
    )


# Escalations -------------------------------------------------------------------------------


def _escalation(request, pk, capability="escalations.view") -> Escalation:
    return get_object_or_404(
        selectors.escalation_list(user=request.user, capability=capability), pk=pk
    )


@requires("escalations.view")
def escalation_list(request):
    params = request.GET or QueryDict("status=unresolved")
    filterset = EscalationFilter(
        params,
        queryset=selectors.escalations_by_urgency(selectors.escalation_list(user=request.user)),
        services=_services(request, "escalations.view"),
    )
    if wants_csv(request):
        return csv_response(
            "escalations.csv",
            [
                ("Escalation", lambda e: e.title),
                ("Trigger", lambda e: e.trigger_name),
                ("Where", lambda e: e.scope_label),
                ("Period", lambda e: e.period.label),
                ("Severity", lambda e: e.get_severity_display()),
                ("Escalated to", lambda e: e.get_escalated_to_display()),
                ("Owner", lambda e: e.owner),
                ("Raised", lambda e: e.raised_at),
                ("Status", lambda e: e.get_status_display()),
                ("Resolved", lambda e: e.resolved_at),
                ("Resolution", lambda e: e.resolution_note),
            ],
            filterset.qs,
        )
    return render(request, "caregov/escalation_list.html", filtered_page(request, filterset))


def _evidence_records(escalation: Escalation) -> list[dict]:
    rows = []
    for record in escalation.evidence.get("records", []):
        url = None
        try:
            model = apps.get_model(record["model"])
            obj = model._default_manager.filter(pk=record["id"]).first()
            url = (
                obj.get_absolute_url()
                if obj is not None and hasattr(obj, "get_absolute_url")
                else None
            )
        except (LookupError, KeyError):
            pass
        rows.append({**record, "url": url})
    return rows


@requires("escalations.view")
def escalation_detail(request, pk: int):
    escalation = _escalation(request, pk)
    can_manage = access.has_capability_for(request.user, "escalations.manage", escalation)
    return render(
        request,
        "caregov/escalation_detail.html",
        {
            "escalation": escalation,
            "trigger": escalation.trigger_definition,
            "rule": escalation.trigger_definition.describe(
                thresholds_for(escalation.organisation, escalation.trigger_definition)[0]
            )
            if escalation.trigger_definition
            else "",
            "figures": escalation.evidence.get("figures", {}),
            "records": _evidence_records(escalation),
            "actions": escalation.actions.select_related("owner"),
            "can_manage": can_manage,
            "can_decide": can_manage and gov.can_decide_escalation(request.user, escalation),
            "breadcrumbs": [("Escalations", "escalation_list", None)],
        },
    )


@requires("escalations.manage")
@require_http_methods(["GET", "POST"])
def escalation_acknowledge(request, pk: int):
    escalation = _escalation(request, pk, "escalations.manage")
    if request.method == "POST":
        try:
            gov.escalation_acknowledge(actor=request.user, escalation=escalation)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Escalation acknowledged.")
        return redirect(escalation)
    return confirm_page(
        request,
        title="Acknowledge this escalation?",
        explanation=f"{escalation.title}. Acknowledging says it is being looked at; "
        "it stays open until resolved.",
        button="Acknowledge",
        cancel_url=escalation.get_absolute_url(),
    )


def _escalation_decider(request, pk: int):
    """The escalation, and a refusal page when it is with a body above this person."""
    escalation = _escalation(request, pk, "escalations.manage")
    if gov.can_decide_escalation(request.user, escalation):
        return escalation, None
    if request.method == "POST":
        record_permission_denied(request, "escalations.manage at the escalated body")
        raise PermissionDenied(
            "Only the body this escalation is with, or one above it, can do this."
        )
    refusal = render(
        request,
        "caregov/not_yours.html",
        {
            "heading": "This escalation is with someone else",
            "explanation": f"It is with the {escalation.get_escalated_to_display().lower()}. "
            "Only they, or a body above them, can resolve or reassign it. You can acknowledge it "
            "and raise an action.",
            "back_url": escalation.get_absolute_url(),
        },
    )
    return escalation, refusal


@requires("escalations.manage")
@require_http_methods(["GET", "POST"])
def escalation_assign(request, pk: int):
    escalation, refusal = _escalation_decider(request, pk)
    if refusal:
        return refusal
    people = selectors.people_who_can_act("escalations.manage", escalation)
    return form_page(
        request,
        AssignForm(request.POST or None, people=people, initial={"owner": escalation.owner_id}),
        save=lambda data: gov.escalation_assign(
            actor=request.user, escalation=escalation, owner=data["owner"]
        ),
        success=lambda data: f"Escalation assigned to {data['owner']}.",
        done_url=escalation.get_absolute_url(),
        heading="Assign this escalation",
        lead=escalation.title,
        button="Assign",
        back_url=escalation.get_absolute_url(),
    )


@requires("escalations.manage")
@require_http_methods(["GET", "POST"])
def escalation_resolve(request, pk: int):
    escalation, refusal = _escalation_decider(request, pk)
    if refusal:
        return refusal
    return form_page(
        request,
        ResolveForm(request.POST or None),
        save=lambda data: gov.escalation_resolve(
            actor=request.user, escalation=escalation, note=data["note"]
        ),
        success="Escalation resolved.",
        done_url=escalation.get_absolute_url(),
        heading="Resolve this escalation",
        lead=escalation.title,
        button="Resolve escalation",
        back_url=escalation.get_absolute_url(),
    )


@requires("actions.manage")
@require_http_methods(["GET", "POST"])
def escalation_action_raise(request, pk: int):
    escalation = _escalation(request, pk, "actions.manage")
    return _raise_action(
        request,
        source_kwargs={"escalation": escalation},
        organisation=escalation.organisation,
        service=escalation.service,
        back_url=escalation.get_absolute_url(),
        heading="Raise an action from this escalation",
    )


@requires("escalations.view")
def escalation_history(request, pk: int):
    escalation = _escalation(request, pk)
    return history_page(
        request,
        escalation,
        f"History of the escalation: {escalation.title}",
        [
            ("Escalations", "escalation_list", None),
            ("Escalation", "escalation_detail", escalation.pk),
        ],
    )


# Actions ------------------------------------------------------------------------------------


def _action(request, pk, capability="actions.view") -> Action:
    return get_object_or_404(selectors.action_list(user=request.user, capability=capability), pk=pk)


@requires("actions.view")
def action_list(request):
    params = request.GET or QueryDict("status=open")
    filterset = ActionFilter(
        params,
        queryset=selectors.action_list(user=request.user).order_by("status", "due_on"),
        services=_services(request, "actions.view"),
        user=request.user,
    )
    if wants_csv(request):
        return csv_response(
            "actions.csv",
            [
                ("Action", lambda a: a.title),
                ("Where", lambda a: a.scope_label),
                ("Owner", lambda a: a.owner),
                ("Due", lambda a: a.due_on),
                ("Raised from", lambda a: a.get_source_display()),
                ("Status", lambda a: a.display_status),
                ("Done", lambda a: a.completed_at),
                ("Evidence", lambda a: a.completion_evidence),
                ("Effectiveness", lambda a: a.get_effectiveness_display()),
                ("Effectiveness note", lambda a: a.effectiveness_note),
            ],
            filterset.qs,
        )
    return render(request, "caregov/action_list.html", filtered_page(request, filterset))


@requires("actions.view")
def action_detail(request, pk: int):
    action = _action(request, pk)
    can_manage = access.has_capability_for(request.user, "actions.manage", action)
    return render(
        request,
        "caregov/action_detail.html",
        {
            "action": action,
            "can_manage": can_manage,
            "breadcrumbs": [("Actions", "action_list", None)],
        },
    )


@requires("actions.manage")
@require_http_methods(["GET", "POST"])
def action_complete(request, pk: int):
    action = _action(request, pk, "actions.manage")
    return form_page(
        request,
        CompleteForm(request.POST or None),
        save=lambda data: gov.action_complete(
            actor=request.user,
            action=action,
            evidence=data["evidence"],
            effectiveness_due_on=data["effectiveness_due_on"],
        ),
        success="Action marked done. Check later whether it worked.",
        done_url=action.get_absolute_url(),
        heading="Mark this action done",
        lead=action.title,
        button="Mark done",
        back_url=action.get_absolute_url(),
    )


@requires("actions.manage")
@require_http_methods(["GET", "POST"])
def action_effect(request, pk: int):
    action = _action(request, pk, "actions.manage")
    return form_page(
        request,
        EffectForm(request.POST or None),
        save=lambda data: gov.action_check_effect(
            actor=request.user, action=action, result=data["result"], note=data["note"]
        ),
        success="Effectiveness check recorded.",
        done_url=action.get_absolute_url(),
        heading="Did this action work?",
        lead=action.title,
        button="Record the check",
        back_url=action.get_absolute_url(),
    )


@requires("actions.view")
def action_history(request, pk: int):
    action = _action(request, pk)
    return history_page(
        request,
        action,
        f"History of the action: {action.title}",
        [("Actions", "action_list", None), ("Action", "action_detail", action.pk)],
    )


# Meetings and decisions -----------------------------------------------------------------------


def _meeting(request, pk, capability="decisions.view"):
    return get_object_or_404(
        selectors.meeting_list(user=request.user, capability=capability), pk=pk
    )


@requires("decisions.view")
def meeting_list(request):
    filterset = MeetingFilter(
        request.GET or None, queryset=selectors.meeting_list(user=request.user)
    )
    context = filtered_page(request, filterset)
    context["can_record"] = access.has_capability(request.user, "decisions.record")
    return render(request, "caregov/meeting_list.html", context)


@requires("decisions.record")
@require_http_methods(["GET", "POST"])
def meeting_create(request):
    org_ids = access.organisation_ids_where(request.user, "decisions.record")
    services = _services(request, "decisions.record")
    form = MeetingForm(request.POST or None, services=services)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        service = data.pop("service")
        organisation = service.organisation if service else request.user.organisation
        if organisation.pk not in org_ids and service is None:
            form.add_error("service", "Choose the service this meeting is for.")
        else:
            try:
                meeting = gov.meeting_record(
                    actor=request.user, organisation=organisation, service=service, **data
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(
                    request, "Meeting recorded. Add its decisions, then sign off the minutes."
                )
                return redirect(meeting)
    return render(
        request,
        "caregov/simple_form.html",
        {
            "form": form,
            "heading": "Record a meeting",
            "lead": "Governance minutes: who met, what was decided.",
            "button": "Record meeting",
            "back_url": reverse("meeting_list"),
        },
    )


@requires("decisions.view")
def meeting_detail(request, pk: int):
    meeting = _meeting(request, pk)
    can_record = access.has_capability_for(request.user, "decisions.record", meeting)
    decisions = list(meeting.decisions.prefetch_related("review_cycles", "escalations", "actions"))
    subjects = subjects_of(decisions)
    for decision in decisions:
        decision.subjects = subjects.get(decision.pk, [])
    return render(
        request,
        "caregov/meeting_detail.html",
        {
            "meeting": meeting,
            "decisions": decisions,
            "can_record": can_record and not meeting.is_frozen,
            "can_raise_action": access.has_capability(request.user, "actions.manage"),
            "breadcrumbs": [("Decisions", "meeting_list", None)],
        },
    )


@requires("decisions.record")
@require_http_methods(["GET", "POST"])
def meeting_edit(request, pk: int):
    meeting = _meeting(request, pk, "decisions.record")
    services = _services(request, "decisions.record")
    initial = {
        "body": meeting.body,
        "meeting_date": meeting.meeting_date,
        "title": meeting.title,
        "service": meeting.service_id,
        "attendees": meeting.attendees,
        "minutes": meeting.minutes,
    }
    form = MeetingForm(request.POST or None, services=services, initial=initial)
    form.fields["service"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        data.pop("service")
        try:
            gov.meeting_update(actor=request.user, meeting=meeting, **data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Minutes saved.")
            return redirect(meeting)
    return render(
        request,
        "caregov/simple_form.html",
        {
            "form": form,
            "heading": f"Change the minutes of {meeting}",
            "lead": "",
            "button": "Save minutes",
            "back_url": meeting.get_absolute_url(),
            "frozen": meeting.is_frozen,
        },
    )


@requires("decisions.record")
@require_http_methods(["GET", "POST"])
def decision_add(request, pk: int):
    meeting = _meeting(request, pk, "decisions.record")
    # Offer what this meeting is likely to decide about: its own scope, most recent first.
    reviews = (
        selectors.review_list(user=request.user)
        .filter(organisation=meeting.organisation, service=meeting.service)
        .order_by("-period_end")[:10]
    )
    escalations = (
        selectors.escalation_list(user=request.user)
        .filter(organisation=meeting.organisation)
        .exclude(status=Escalation.Status.RESOLVED)
    )
    if meeting.service_id:
        escalations = escalations.filter(service=meeting.service)
    else:
        escalations = escalations.filter(escalated_to__in=gov.bodies_at_or_above(Body.QUALITY_LEAD))
    escalations = escalations.order_by("-raised_at")[:12]
    form = DecisionForm(
        request.POST or None,
        reviews=ReviewCycle.objects.filter(pk__in=[r.pk for r in reviews]).order_by("-period_end"),
        escalations=Escalation.objects.filter(pk__in=[e.pk for e in escalations]).order_by(
            "-raised_at"
        ),
    )
    if request.method == "POST" and form.is_valid():
        try:
            gov.decision_record(actor=request.user, meeting=meeting, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Decision recorded.")
            return redirect(meeting)
    return render(
        request,
        "caregov/simple_form.html",
        {
            "form": form,
            "heading": "Record a decision",
            "lead": str(meeting),
            "button": "Record decision",
            "back_url": meeting.get_absolute_url(),
            "frozen": meeting.is_frozen,
        },
    )


@requires("decisions.record")
@require_http_methods(["GET", "POST"])
@fresh_identity_required("sign off these minutes")
def meeting_sign_off(request, pk: int):
    meeting = _meeting(request, pk, "decisions.record")
    if request.method == "POST":
        try:
            gov.meeting_sign_off(actor=request.user, meeting=meeting)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"Minutes of {meeting} signed off. They can no longer be changed."
            )
        return redirect(meeting)
    return confirm_page(
        request,
        title=f"Sign off the minutes of {meeting}?",
        explanation="Signed-off minutes and their decisions are frozen: nobody can change them "
        "afterwards. A correction is recorded at a later meeting.",
        button="Sign off minutes",
        cancel_url=meeting.get_absolute_url(),
        destructive=True,
    )


@requires("actions.manage")
@require_http_methods(["GET", "POST"])
def decision_action_raise(request, pk: int):
    decision = get_object_or_404(
        Decision.objects.filter(
            meeting__in=selectors.meeting_list(user=request.user, capability="actions.manage")
        ),
        pk=pk,
    )
    return _raise_action(
        request,
        source_kwargs={"decision": decision},
        organisation=decision.meeting.organisation,
        service=decision.meeting.service,
        back_url=decision.meeting.get_absolute_url(),
        heading="Raise an action from this decision",
    )


@requires("decisions.view")
def meeting_history(request, pk: int):
    meeting = _meeting(request, pk)
    decision_records = Decision.history.filter(meeting_id=meeting.pk).select_related("history_user")
    return history_page(
        request,
        meeting,
        f"History of the minutes of {meeting}",
        [("Decisions", "meeting_list", None), (str(meeting), "meeting_detail", meeting.pk)],
        related=[
            (
                r.history_date,
                "Decision recorded" if r.history_type == "+" else "Decision changed",
                r.text,
                r.history_user,
            )
            for r in decision_records.order_by("-history_date")
        ],
    )


# Trigger thresholds ---------------------------------------------------------------------------


@requires("triggers.configure")
def trigger_list(request):
    organisation = access.own_organisation_where(request, "triggers.configure")
    rows = []
    for trigger in sorted(triggers.all(), key=lambda t: t.name):
        values, enabled = thresholds_for(organisation, trigger)
        rows.append(
            {
                "rule": trigger.describe(values),
                "trigger": trigger,
                "values": [(t, values[t.name]) for t in trigger.thresholds],
                "enabled": enabled,
            }
        )
    return render(request, "caregov/trigger_list.html", {"rows": rows})


@requires("triggers.configure")
@require_http_methods(["GET", "POST"])
def trigger_edit(request, code: str):
    organisation = access.own_organisation_where(request, "triggers.configure")
    trigger = triggers.get(code)
    if trigger is None:
        from django.http import Http404

        raise Http404("No such trigger")
    values, enabled = thresholds_for(organisation, trigger)
    form = TriggerSettingForm(
        request.POST or None, trigger=trigger, initial={**values, "enabled": enabled}
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        enabled = data.pop("enabled")
        try:
            gov.trigger_setting_save(
                actor=request.user,
                organisation=organisation,
                trigger_code=code,
                thresholds=data,
                enabled=enabled,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, f"Thresholds for “{trigger.name}” saved. They apply from the next run."
            )
            return redirect("trigger_list")
    return render(
        request,
        "caregov/simple_form.html",
        {
            "form": form,
            "heading": f"Thresholds: {trigger.name}",
            "lead": trigger.description,
            "button": "Save thresholds",
            "back_url": reverse("trigger_list"),
        },
    )
