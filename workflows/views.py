"""Workflow governance pages: the maps of the digital operating model, the service review log,
staff testing on a tablet, quality findings, leadership approval and the quarterly review.
Each view declares its capability; records outside the user's services answer 404."""

from __future__ import annotations

import uuid
from itertools import groupby

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caregov import access
from caregov import selectors as kernel_selectors
from caregov.access import requires
from caregov.forms import apply_validation_error
from caregov.history import reason_words
from caregov.mfa import fresh_identity_required
from caregov.models import Body, Meeting
from caregov.views.governance import confirm_page, form_page, history_page
from caregov.views.lists import csv_response, filtered_page, wants_csv
from workflows import selectors, services
from workflows.filters import GapFilter
from workflows.forms import (
    AdoptForm,
    ApproveForm,
    ChangeSummaryForm,
    FindingForm,
    GapForm,
    ResolveGapForm,
    ReviseForm,
    StaffTestForm,
    StepForm,
    TemplateForm,
)
from workflows.models import (
    CareRole,
    CoreWorkflow,
    PracticeGap,
    QualityFinding,
    WorkflowMap,
    WorkflowStep,
    WorkflowVersion,
)
from workflows.reviews import QUARTERLY_REVIEW

CRUMBS = [("Workflows", "workflows:overview", None)]


def _version(request, pk: int, capability: str = "workflows.view") -> WorkflowVersion:
    return get_object_or_404(
        selectors.version_list(user=request.user, capability=capability), pk=pk
    )


def _can(request, capability: str, record) -> bool:
    return access.has_capability_for(request.user, capability, record)


def _error_text(error: Exception) -> str:
    return " ".join(getattr(error, "messages", [str(error)]))


def _crumbs(version: WorkflowVersion) -> list:
    return [*CRUMBS, (str(version.map), "workflows:version_detail", version.pk)]


# Overview --------------------------------------------------------------------------------------


@requires("workflows.view")
def overview(request):
    user = request.user
    services_seen = list(
        access.services_where(user, "workflows.view").filter(is_active=True).order_by("name")
    )
    rows = selectors.workflow_grid(organisation=user.organisation, services=services_seen)
    template_row, service_rows = rows[0], rows[1:]
    # Where a service has not adopted a workflow, those who adapt its maps get a link to adopt
    # the template's approved version.
    editable = set(access.services_where(user, "workflows.edit").values_list("pk", flat=True))
    approved = {
        code: state.in_use
        for code, state in zip(CoreWorkflow.values, template_row.cells, strict=True)
        if state and state.in_use
    }
    for row in service_rows:
        row.items = [
            (
                label,
                state,
                reverse("workflows:version_adopt", args=[approved[code].pk])
                + f"?service={row.service.pk}"
                if state is None and code in approved and row.service.pk in editable
                else None,
            )
            for (code, label), state in zip(CoreWorkflow.choices, row.cells, strict=True)
        ]
    return render(
        request,
        "workflows/overview.html",
        {
            "workflows": CoreWorkflow.choices,
            "templates": list(zip(CoreWorkflow.choices, template_row.cells, strict=True)),
            "rows": service_rows,
            "can_map": access.has_organisation_capability(user, "workflows.map_templates")
            and not all(template_row.cells),
            "can_see_log": access.has_capability(user, "practice.view"),
            "reviews": kernel_selectors.review_list(user=user)
            .filter(kind=QUARTERLY_REVIEW.code)
            .order_by("-period_start")[:4]
            if access.has_capability(user, "reviews.view")
            else [],
        },
    )


@requires("workflows.map_templates")
@require_http_methods(["GET", "POST"])
def template_new(request):
    organisation = access.own_organisation_where(request, "workflows.map_templates")
    taken = set(
        selectors.map_list(user=request.user)
        .filter(service__isnull=True)
        .values_list("workflow", flat=True)
    )
    form = TemplateForm(request.POST or None, taken=taken)
    if not form.fields["workflow"].choices:
        messages.info(request, "Every core workflow is mapped: revise a template to change it.")
        return redirect("workflows:overview")
    created = {}

    def save(data):
        created["version"] = services.template_create(
            actor=request.user, organisation=organisation, **data
        )

    response = form_page(
        request,
        form,
        save=save,
        success=lambda data: f"{data['title']} mapped as a draft. Add its steps.",
        done_url="workflows:overview",
        heading="Map a core workflow",
        lead="The organisation's template: services adopt a copy and adapt it to how they work.",
        button="Create the map",
        back_url=reverse("workflows:overview"),
    )
    if "version" in created:
        return redirect(created["version"])
    return response


@requires("workflows.view")
def map_detail(request, pk: int):
    workflow_map = get_object_or_404(selectors.map_list(user=request.user), pk=pk)
    version = selectors.current_version(list(workflow_map.versions.all()))
    if version is None:
        raise Http404("This map has no version yet.")
    return version_detail(request, version.pk)


# A version: the readable flow ------------------------------------------------------------------


def _runs(steps: list[WorkflowStep]) -> list[dict]:
    """Consecutive steps done by the same role, so the flow reads in order and by role."""
    return [
        {"role": role_label, "steps": list(group)}
        for role_label, group in groupby(steps, key=lambda s: s.get_role_display())
    ]


def _who_does_what(steps: list[WorkflowStep]) -> list[dict]:
    roles = {}
    for step in steps:
        row = roles.setdefault(
            step.role, {"role": step.get_role_display(), "steps": [], "minutes": 0}
        )
        row["steps"].append(step.position)
        row["minutes"] += step.minutes_expected
    order = list(CareRole.values)
    return [roles[code] for code in sorted(roles, key=order.index)]


@requires("workflows.view")
def version_detail(request, pk: int):
    version = _version(request, pk)
    workflow_map = version.map
    steps = list(version.steps.all())
    versions = list(workflow_map.versions.select_related("approved_by"))
    can_practice = bool(workflow_map.service_id) and access.has_capability(
        request.user, "practice.view", workflow_map.service
    )
    context = {
        "version": version,
        "map": workflow_map,
        "steps": steps,
        "runs": _runs(steps),
        "roles": _who_does_what(steps),
        "total_minutes": sum(s.minutes_expected for s in steps),
        "versions": versions,
        "can_edit": _can(request, "workflows.edit", workflow_map),
        "can_approve": _can(request, "workflows.approve", workflow_map),
        "can_test": bool(workflow_map.service_id)
        and _can(request, "practice.record_tests", workflow_map),
        "can_log_gap": bool(workflow_map.service_id)
        and _can(request, "practice.record_gaps", workflow_map),
        "can_record_finding": _can(request, "workflows.record_findings", workflow_map),
        "can_practice": can_practice,
        "print": request.GET.get("print") == "1",
        "breadcrumbs": CRUMBS,
    }
    if can_practice:
        context["tests"] = list(version.tests.select_related("step", "tested_by"))
        # Gaps on every version of this workflow: the ones that prompted a revision were logged
        # against the version in use, and still count until resolved.
        context["gaps"] = list(
            PracticeGap.objects.filter(step__version__map=workflow_map)
            .select_related("step__version")
            .order_by("status", "-observed_on")
        )
        context["findings"] = list(
            version.findings.select_related("recorded_by").prefetch_related(
                "tests__step", "gaps__step"
            )
        )
        context["blockers"] = services.approval_blockers(version)
    if workflow_map.is_template:
        adopted = selectors.map_list(user=request.user).filter(
            service__isnull=False, workflow=workflow_map.workflow
        )
        context["adoptions"] = list(adopted.select_related("service", "adopted_from"))
        context["can_adopt"] = version.status == WorkflowVersion.Status.APPROVED and bool(
            _adoptable_services(request, workflow_map)
        )
    return render(request, "workflows/version_detail.html", context)


@requires("practice.view")
def version_history(request, pk: int):
    # Its history names the gaps and failed tests it was approved over: for those who review them.
    version = _version(request, pk, "practice.view")
    return history_page(
        request,
        version,
        f"History of {version}",
        _crumbs(version),
        related=[
            (
                r.history_date,
                f"Step {r.position}: {reason_words(r.history_change_reason).lower()}",
                r.action,
                r.history_user,
            )
            for r in WorkflowStep.history.filter(version_id=version.pk)
            .select_related("history_user")
            .order_by("-history_date")
        ],
        related_heading="Changes to its steps",
        related_column="Step",
        hidden=frozenset({"approval_blockers"}),
    )


# Changing a draft ------------------------------------------------------------------------------


def _service_call(request, call, *, success: str, back):
    try:
        call()
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, success)
    return redirect(back)


@requires("workflows.edit")
@require_http_methods(["GET", "POST"])
def step_new(request, pk: int):
    version = _version(request, pk, "workflows.edit")
    return _step_form(request, version, None)


@requires("workflows.edit")
@require_http_methods(["GET", "POST"])
def step_edit(request, pk: int, step: int):
    version = _version(request, pk, "workflows.edit")
    return _step_form(request, version, get_object_or_404(version.steps, pk=step))


def _step_form(request, version: WorkflowVersion, step: WorkflowStep | None):
    if version.is_frozen:
        messages.error(
            request, f"Version {version.number} is frozen: start a revision to change it."
        )
        return redirect(version)
    form = StepForm(request.POST or None, instance=step, steps=list(version.steps.all()))
    position = step.position if step else version.steps.count() + 1
    if step is None and request.method == "POST" and form.is_valid():
        position = form.cleaned_data.get("insert_at") or position
    return form_page(
        request,
        form,
        save=lambda data: services.step_save(
            actor=request.user, version=version, step=step, **data
        ),
        success=lambda data: f"Step {position} saved: {data['action']}.",
        done_url=reverse("workflows:version_detail", args=[version.pk]) + f"#step-{position}",
        heading=f"Change step {position} of {version.map}"
        if step
        else f"Add a step to {version.map}",
        lead="One step: who does it, what they do, where it goes in the ECM and what is expected.",
        button="Save the step",
        back_url=version.get_absolute_url(),
    )


@requires("workflows.edit")
@require_http_methods(["GET", "POST"])
def step_move(request, pk: int, step: int):
    version = _version(request, pk, "workflows.edit")
    moving = get_object_or_404(version.steps, pk=step)
    if request.method == "POST":
        offset = -1 if request.POST.get("direction") == "up" else 1
        return _service_call(
            request,
            lambda: services.step_move(actor=request.user, step=moving, offset=offset),
            success=f"Moved “{moving.action}” {'up' if offset < 0 else 'down'}.",
            back=reverse("workflows:version_detail", args=[version.pk])
            + f"#step-{max(1, min(version.steps.count(), moving.position + offset))}",
        )
    # Without the page's buttons (a bookmarked link): ask which way.
    return render(
        request,
        "workflows/step_move.html",
        {"version": version, "step": moving, "breadcrumbs": _crumbs(version)},
    )


@requires("workflows.edit")
@require_http_methods(["GET", "POST"])
def step_delete(request, pk: int, step: int):
    version = _version(request, pk, "workflows.edit")
    removing = get_object_or_404(version.steps, pk=step)
    if request.method == "POST":
        return _service_call(
            request,
            lambda: services.step_delete(actor=request.user, step=removing),
            success=f"Step removed: {removing.action}.",
            back=reverse("workflows:version_detail", args=[version.pk]) + "#steps",
        )
    return confirm_page(
        request,
        title=f"Remove step {removing.position}?",
        explanation=f"“{removing.action}” is removed from this draft; the steps after it move up.",
        button="Remove the step",
        cancel_url=version.get_absolute_url(),
        destructive=True,
    )


@requires("workflows.edit")
@require_http_methods(["GET", "POST"])
def version_summary(request, pk: int):
    version = _version(request, pk, "workflows.edit")
    form = ChangeSummaryForm(
        request.POST or None, initial={"change_summary": version.change_summary}
    )
    return form_page(
        request,
        form,
        save=lambda data: services.version_update(actor=request.user, version=version, **data),
        success="What changed is saved.",
        done_url=version.get_absolute_url(),
        heading=f"What changed in version {version.number}",
        button="Save what changed",
        back_url=version.get_absolute_url(),
    )


@requires("workflows.edit")
@require_http_methods(["GET", "POST"])
def version_start_test(request, pk: int):
    version = _version(request, pk, "workflows.edit")
    if request.method == "POST":
        return _service_call(
            request,
            lambda: services.version_start_test(actor=request.user, version=version),
            success=f"Version {version.number} is under test. Its steps are now fixed.",
            back=version,
        )
    where = (
        "Team leaders can record staff tests of each step during live care."
        if version.map.service_id
        else "Services can trial it before the senior leadership team approves it."
    )
    return confirm_page(
        request,
        title=f"Start testing version {version.number}?",
        explanation=f"Its {version.steps.count()} steps are fixed as they are. {where} To change "
        "a step after this, start a revision.",
        button="Start testing",
        cancel_url=version.get_absolute_url(),
    )


@requires("workflows.edit")
@require_http_methods(["GET", "POST"])
def version_discard(request, pk: int):
    version = _version(request, pk, "workflows.edit")
    if request.method == "POST":
        try:
            workflow_map = services.draft_discard(actor=request.user, version=version)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, _error_text(error))
            return redirect(version)
        messages.success(request, f"Draft version {version.number} discarded.")
        if workflow_map.pk and workflow_map.versions.exists():
            return redirect(workflow_map.get_absolute_url())
        return redirect("workflows:overview")
    return confirm_page(
        request,
        title=f"Discard draft version {version.number}?",
        explanation="The draft and its steps are deleted; its history is kept.",
        button="Discard the draft",
        cancel_url=version.get_absolute_url(),
        destructive=True,
    )


@requires("workflows.edit")
@require_http_methods(["GET", "POST"])
def map_revise(request, pk: int):
    workflow_map = get_object_or_404(
        selectors.map_list(user=request.user, capability="workflows.edit"), pk=pk
    )
    form = ReviseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.version_revise(
                actor=request.user, workflow_map=workflow_map, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Version {version.number} drafted from the one before.")
            return redirect(version)
    under_test = workflow_map.versions.filter(status=WorkflowVersion.Status.UNDER_TEST).first()
    lead = (
        f"Version {under_test.number} is under test: it is withdrawn, with its tests kept, and the "
        "new draft starts from it."
        if under_test
        else "The new draft starts as a copy of the approved version, which stays in use until "
        "the new one is approved."
    )
    return render(
        request,
        "caregov/simple_form.html",
        {
            "form": form,
            "heading": f"Revise {workflow_map}",
            "lead": lead,
            "button": "Start the revision",
            "back_url": workflow_map.get_absolute_url(),
        },
    )


def _adoptable_services(request, template_map):
    """Services this person adapts workflows for that have no copy of this workflow yet."""
    have_one = WorkflowMap.objects.filter(
        workflow=template_map.workflow, service__isnull=False
    ).values("service_id")
    return (
        access.services_where(request.user, "workflows.edit")
        .filter(organisation=template_map.organisation, is_active=True)
        .exclude(pk__in=have_one)
        .order_by("name")
    )


@requires("workflows.edit")
@require_http_methods(["GET", "POST"])
def version_adopt(request, pk: int):
    template = _version(request, pk)
    if not template.map.is_template:
        raise PermissionDenied("Only an organisation template can be adopted.")
    form = AdoptForm(
        request.POST or None,
        services=_adoptable_services(request, template.map),
        initial={"service": request.GET.get("service")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            version = services.map_adopt(
                actor=request.user, service=form.cleaned_data["service"], template=template
            )
        except (ValidationError, PermissionDenied) as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                f"{version.map.service.name} adopted {template.map.title}: adapt the steps to how "
                "the service works, then start testing.",
            )
            return redirect(version)
    return render(
        request,
        "caregov/simple_form.html",
        {
            "form": form,
            "heading": f"Adopt {template.map.title}, version {template.number}",
            "lead": "The service gets its own draft copy of the steps to adapt. Later changes to "
            "the template do not change the copy.",
            "button": "Adopt a copy",
            "back_url": template.get_absolute_url(),
        },
    )


# Approval --------------------------------------------------------------------------------------


@requires("workflows.approve")
@require_http_methods(["GET", "POST"])
@fresh_identity_required("approve this workflow version")
def version_approve(request, pk: int):
    version = _version(request, pk, "workflows.approve")
    if version.status != WorkflowVersion.Status.UNDER_TEST:
        messages.error(request, "Only a version under test can be approved.")
        return redirect(version)
    blockers = services.approval_blockers(version)
    blocked = bool(blockers["gaps"] or blockers["tests"])
    meetings = list(
        kernel_selectors.meeting_list(user=request.user, capability="decisions.record")
        .filter(
            organisation=version.map.organisation,
            service__isnull=True,
            body=Body.SENIOR_LEADERSHIP_TEAM,
            status=Meeting.Status.DRAFT,
        )
        .order_by("-meeting_date")
    )
    form = ApproveForm(request.POST or None, meetings=meetings, blocked=blocked)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.version_approve(
                actor=request.user,
                version=version,
                meeting=form.chosen_meeting(),
                meeting_date=data.get("meeting_date"),
                attendees=data.get("attendees", ""),
                implementation_expectations=data["implementation_expectations"],
                override_reason=data.get("override_reason", ""),
            )
        except (ValidationError, PermissionDenied) as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                f"{version.map} version {version.number} approved and frozen; the decision is in "
                "the minutes.",
            )
            return redirect(version)
    previous = version.map.versions.filter(status=WorkflowVersion.Status.APPROVED).first()
    findings = list(version.findings.all())
    cautions = []
    if version.map.service_id:
        if not version.tests.exists():
            cautions.append("No staff tests have been recorded on this version.")
        if not findings:
            cautions.append("The quality lead has recorded no finding on this version.")
        for finding in findings:
            worse = [
                QualityFinding._meta.get_field(name).verbose_name.lower()
                for name in QualityFinding.EFFECTS
                if getattr(finding, name) == QualityFinding.Effect.WORSE
            ]
            if worse:
                cautions.append(
                    f"The quality finding of {finding.recorded_at:%-d %b %Y} says "
                    f"{' and '.join(worse)} would be worse."
                )
    return render(
        request,
        "workflows/approve.html",
        {
            "version": version,
            "form": form,
            "blockers": blockers,
            "previous": previous,
            "tests": version.tests.count(),
            "findings": findings,
            "cautions": cautions,
            "breadcrumbs": _crumbs(version),
        },
    )


# The service review log ------------------------------------------------------------------------


GAP_COLUMNS = [
    ("Service", lambda g: g.service.name),
    ("Workflow", lambda g: g.step.version.map.get_workflow_display()),
    ("Version", lambda g: g.step.version.number),
    ("Step", lambda g: f"{g.step.position}. {g.step.action}"),
    ("Kind", lambda g: g.get_kind_display()),
    ("Description", lambda g: g.description),
    ("How often", lambda g: g.get_frequency_display()),
    ("Risk to care", lambda g: g.get_risk_display()),
    ("Affects safe care", lambda g: "Yes" if g.affects_safe_care else "No"),
    ("Evidence", lambda g: ", ".join(g.evidence_labels)),
    ("Seen on", lambda g: g.observed_on),
    ("Status", lambda g: g.get_status_display()),
    ("Resolution", lambda g: g.resolution),
]


@requires("practice.view")
def gap_list(request):
    gaps = selectors.gap_list(user=request.user)
    filterset = GapFilter(
        request.GET or None,
        queryset=gaps,
        request=request,
    )
    if wants_csv(request):
        return csv_response("service-review-log.csv", GAP_COLUMNS, filterset.qs)
    return render(
        request,
        "workflows/gap_list.html",
        {**filtered_page(request, filterset), "breadcrumbs": CRUMBS},
    )


@requires("practice.view")
def gap_detail(request, pk: int):
    gap = get_object_or_404(selectors.gap_list(user=request.user), pk=pk)
    can_resolve = gap.status == PracticeGap.Status.OPEN and _can(
        request, "practice.record_gaps", gap
    )
    form = ResolveGapForm(request.POST or None) if can_resolve else None
    if request.method == "POST":
        if not can_resolve:
            raise PermissionDenied("This gap cannot be resolved by you.")
        if form.is_valid():
            try:
                services.gap_resolve(actor=request.user, gap=gap, **form.cleaned_data)
            except (ValidationError, PermissionDenied) as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, "Gap resolved.")
                return redirect(gap)
    return render(
        request,
        "workflows/gap_detail.html",
        {
            "gap": gap,
            "form": form,
            "escalations": kernel_selectors.escalation_list(user=request.user).filter(
                trigger=services.SAFE_CARE_TRIGGER, subject=f"gap:{gap.pk}"
            )
            if access.has_capability(request.user, "escalations.view")
            else [],
            "breadcrumbs": [*CRUMBS, ("Service review log", "workflows:gap_list", None)],
        },
    )


@requires("practice.view")
def gap_history(request, pk: int):
    gap = get_object_or_404(selectors.gap_list(user=request.user), pk=pk)
    return history_page(
        request,
        gap,
        f"History of gap {gap.pk}",
        [
            *CRUMBS,
            ("Service review log", "workflows:gap_list", None),
            (str(gap), "workflows:gap_detail", gap.pk),
        ],
    )


@requires("practice.record_gaps")
@require_http_methods(["GET", "POST"])
def gap_new(request, pk: int):
    version = _version(request, pk)
    if not _can(request, "practice.record_gaps", version.map):
        raise PermissionDenied("You cannot log gaps for this service.")
    form = GapForm(request.POST or None, steps=version.steps.all())
    if request.method == "POST" and form.is_valid():
        try:
            gap = services.gap_record(actor=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            apply_validation_error(form, error)
        else:
            note = (
                " It affects safe care, so it has been escalated to the senior leadership team."
                if gap.affects_safe_care
                else ""
            )
            messages.success(
                request, f"{gap.get_kind_display()} logged at step {gap.step.position}.{note}"
            )
            return redirect(f"{version.get_absolute_url()}?saved={gap.idempotency_key}#gaps")
    return render(
        request,
        "workflows/gap_form.html",
        {"version": version, "form": form, "breadcrumbs": _crumbs(version)},
    )


# Staff testing ---------------------------------------------------------------------------------


@requires("practice.view")
def version_tests(request, pk: int):
    version = _version(request, pk, "practice.view")
    tests = list(version.tests.select_related("step", "tested_by"))
    return render(
        request,
        "workflows/test_list.html",
        {
            "version": version,
            "tests": tests,
            "failed": sum(1 for t in tests if t.failed),
            "can_test": version.status == WorkflowVersion.Status.UNDER_TEST
            and _can(request, "practice.record_tests", version.map),
            "breadcrumbs": _crumbs(version),
        },
    )


@requires("practice.record_tests")
@require_http_methods(["GET", "POST"])
def test_new(request, pk: int):
    version = _version(request, pk, "practice.record_tests")
    if version.status != WorkflowVersion.Status.UNDER_TEST:
        messages.error(request, "Only a version under test takes staff tests.")
        return redirect(version)
    # The last test's step, role and shift stay chosen: the next test is usually the same shift.
    initial = {k: request.GET[k] for k in ("step", "staff_role", "shift") if request.GET.get(k)}
    form = StaffTestForm(request.POST or None, steps=version.steps.all(), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            test, created = services.staff_test_record(actor=request.user, **data)
        except (ValidationError, PermissionDenied) as error:
            apply_validation_error(form, error)
        else:
            if created:
                messages.success(
                    request,
                    f"Test of step {test.step.position} recorded: {test.result.lower()}. "
                    "Record the next one below.",
                )
            query = (
                f"?step={test.step_id}&staff_role={test.staff_role}&shift={test.shift}"
                f"&saved={test.idempotency_key}"
            )
            return redirect(reverse("workflows:test_new", args=[version.pk]) + query)
    if request.method == "POST":
        # A fresh key for the corrected submission; the failed one saved nothing.
        form.data = form.data.copy()
        form.data["idempotency_key"] = str(uuid.uuid4())
    return render(
        request,
        "workflows/test_form.html",
        {
            "version": version,
            "form": form,
            "recorded": version.tests.filter(tested_on=timezone.localdate()).count(),
            "breadcrumbs": _crumbs(version),
        },
    )


# Quality findings ------------------------------------------------------------------------------


@requires("workflows.record_findings")
@require_http_methods(["GET", "POST"])
def finding_new(request, pk: int):
    version = _version(request, pk, "workflows.record_findings")
    workflow_map = version.map
    if version.status != WorkflowVersion.Status.UNDER_TEST or workflow_map.is_template:
        messages.error(request, "Quality findings are recorded on a service's version under test.")
        return redirect(version)
    form = FindingForm(
        request.POST or None,
        tests=version.tests.select_related("step"),
        gaps=PracticeGap.objects.filter(step__version__map=workflow_map).select_related("step"),
        # Audits from the month testing began: the ones that can show the version's effect.
        audits=selectors.audits_for_evidence(
            user=request.user,
            service=workflow_map.service,
            since=timezone.localdate(version.test_started_at),
        ),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.finding_record(
                actor=request.user,
                version=version,
                consistency=data["consistency"],
                record_quality=data["record_quality"],
                risk_visibility=data["risk_visibility"],
                summary=data["summary"],
                tests=list(data["tests"]),
                gaps=list(data["gaps"]),
                audit_evidence=form.audit_evidence(),
            )
        except (ValidationError, PermissionDenied) as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Quality finding recorded on version {version.number}.")
            return redirect(version.get_absolute_url() + "#findings")
    return render(
        request,
        "workflows/finding_form.html",
        {"version": version, "form": form, "breadcrumbs": _crumbs(version)},
    )


# The quarterly workflow governance review ------------------------------------------------------


@requires("workflows.quarterly_review")
def quarterly_review(request, pk: int):
    cycle = get_object_or_404(
        kernel_selectors.review_list(user=request.user).filter(kind=QUARTERLY_REVIEW.code), pk=pk
    )
    organisation = cycle.organisation
    services_here = list(organisation.services.filter(is_active=True).order_by("name"))
    at = cycle.signed_off_at if cycle.is_frozen else None
    rows = selectors.workflow_grid(organisation=organisation, services=[], at=at)
    return render(
        request,
        "workflows/quarterly_review.html",
        {
            "cycle": cycle,
            "at": at,
            "evidence": selectors.quarter_evidence(
                organisation=organisation, services=services_here, quarter=cycle.period, at=at
            ),
            "templates": list(zip(CoreWorkflow.choices, rows[0].cells, strict=True)),
            "escalations": kernel_selectors.escalation_list(user=request.user).filter(
                organisation=organisation,
                trigger__startswith="workflows.",
                raised_at__date__gte=cycle.period_start,
                raised_at__date__lte=cycle.period_end,
            ),
            "breadcrumbs": [
                ("Reviews", "review_list", None),
                (str(cycle), "review_detail", cycle.pk),
            ],
        },
    )
