"""My work, services, people and the security log."""

from __future__ import annotations

from contextlib import suppress

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caregov import access, getting_started, mfa, selectors, services
from caregov.access import requires
from caregov.filters import PersonFilter, SecurityEventFilter, ServiceFilter
from caregov.forms import (
    InviteForm,
    MembershipForm,
    PersonForm,
    ServiceForm,
    apply_validation_error,
)
from caregov.history import history_entries
from caregov.mfa import fresh_identity_required
from caregov.models import Membership, Service
from caregov.views.lists import csv_response, filtered_page, wants_csv


@requires("work.view")
def home(request):
    from caregov.models import Action

    user = request.user
    memberships = selectors.my_memberships(user=user)
    visible = selectors.service_list(user=user).filter(is_active=True)
    context = {"memberships": memberships, "services": visible}
    checklist = getting_started.checklist_for(user=user)
    if checklist is not None and checklist.finished:
        # Every step is done: remembered, so the list never comes back for this organisation.
        # (A step undone in the same moment leaves it unrecorded: the list shows next time.)
        with suppress(ValidationError):
            services.getting_started_finish(
                actor=user, organisation=user.organisation, at=timezone.now()
            )
        checklist = None
    context["getting_started"] = checklist
    if any(
        access.has_capability(user, c) for c in ("escalations.view", "actions.view", "reviews.view")
    ):
        context["decisions"] = selectors.needs_attention(user=user, at=timezone.now())
    if access.has_capability(user, "actions.view"):
        mine = selectors.action_list(user=user).filter(owner=user)
        context["my_actions"] = list(mine.filter(status=Action.Status.OPEN).order_by("due_on")[:20])
        context["my_checks"] = list(
            mine.filter(
                status=Action.Status.DONE, effectiveness="", effectiveness_due_on__isnull=False
            ).order_by("effectiveness_due_on")[:10]
        )
    return render(request, "caregov/home.html", context)


# Services ---------------------------------------------------------------------------------


@requires("services.view")
def service_list(request):
    filterset = ServiceFilter(
        request.GET or None, queryset=selectors.service_list(user=request.user)
    )
    context = filtered_page(request, filterset)
    context["can_manage"] = access.has_organisation_capability(request.user, "services.manage")
    return render(request, "caregov/service_list.html", context)


@requires("services.view")
def service_detail(request, pk: int):
    service = get_object_or_404(selectors.service_list(user=request.user), pk=pk)
    # A commissioner reads the service, not who works there.
    can_see_staff = access.has_capability(request.user, "services.staff", service)
    return render(
        request,
        "caregov/service_detail.html",
        {
            "service": service,
            "breadcrumbs": [("Services", "service_list", None)],
            "can_see_staff": can_see_staff,
            "people": selectors.service_people(service=service) if can_see_staff else [],
            "phase_history": [
                e
                for e in history_entries(service)
                if any(c.field == "Implementation phase" for c in e.changes)
            ],
            "can_manage": access.has_capability(request.user, "services.manage", service),
            "can_see_history": access.has_capability(request.user, "services.history", service),
        },
    )


@requires("services.history")
def service_history(request, pk: int):
    service = get_object_or_404(
        selectors.service_list(user=request.user, capability="services.history"), pk=pk
    )
    return render(
        request,
        "caregov/history.html",
        {
            "object": service,
            "title": f"History of {service.name}",
            "entries": history_entries(service),
            "breadcrumbs": [
                ("Services", "service_list", None),
                (service.name, "service_detail", service.pk),
            ],
        },
    )


@requires("services.manage")
@require_http_methods(["GET", "POST"])
def service_create(request):
    organisation = access.own_organisation_where(request, "services.manage")
    form = ServiceForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            service = services.service_create(
                actor=request.user, organisation=organisation, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{service.name} added.")
            return redirect("service_detail", pk=service.pk)
    return render(request, "caregov/service_form.html", {"form": form, "service": None})


@requires("services.manage")
@require_http_methods(["GET", "POST"])
def service_edit(request, pk: int):
    service = get_object_or_404(
        selectors.service_list(user=request.user, capability="services.manage"), pk=pk
    )
    form = ServiceForm(request.POST or None, instance=service, organisation=service.organisation)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_update(actor=request.user, service=service, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Changes to {form.cleaned_data['name']} saved.")
            return redirect("service_detail", pk=service.pk)
    if request.method == "POST":
        service.refresh_from_db()
    return render(request, "caregov/service_form.html", {"form": form, "service": service})


# People -----------------------------------------------------------------------------------


def _person_or_404(request, pk: int):
    return get_object_or_404(selectors.person_list(user=request.user), pk=pk)


@requires("people.view")
def person_list(request):
    people = selectors.person_list(user=request.user)
    filterset = PersonFilter(
        request.GET or None,
        queryset=people,
        services=Service.objects.filter(organisation_id=request.user.organisation_id),
    )
    return render(request, "caregov/person_list.html", filtered_page(request, filterset))


@requires("people.view")
def person_detail(request, pk: int):
    person = _person_or_404(request, pk)
    return render(
        request,
        "caregov/person_detail.html",
        {
            "person": person,
            "breadcrumbs": [("People", "person_list", None)],
            "memberships": person.memberships.select_related("service"),
            "membership_form": MembershipForm(organisation=person.organisation),
            "can_manage": access.has_organisation_capability(request.user, "people.manage"),
            "second_factor": mfa.second_factor_summary(person),
            "second_factor_required": mfa.second_factor_required(person),
        },
    )


@requires("people.view")
def person_history(request, pk: int):
    person = _person_or_404(request, pk)
    memberships = Membership.history.filter(user_id=person.pk).select_related("history_user")
    return render(
        request,
        "caregov/history.html",
        {
            "object": person,
            "title": f"History of {person}",
            "entries": history_entries(person),
            "membership_records": memberships.order_by("-history_date"),
            "breadcrumbs": [
                ("People", "person_list", None),
                (str(person), "person_detail", person.pk),
            ],
        },
    )


@requires("people.manage")
@require_http_methods(["GET", "POST"])
def person_invite(request):
    organisation = request.user.organisation
    form = InviteForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = services.person_invite(
                actor=request.user,
                organisation=organisation,
                email=data["email"],
                full_name=data["full_name"],
                job_title=data["job_title"],
                role=data["role"],
                service=data["service"],
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, f"Invitation sent to {person.email}. They set their own password."
            )
            return redirect("person_detail", pk=person.pk)
    return render(request, "caregov/person_invite.html", {"form": form})


@requires("people.manage")
@require_http_methods(["GET", "POST"])
def person_edit(request, pk: int):
    person = _person_or_404(request, pk)
    form = PersonForm(
        request.POST or None, initial={"full_name": person.full_name, "job_title": person.job_title}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.person_update(actor=request.user, user=person, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Details for {person.email} saved.")
            return redirect("person_detail", pk=person.pk)
    return render(request, "caregov/person_edit.html", {"form": form, "person": person})


@requires("people.manage")
@require_http_methods(["GET", "POST"])
@fresh_identity_required("give a role")
def membership_add(request, pk: int):
    person = _person_or_404(request, pk)
    form = MembershipForm(request.POST or None, organisation=person.organisation)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.membership_give(
                actor=request.user,
                user=person,
                role=form.cleaned_data["role"],
                service=form.cleaned_data["service"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{person} is now {membership}.")
            return redirect("person_detail", pk=person.pk)
    return render(request, "caregov/membership_form.html", {"form": form, "person": person})


@requires("people.manage")
@require_http_methods(["GET", "POST"])
@fresh_identity_required("remove a role")
def membership_remove(request, pk: int, membership_pk: int):
    person = _person_or_404(request, pk)
    membership = get_object_or_404(person.memberships, pk=membership_pk)
    if request.method == "POST":
        label = str(membership)
        services.membership_remove(actor=request.user, membership=membership)
        messages.success(request, f"Removed the role {label} from {person}.")
        return redirect("person_detail", pk=person.pk)
    return render(
        request,
        "caregov/confirm.html",
        {
            "title": f"Remove the role {membership} from {person}?",
            "explanation": "They lose what this role lets them see and do straight away. "
            "The change is kept in their history.",
            "button": "Remove role",
            "cancel_url": person.get_absolute_url(),
            "destructive": True,
        },
    )


@requires("people.manage")
@require_http_methods(["GET", "POST"])
def person_deactivate(request, pk: int):
    person = _person_or_404(request, pk)
    if request.method == "POST":
        try:
            services.person_deactivate(actor=request.user, user=person, request=request)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"{person}'s login is deactivated and their sessions have ended."
            )
        return redirect("person_detail", pk=person.pk)
    return render(
        request,
        "caregov/confirm.html",
        {
            "title": f"Deactivate {person}'s login?",
            "explanation": "They will be signed out everywhere and cannot sign in again. "
            "Everything they recorded stays, with their name on it. "
            "You can reactivate the login later.",
            "button": "Deactivate login",
            "cancel_url": person.get_absolute_url(),
            "destructive": True,
        },
    )


@requires("people.manage")
@require_http_methods(["GET", "POST"])
def person_reactivate(request, pk: int):
    person = _person_or_404(request, pk)
    if request.method == "POST":
        services.person_reactivate(actor=request.user, user=person, request=request)
        messages.success(request, f"{person}'s login is active again.")
        return redirect("person_detail", pk=person.pk)
    return render(
        request,
        "caregov/confirm.html",
        {
            "title": f"Reactivate {person}'s login?",
            "explanation": "They can sign in again with the roles they still hold.",
            "button": "Reactivate login",
            "cancel_url": person.get_absolute_url(),
            "destructive": False,
        },
    )


# Security log -----------------------------------------------------------------------------


@requires("security.view")
def security_event_list(request):
    filterset = SecurityEventFilter(
        request.GET or None, queryset=selectors.security_event_list(user=request.user)
    )
    if wants_csv(request):
        return csv_response(
            "security-log.csv",
            [
                ("When", lambda e: e.created_at),
                ("What happened", lambda e: e.get_kind_display()),
                ("Person", lambda e: e.user),
                ("Email given", lambda e: e.email),
                ("Address", lambda e: e.ip_address),
                ("Page", lambda e: e.path),
                ("Detail", lambda e: e.detail),
            ],
            filterset.qs,
        )
    return render(
        request, "caregov/security_event_list.html", filtered_page(request, filterset, page_size=50)
    )
