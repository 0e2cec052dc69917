"""Services and people in bulk: upload a CSV, see every problem or what would change, confirm.

The rows of a checked file are held in the session under the file's sha256 until they are
confirmed; on confirm the plan is worked out again from those rows and must be the one the page
showed (its fingerprint), or the page is shown again with what changed.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from caregov import access, bulk
from caregov.access import requires
from caregov.forms import PlainMessagesMixin
from caregov.mfa import fresh_identity_required

SERVICES_KEY = "caregov.bulk.services"
PEOPLE_KEY = "caregov.bulk.people"


class UploadForm(PlainMessagesMixin, forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Saved as CSV UTF-8, at most 2 MB and 5,000 rows.",
        error_messages={"required": "Choose the CSV file to upload."},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > bulk.MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {bulk.MAX_BYTES // (1024 * 1024)} MB. Split it into "
                "smaller files and upload each."
            )
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(
                "Choose a CSV file (.csv). In a spreadsheet: Save as, then CSV UTF-8."
            )
        return upload


def _template_response(name: str, columns: list[str], example: list[str]) -> HttpResponse:
    response = HttpResponse(
        "\ufeff" + bulk.template_csv(columns, example), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _hold(request, key: str, *, organisation, content: bytes, rows: list[dict], name: str) -> str:
    sha = bulk.sha256(content)
    request.session[key] = {"sha": sha, "org": organisation.pk, "rows": rows, "name": name}
    return sha


def _held(request, key: str, *, organisation, sha: str | None) -> dict | None:
    held = request.session.get(key)
    if not held or not sha or held["sha"] != sha or held["org"] != organisation.pk:
        return None
    return held


def _problems_page(request, kind: dict, *, form, problems, file_name=""):
    shown = problems[: bulk.MAX_PROBLEMS_SHOWN]
    return render(
        request,
        "caregov/bulk_upload.html",
        {
            **kind,
            "form": form,
            "problems": shown,
            "problems_more": len(problems) - len(shown),
            "problem_count": len(problems),
            "file_name": file_name,
        },
    )


def _upload(request, kind: dict, *, read, plan_for, key: str, preview):
    """The upload page, its problems, and (once the file is clean) a redirect to its preview."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not form.is_valid():
            return _problems_page(request, kind, form=form, problems=[])
        upload = form.cleaned_data["file"]
        content = upload.read()
        reading = read(content)
        problems = reading.problems
        if not reading.fatal:
            problems = reading.with_plan_problems(plan_for(reading.rows).problems)
        if problems:
            return _problems_page(
                request, kind, form=UploadForm(), problems=problems, file_name=upload.name
            )
        sha = _hold(
            request,
            key,
            organisation=kind["organisation"],
            content=content,
            rows=reading.rows,
            name=upload.name,
        )
        return redirect(f"{request.path}?file={sha}")
    sha = request.GET.get("file")
    if sha:
        held = _held(request, key, organisation=kind["organisation"], sha=sha)
        if held is None:
            messages.warning(
                request, "That file is no longer waiting to be confirmed. Upload it again."
            )
            return redirect(request.path)
        return preview(held)
    return _problems_page(request, kind, form=form, problems=[])


def _held_for_confirm(request, key: str, organisation):
    held = _held(request, key, organisation=organisation, sha=request.POST.get("file"))
    if held is None:
        messages.warning(
            request, "That file is no longer waiting to be confirmed. Upload it again."
        )
    return held


# Services -------------------------------------------------------------------------------------


def _services_kind(organisation) -> dict:
    return {
        "organisation": organisation,
        "what": "services",
        "title": "Add or update services from a spreadsheet",
        "back_url": reverse("service_list"),
        "back_label": "Back to services",
        "template_url": reverse("services_upload_template"),
        "columns": bulk.SERVICE_COLUMNS,
        "optional": bulk.SERVICE_OPTIONAL,
    }


@requires("services.manage")
@require_GET
def services_upload_template(request):
    return _template_response(
        "caregov-services-template.csv", bulk.SERVICE_COLUMNS, bulk.SERVICE_EXAMPLE
    )


@requires("services.manage")
@require_http_methods(["GET", "POST"])
def services_upload(request):
    organisation = access.own_organisation_where(request, "services.manage")
    kind = _services_kind(organisation)

    def plan_for(rows):
        return bulk.services_plan(organisation=organisation, rows=rows)

    def preview(held, *, changed=False):
        plan = plan_for(held["rows"])
        if plan.problems:
            return _problems_page(
                request, kind, form=UploadForm(), problems=plan.problems, file_name=held["name"]
            )
        return render(
            request,
            "caregov/bulk_services_preview.html",
            {
                **kind,
                "plan": plan,
                "held": held,
                "changed": changed,
                **bulk.describe_services_plan(plan),
            },
        )

    if request.method == "POST" and "confirm" in request.POST:
        held = _held_for_confirm(request, SERVICES_KEY, organisation)
        if held is None:
            return redirect("services_upload")
        plan = plan_for(held["rows"])
        if plan.problems or plan.fingerprint != request.POST.get("plan"):
            return preview(held, changed=True)
        try:
            bulk.services_apply(actor=request.user, organisation=organisation, plan=plan)
        except ValidationError as error:
            problems = [bulk.Problem(0, "", m) for m in error.messages]
            return _problems_page(request, kind, form=UploadForm(), problems=problems)
        del request.session[SERVICES_KEY]
        messages.success(
            request,
            f"{_count(len(plan.creates), 'service')} added and "
            f"{_count(len(plan.updates), 'service')} updated from {held['name']}.",
        )
        return redirect("service_list")
    return _upload(
        request,
        kind,
        read=bulk.read_services,
        plan_for=plan_for,
        key=SERVICES_KEY,
        preview=preview,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# People ---------------------------------------------------------------------------------------


def _people_kind(organisation) -> dict:
    return {
        "organisation": organisation,
        "what": "people",
        "title": "Invite people and set their roles from a spreadsheet",
        "back_url": reverse("person_list"),
        "back_label": "Back to people",
        "template_url": reverse("people_upload_template"),
        "columns": bulk.PEOPLE_COLUMNS,
        "optional": bulk.PEOPLE_OPTIONAL,
    }


@requires("people.manage")
@require_GET
def people_upload_template(request):
    return _template_response(
        "caregov-people-template.csv", bulk.PEOPLE_COLUMNS, bulk.PEOPLE_EXAMPLE
    )


def _people_preview(request, kind, held, *, changed=False, ticked=()):
    organisation = kind["organisation"]
    plan = bulk.people_plan(actor=request.user, organisation=organisation, rows=held["rows"])
    if plan.problems:
        return _problems_page(
            request, kind, form=UploadForm(), problems=plan.problems, file_name=held["name"]
        )
    return render(
        request,
        "caregov/bulk_people_preview.html",
        {
            **kind,
            "plan": plan,
            "held": held,
            "changed": changed,
            "ticked": set(ticked),
            **bulk.describe_people_plan(organisation=organisation, plan=plan),
        },
    )


@fresh_identity_required("give and remove roles from a spreadsheet")
def _people_confirm(request, *, organisation):
    kind = _people_kind(organisation)
    held = _held_for_confirm(request, PEOPLE_KEY, organisation)
    if held is None:
        return redirect("people_upload")
    ticked = {int(v) for v in request.POST.getlist("deactivate") if v.isdigit()}
    plan = bulk.people_plan(actor=request.user, organisation=organisation, rows=held["rows"])
    if plan.problems or plan.fingerprint != request.POST.get("plan"):
        return _people_preview(request, kind, held, changed=True, ticked=ticked)
    deactivate = ticked & set(plan.leavers)
    try:
        bulk.people_apply(
            actor=request.user,
            organisation=organisation,
            plan=plan,
            deactivate=deactivate,
            base_url=request.build_absolute_uri("/"),
            request=request,
        )
    except ValidationError as error:
        problems = [bulk.Problem(0, "", m) for m in error.messages]
        return _problems_page(request, kind, form=UploadForm(), problems=problems)
    del request.session[PEOPLE_KEY]
    roles_changed = len(plan.grants) + len(plan.removals)
    messages.success(
        request,
        f"From {held['name']}: {_count(len(plan.invites), 'invitation')} sent, "
        f"{_count(roles_changed, 'role')} given or removed, "
        f"{_count(len(deactivate), 'login')} deactivated.",
    )
    return redirect("person_list")


@requires("people.manage")
@require_http_methods(["GET", "POST"])
def people_upload(request):
    organisation = access.own_organisation_where(request, "people.manage")
    kind = _people_kind(organisation)
    if request.method == "POST" and "confirm" in request.POST:
        return _people_confirm(request, organisation=organisation)
    return _upload(
        request,
        kind,
        read=bulk.read_people,
        plan_for=lambda rows: bulk.people_plan(
            actor=request.user, organisation=organisation, rows=rows
        ),
        key=PEOPLE_KEY,
        preview=lambda held: _people_preview(request, kind, held),
    )
