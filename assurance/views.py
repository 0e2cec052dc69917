"""Data assurance pages: the framework, figures per service and month, ECM imports, record audits
on a tablet, the monthly trend review, the cross-service comparison and the board's reliance
decision. Each view declares its capability; records outside the user's services answer 404."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation, ValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from assurance import charts, selectors, services
from assurance import mapping as mapping_module
from assurance.figures import latest_import
from assurance.filters import AuditFilter, ImportFilter
from assurance.forms import (
    AuditStartForm,
    CheckActionForm,
    ComparisonActionForm,
    ComparisonForm,
    CorrectAuditForm,
    DiscardAuditForm,
    GapCauseForm,
    ImportForm,
    MappingForm,
    RecordForm,
    RelianceForm,
    SubmitAuditForm,
    ThresholdForm,
    last_complete_month,
)
from assurance.measures import CHECKED, MEASURES, Rating, Source
from assurance.models import (
    Audit,
    AuditAgreement,
    AuditCheck,
    AuditRecord,
    Comparison,
    EcmImport,
    ImportProfile,
    RelianceDecision,
    ThresholdReview,
    ThresholdVersion,
)
from assurance.tasks import import_ecm_export
from caregov import access
from caregov import selectors as kernel_selectors
from caregov.access import public, requires
from caregov.cadence import Cadence, parse_month, parse_quarter, period_containing, quarter_key
from caregov.forms import apply_validation_error
from caregov.history import history_entries
from caregov.models import Action, Service
from caregov.services.governance import can_conduct_review
from caregov.views.governance import confirm_page, form_page, history_page
from caregov.views.lists import csv_response, filtered_page, wants_csv

TREND_MONTHS = 6
#: What the audit pages need from /static/ to work offline: the service worker keeps a copy.
OFFLINE_ASSETS = (
    "css/caregov.css",
    "js/caregov.js",
    "js/queue.js",
    "js/audit.js",
    "img/favicon.svg",
)


def _month_from(request, default=None):
    text = request.GET.get("period", "")
    if text:
        try:
            return parse_month(text)
        except (ValueError, TypeError):
            messages.error(
                request, f"“{text}” is not a month like 2026-10; showing the last complete month."
            )
    return default or last_complete_month()


def _month_nav(month) -> dict:
    """The months either side, for the period links; no link into the future."""
    following = month.next()
    return {
        "previous": month.previous(),
        "next": following if following.start <= timezone.localdate() else None,
    }


def _service(request, pk: int, capability: str) -> Service:
    return get_object_or_404(access.services_where(request.user, capability), pk=pk)


# Overview and framework ------------------------------------------------------------------------


@requires("assurance.view")
def overview(request):
    month = _month_from(request)
    service_list = list(
        access.services_where(request.user, "assurance.view")
        .filter(is_active=True)
        .order_by("name")
    )
    months = selectors.months_back(month, TREND_MONTHS)
    rows = []
    table = None
    if service_list:
        table = selectors.FigureTable(request.user.organisation, service_list, months)
        for service in service_list:
            rows.append(
                {
                    "service": service,
                    "figures": [table.figure(service.pk, month.start, code) for code in MEASURES],
                }
            )
    user = request.user
    return render(
        request,
        "assurance/overview.html",
        {
            "month": month,
            "updating": table.updating_note if table else "",
            **_month_nav(month),
            "measures": list(MEASURES.values()),
            "rows": rows,
            "escalations": selectors.open_assurance_escalations(
                organisation=user.organisation, services=service_list
            )[:20]
            if access.has_capability(user, "escalations.view")
            else [],
            "can_import": access.has_capability(user, "ecm.import"),
            "can_audit": access.has_capability(user, "audits.conduct"),
            "can_compare": bool(access.organisation_ids_where(user, "assurance.compare")),
            "can_reliance": bool(access.organisation_ids_where(user, "reliance.view")),
        },
    )


@requires("assurance.view")
def framework(request):
    book = selectors.ThresholdBook(request.user.organisation)
    today = timezone.localdate()
    measures = []
    for code, measure in MEASURES.items():
        measures.append(
            {
                "measure": measure,
                "now": book.in_force(code, today.replace(day=1)),
                "versions": list(reversed(book.versions.get(code, []))),
            }
        )
    return render(
        request,
        "assurance/framework.html",
        {
            "measures": measures,
            "last_review": selectors.threshold_review_latest(
                organisation=request.user.organisation
            ),
            "can_configure": bool(
                access.organisation_ids_where(request.user, "measures.configure")
            ),
        },
    )


@requires("measures.configure")
@require_http_methods(["GET", "POST"])
def threshold_edit(request, code: str):
    organisation = access.own_organisation_where(request, "measures.configure")
    if code not in MEASURES:
        raise Http404
    measure = MEASURES[code]
    current = selectors.ThresholdBook(organisation).in_force(
        code, timezone.localdate().replace(day=1)
    )
    form = ThresholdForm(
        request.POST or None,
        initial={
            "effective_from": timezone.localdate().strftime("%Y-%m"),
            "target": current.target,
            "green_from": current.green_from,
            "amber_from": current.amber_from,
        },
    )
    return form_page(
        request,
        form,
        save=lambda data: services.threshold_version_save(
            actor=request.user,
            organisation=organisation,
            measure=code,
            effective_from=data["effective_from"].start,
            target=data["target"],
            green_from=data["green_from"],
            amber_from=data["amber_from"],
            reason=data["reason"],
        ),
        success=lambda data: (
            f"New thresholds for {measure.name} apply from "
            f"{data['effective_from'].label}. Earlier months keep the thresholds they were judged by."
        ),
        done_url=reverse("assurance:framework"),
        heading=f"Change the thresholds for {measure.name}",
        lead=f"{measure.definition} {measure.scoring}",
        button="Save thresholds",
        back_url=reverse("assurance:framework"),
    )


@requires("measures.configure")
@require_http_methods(["GET", "POST"])
def thresholds_reviewed(request):
    organisation = access.own_organisation_where(request, "measures.configure")
    if request.method != "POST":
        return confirm_page(
            request,
            title="Confirm you have reviewed the measures and thresholds?",
            explanation="Confirm once you have read what each measure means and checked that "
            "its target and its green and amber thresholds suit your services. Nothing changes "
            "in the figures: the confirmation is kept, with your name and today's date, in the "
            "thresholds' history. Change any thresholds that do not suit you first.",
            button="Confirm thresholds reviewed",
            cancel_url=reverse("assurance:framework"),
        )
    review, made = services.thresholds_review_confirm(
        actor=request.user, organisation=organisation, at=timezone.now()
    )
    day = f"{review.reviewed_on:%-d %b %Y}"
    if made:
        messages.success(request, f"Measures and thresholds confirmed as reviewed on {day}.")
    else:
        messages.info(
            request,
            f"The measures and thresholds were already confirmed as reviewed on {day} by "
            f"{review.reviewed_by}.",
        )
    return redirect("assurance:framework")


@requires("assurance.view")
def threshold_history(request):
    versions = [
        *ThresholdVersion.objects.filter(organisation=request.user.organisation),
        *ThresholdReview.objects.filter(organisation=request.user.organisation),
    ]
    entries = []
    for version in versions:
        for entry in history_entries(version):
            entries.append((version, entry))
    entries.sort(key=lambda pair: pair[1].when, reverse=True)
    return render(request, "assurance/threshold_history.html", {"entries": entries})


# Figures for one service and month -------------------------------------------------------------


@requires("assurance.view")
def service_month(request, pk: int, period: str):
    service = _service(request, pk, "assurance.view")
    try:
        month = parse_month(period)
    except (ValueError, TypeError):
        raise Http404 from None
    months = selectors.months_back(month, 12)
    table = selectors.FigureTable(service.organisation, [service], months)
    measures = []
    for code, measure in MEASURES.items():
        judged = table.figure(service.pk, month.start, code)
        audited = (
            table.figure(service.pk, month.start, code, Source.AUDIT)
            if measure.source == Source.ECM
            else None
        )
        measures.append(
            {
                "measure": measure,
                "figure": judged,
                "audited": audited,
                "trend": table.trend(service.pk, code),
            }
        )
    reliability = table.figure(service.pk, month.start, "dashboard_reliability")
    tolerance = selectors.divergence_tolerance(service.organisation)
    divergence = reliability.detail.get("divergence")
    # The audits themselves are staff-level records: listed for those who may open them. Whether
    # one exists is a fact about the figures, told to everyone who reads them.
    can_see_audits = access.has_capability(request.user, "audits.view", service)
    audits = selectors.audit_list(user=request.user).filter(
        service=service, period_start=month.start
    )
    this_month = Audit.objects.filter(service=service, period_start=month.start)
    has_audit = this_month.exists()
    has_submitted_audit = this_month.filter(status=Audit.Status.SUBMITTED).exists()
    can_see_imports = access.has_capability(request.user, "ecm.import", service)
    return render(
        request,
        "assurance/service_month.html",
        {
            "service": service,
            "month": month,
            "updating": table.updating_note,
            **_month_nav(month),
            "measures": measures,
            "months": months,
            # The chart's numbers as a table: a row a month, newest first, a column a measure.
            "by_month": [
                (m, [row["trend"][i] for row in measures])
                for i, m in reversed(list(enumerate(months)))
            ],
            "reliability": reliability,
            "reliability_tolerance": tolerance,
            "divergent": divergence is not None and Decimal(divergence) >= Decimal(str(tolerance)),
            "audits": audits,
            "can_see_audits": can_see_audits,
            "has_audit": has_audit,
            "has_submitted_audit": has_submitted_audit,
            "imports": EcmImport.objects.filter(service=service, period_start=month.start)
            if can_see_imports
            else [],
            "agreements": AuditAgreement.objects.filter(service=service, period_start=month.start),
            "has_import": latest_import(service, month.start) is not None,
            "chart": charts.trend_chart(service.name, measures, months),
        },
    )


# ECM imports -----------------------------------------------------------------------------------


@requires("ecm.import")
def import_list(request):
    filterset = ImportFilter(
        request.GET,
        queryset=selectors.import_list(user=request.user),
        request=request,
    )
    if wants_csv(request):
        return csv_response("ecm-imports.csv", IMPORT_COLUMNS, filterset.qs)
    return render(request, "assurance/import_list.html", filtered_page(request, filterset))


IMPORT_COLUMNS = [
    ("File", lambda i: i.file_name),
    ("Service", lambda i: i.service.name),
    ("Month", lambda i: i.period_label),
    ("Uploaded", lambda i: i.created_at),
    ("Uploaded by", lambda i: i.uploaded_by),
    ("Rows read", lambda i: i.rows_read),
    ("Status", lambda i: i.get_status_display()),
    ("Problems", lambda i: i.problem_count),
    ("Finished", lambda i: i.finished_at),
]


@requires("ecm.import")
@require_http_methods(["GET", "POST"])
def import_new(request):
    service_choices = (
        access.services_where(request.user, "ecm.import")
        .filter(organisation=request.user.organisation, is_active=True)
        .order_by("name")
    )
    form = ImportForm(request.POST or None, request.FILES or None, services=service_choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        earlier = latest_import(data["service"], data["period"].start)
        if earlier is not None and not data["replace"]:
            form.add_error(
                "replace",
                f"{data['service'].name} already has an export for {data['period'].label}: "
                f"{earlier.file_name}, {earlier.rows_read:,} rows, imported "
                f"{timezone.localtime(earlier.finished_at or earlier.created_at):%-d %b %Y}. Tick the "
                "box to replace its figures with this file, and choose the file again.",
            )
            return render(request, "assurance/import_form.html", {"form": form})
        try:
            record, queued = services.import_queue(
                actor=request.user,
                service=data["service"],
                period=data["period"],
                upload=data["file"],
                file_name=data["file"].name,
                tolerance_minutes=data["tolerance_minutes"],
            )
        except services.MappingNeeded as waiting:
            token = uuid.uuid4().hex
            pending = request.session.get(PENDING_KEY, {})
            pending[token] = {
                "path": waiting.pending,
                "service": data["service"].pk,
                "period": data["period"].start.strftime("%Y-%m"),
                "tolerance_minutes": data["tolerance_minutes"],
                "file_name": Path(data["file"].name).name[:255],
            }
            request.session[PENDING_KEY] = pending
            return redirect("assurance:import_map", token=token)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            if queued:
                transaction.on_commit(lambda: import_ecm_export.delay(record.pk))
                messages.success(request, f"{record.file_name} uploaded. Checking every row now.")
            else:
                messages.info(
                    request,
                    f"This file was already imported for {record.service.name}, "
                    f"{record.period_label}. Nothing changed.",
                )
            return redirect(record)
    return render(request, "assurance/import_form.html", {"form": form})


#: Where the import pages sit, for their breadcrumbs.
IMPORT_CRUMBS = [
    ("Data assurance", "assurance:overview", None),
    ("ECM exports", "assurance:import_list", None),
]
PROFILE_CRUMBS = [*IMPORT_CRUMBS, ("Import profiles", "assurance:profile_list", None)]

#: The session's uploads waiting for their mapping: {token: what import_new was given}.
PENDING_KEY = "assurance.pending_imports"


def _guess(columns, field: str) -> str:
    """The column a field most likely comes from: its own name or its label."""
    from assurance.mapping import LABELS, normalise

    for header, personal in zip(columns.header, columns.personal, strict=True):
        if not personal and header in (field, field.replace("_", " "), normalise(LABELS[field])):
            return f"column:{header}"
    return ""


def _mapping_initial(columns) -> dict:
    from assurance.examples import as_fields, example_for_header
    from assurance.mapping import DEFAULT_NO, DEFAULT_YES

    example = example_for_header(columns.header)
    if example is not None:
        initial = _initial_from(
            name=example["name"].replace(" (example)", ""),
            date_format=example["date_format"],
            yes=example["yes"],
            no=example["no"],
            fields=as_fields(example),
        )
    else:
        initial = {"date_format": "iso", "yes_values": ", ".join(DEFAULT_YES)}
        initial["no_values"] = ", ".join(DEFAULT_NO)
        for field in ecm_columns():
            initial[f"field_{field}"] = _guess(columns, field)
    return initial, example


def _initial_from(*, name, date_format, yes, no, fields) -> dict:
    """The mapping form's starting values for a mapping already written down."""
    initial = {
        "name": name,
        "date_format": date_format,
        "yes_values": ", ".join(yes),
        "no_values": ", ".join(no),
    }
    for field, how in fields.items():
        if "column" in how:
            initial[f"field_{field}"] = f"column:{how['column']}"
        elif "value" in how:
            initial[f"field_{field}"], initial[f"value_{field}"] = "fixed", how["value"]
        else:
            initial[f"field_{field}"] = "absent"
    return initial


def ecm_columns() -> list[str]:
    from assurance.ecm import COLUMNS

    return COLUMNS


@requires("ecm.import")
@require_http_methods(["GET", "POST"])
def import_map(request, token: str):
    """Map the columns of an upload that is not in caregov's shape, preview it, save the mapping
    as a profile and queue the import."""
    waiting = request.session.get(PENDING_KEY, {}).get(token)
    if waiting is None:
        return render(request, "assurance/import_map_gone.html", {"crumbs": IMPORT_CRUMBS})
    service = get_object_or_404(
        access.services_where(request.user, "ecm.import").filter(
            organisation=request.user.organisation
        ),
        pk=waiting["service"],
    )
    try:
        path = services.pending_path(waiting["path"])
        columns = mapping_module.read_columns(path) if path.is_file() else None
    except SuspiciousFileOperation:
        columns = None
    if columns is None:
        request.session[PENDING_KEY].pop(token, None)
        request.session.modified = True
        messages.error(request, "That upload is no longer kept. Upload the file again.")
        return redirect("assurance:import_new")
    period = parse_month(waiting["period"])
    initial, example = _mapping_initial(columns)
    form = MappingForm(request.POST or None, initial=initial, columns=columns)
    preview, problems = None, []
    if request.method == "POST" and form.is_valid():
        fields = form.mapped_fields()
        action = request.POST.get("action", "preview")
        personal = {h: p for h, p in zip(columns.header, columns.personal, strict=True) if p}
        errors = mapping_module.mapping_errors(
            names=columns.names,
            fields=fields,
            date_format=form.cleaned_data["date_format"],
            yes=form.words("yes_values"),
            no=form.words("no_values"),
            personal=personal,
        )
        if errors:
            apply_validation_error(form, ValidationError(errors))
        elif action == "save":
            try:
                profile = services.profile_save(
                    actor=request.user,
                    organisation=request.user.organisation,
                    name=form.cleaned_data["name"],
                    names=columns.names,
                    fields=fields,
                    date_format=form.cleaned_data["date_format"],
                    yes=form.words("yes_values"),
                    no=form.words("no_values"),
                    samples=columns.checked,
                )
                with open(path, "rb") as upload:
                    record, queued = services.import_queue(
                        actor=request.user,
                        service=service,
                        period=period,
                        upload=upload,
                        file_name=waiting["file_name"],
                        tolerance_minutes=waiting["tolerance_minutes"],
                        profile=profile,
                    )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                services.pending_discard(waiting["path"])
                request.session[PENDING_KEY].pop(token, None)
                request.session.modified = True
                if queued:
                    transaction.on_commit(lambda: import_ecm_export.delay(record.pk))
                    messages.success(
                        request,
                        f"Mapping {profile.name} saved. {record.file_name} uploaded; checking "
                        "every row now.",
                    )
                else:
                    messages.info(
                        request,
                        f"Mapping {profile.name} saved. This file was already imported for "
                        f"{record.service.name}, {record.period_label}. Nothing changed.",
                    )
                return redirect(record)
        else:
            used = {how["column"] for how in fields.values() if "column" in how}
            read_through = {
                "profile": form.cleaned_data["name"],
                "header": columns.header,
                "fields": fields,
                "date_format": form.cleaned_data["date_format"],
                "yes": form.words("yes_values"),
                "no": form.words("no_values"),
                "ignored": [h for h in columns.header if h not in used],
            }
            preview, problems = services.preview_rows(
                path=path, read_through=read_through, period=period
            )
    samples = [
        {"name": n, "samples": s, "personal": p}
        for n, s, p in zip(columns.names, columns.samples, columns.personal, strict=True)
    ]
    return render(
        request,
        "assurance/import_map.html",
        {
            "form": form,
            "service": service,
            "period": period,
            "file_name": waiting["file_name"],
            "columns": samples,
            "personal": [c for c in samples if c["personal"]],
            "example": example,
            "preview": preview,
            "problems": problems,
            "crumbs": IMPORT_CRUMBS,
        },
    )


@requires("ecm.import")
def profile_list(request):
    profiles = selectors.profile_list(user=request.user)
    return render(
        request, "assurance/profile_list.html", {"profiles": profiles, "crumbs": IMPORT_CRUMBS}
    )


def _profile(request, pk: int) -> ImportProfile:
    return get_object_or_404(selectors.profile_list(user=request.user), pk=pk)


@requires("ecm.import")
def profile_detail(request, pk: int):
    from assurance.mapping import FIELD_HELP, LABELS

    profile = _profile(request, pk)
    rows = []
    for field in ecm_columns():
        how = profile.fields.get(field, {})
        rows.append(
            {
                "field": field,
                "label": LABELS[field],
                "help": FIELD_HELP[field],
                "column": profile.shown_name(how["column"]) if "column" in how else "",
                "value": how.get("value", ""),
                "absent": how.get("absent", False),
            }
        )
    return render(
        request,
        "assurance/profile_detail.html",
        {
            "profile": profile,
            "rows": rows,
            "ignored": [profile.shown_name(c) for c in profile.ignored],
            "imports": selectors.import_list(user=request.user).filter(profile=profile)[:20],
            "crumbs": PROFILE_CRUMBS,
        },
    )


@requires("ecm.import")
@require_http_methods(["GET", "POST"])
def profile_edit(request, pk: int):
    """Change a saved profile: where each field comes from, the date format, the yes and no
    words, its name. Its columns are the file's and stay as they are; a column refused as
    personal data when the profile was saved stays refused."""
    profile = _profile(request, pk)
    columns = mapping_module.profile_columns(profile)
    initial = _initial_from(
        name=profile.name,
        date_format=profile.date_format,
        yes=profile.yes_values,
        no=profile.no_values,
        fields=profile.fields,
    )
    form = MappingForm(request.POST or None, initial=initial, columns=columns)
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_save(
                actor=request.user,
                organisation=request.user.organisation,
                name=form.cleaned_data["name"],
                names=profile.column_names,
                fields=form.mapped_fields(),
                date_format=form.cleaned_data["date_format"],
                yes=form.words("yes_values"),
                no=form.words("no_values"),
                profile=profile,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, f"Profile {profile.name} changed. The next upload is read through it."
            )
            return redirect(profile)
    personal = [
        {"name": name, "personal": why}
        for name, why in zip(columns.names, columns.personal, strict=True)
        if why
    ]
    return render(
        request,
        "assurance/profile_edit.html",
        {
            "form": form,
            "profile": profile,
            "personal": personal,
            "crumbs": [*PROFILE_CRUMBS, (profile.name, "assurance:profile_detail", profile.pk)],
        },
    )


@requires("ecm.import")
def profile_history(request, pk: int):
    profile = _profile(request, pk)
    return history_page(
        request,
        profile,
        f"History of the import profile {profile.name}",
        [*PROFILE_CRUMBS, (profile.name, "assurance:profile_detail", profile.pk)],
    )


@requires("ecm.import")
def import_guide(request):
    from assurance.examples import example_profiles
    from assurance.mapping import FIELD_HELP, LABELS, REQUIRED

    return render(
        request,
        "assurance/import_guide.html",
        {
            "fields": [
                {"field": f, "label": LABELS[f], "help": FIELD_HELP[f], "required": f in REQUIRED}
                for f in ecm_columns()
            ],
            "examples": example_profiles(),
            "crumbs": IMPORT_CRUMBS,
        },
    )


@requires("ecm.import")
def import_template(request):
    """A template CSV in caregov's nine columns, with the guide's eight example rows."""
    from django.http import HttpResponse

    example = Path(settings.BASE_DIR) / "docs" / "ecm-export-example.csv"
    response = HttpResponse(example.read_bytes(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="caregov-ecm-export-template.csv"'
    return response


@requires("ecm.import")
def import_example(request, name: str):
    """One of the example supplier exports under docs/ecm-examples/."""
    from django.http import HttpResponse

    from assurance.examples import DOCS, example_profiles

    known = {e["file"] for e in example_profiles()}
    if name not in known:
        raise Http404
    response = HttpResponse((DOCS / name).read_bytes(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _import(request, pk: int) -> EcmImport:
    return get_object_or_404(selectors.import_list(user=request.user), pk=pk)


@requires("ecm.import")
def import_detail(request, pk: int):
    record = _import(request, pk)
    bytes_read, rows = services.import_progress(record)
    return render(
        request,
        "assurance/import_detail.html",
        {
            "record": record,
            "can_retry": services.import_can_retry(record),
            "rows_so_far": rows,
            "problems_more": max(0, record.problem_count - len(record.problems)),
            "percent": record.progress_percent
            if record.finished
            else min(99, int(100 * bytes_read / record.size_bytes) if record.size_bytes else 0),
            "figures": [
                (MEASURES[code], values)
                for code, values in record.figures.items()
                if code in MEASURES
            ],
        },
    )


@requires("ecm.import")
@require_http_methods(["GET", "POST"])
def import_retry(request, pk: int):
    record = _import(request, pk)
    if request.method != "POST":
        return confirm_page(
            request,
            title=f"Try importing {record.file_name} again?",
            explanation="The worker stopped before it finished, so nothing from this file was "
            "imported. The file you uploaded is kept: it is checked and imported from the start. "
            "You can follow its progress.",
            button="Try again",
            cancel_url=record.get_absolute_url(),
        )
    try:
        services.import_retry(actor=request.user, ecm_import=record)
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        messages.success(request, f"{record.file_name} is queued again. Checking every row now.")
    return redirect(record)


@requires("ecm.import")
def import_progress(request, pk: int):
    record = _import(request, pk)
    bytes_read, rows = services.import_progress(record)
    percent = (
        100
        if record.finished
        else (min(99, int(100 * bytes_read / record.size_bytes)) if record.size_bytes else 0)
    )
    return JsonResponse(
        {
            "status": record.status,
            "finished": record.finished,
            "percent": percent,
            "rows": rows,
            "text": f"Importing: {percent}% read, {rows:,} rows checked so far.",
        }
    )


# Audits ----------------------------------------------------------------------------------------


@requires("audits.view")
def audit_list(request):
    filterset = AuditFilter(
        request.GET, queryset=selectors.audit_list(user=request.user), request=request
    )
    if wants_csv(request):
        return csv_response("audits.csv", AUDIT_COLUMNS, filterset.qs)
    context = filtered_page(request, filterset)
    context["can_audit"] = access.has_capability(request.user, "audits.conduct")
    return render(request, "assurance/audit_list.html", context)


AUDIT_COLUMNS = [
    ("Audit", lambda a: a.pk),
    ("Service", lambda a: a.service.name),
    ("Month", lambda a: a.period_label),
    ("Sample", lambda a: a.get_sampling_display()),
    ("Started by", lambda a: a.started_by),
    ("Started", lambda a: a.started_at),
    ("Status", lambda a: a.get_status_display()),
    ("Submitted by", lambda a: a.submitted_by or ""),
    ("Submitted", lambda a: a.submitted_at),
    ("Corrects audit", lambda a: a.corrects_id or ""),
]


@requires("audits.conduct")
@require_http_methods(["GET", "POST"])
def audit_new(request):
    service_choices = (
        access.services_where(request.user, "audits.conduct")
        .filter(is_active=True, organisation=request.user.organisation)
        .order_by("name")
    )
    form = AuditStartForm(request.POST or None, services=service_choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            audit, created = services.audit_start(
                actor=request.user,
                service=data["service"],
                period=data["period"],
                idempotency_key=data["idempotency_key"],
                references=data["references"] if data["how"] == "typed" else "",
                sample_size=data["sample_size"] if data["how"] == "sample" else None,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            if audit.started_by_id != request.user.pk or audit.service_id != data["service"].pk:
                raise PermissionDenied
            if created:
                messages.success(
                    request, f"Audit started for {audit.service.name}, {audit.period_label}."
                )
                if audit.ecm_import and audit.ecm_import.period_start != audit.period_start:
                    messages.warning(
                        request,
                        f"There is no ECM export for {audit.period_label} yet, so the records were "
                        f"drawn from the latest one, {audit.ecm_import.period_label}.",
                    )
            # The page reached names the start, so the device lets go of the start form's draft.
            first = reverse("assurance:audit_record", args=[audit.pk, 1])
            return redirect(f"{first}?saved={data['idempotency_key']}")
    return render(request, "assurance/audit_start.html", {"form": form})


def _audit(request, pk: int, capability: str = "audits.view") -> Audit:
    return get_object_or_404(selectors.audit_list(user=request.user, capability=capability), pk=pk)


def _record_rows(audit: Audit, user) -> dict:
    """Each audited record with its answers in question order, for the record cards."""
    records = list(audit.records.prefetch_related("checks"))
    questions = [code for code, m in MEASURES.items() if m.question]
    rows = []
    for record in records:
        answers = {c.measure: c for c in record.checks.all()}
        rows.append((record, [answers.get(code) for code in questions]))
    return {
        "records": records,
        "rows": rows,
        "questions": [MEASURES[code] for code in questions],
        "can_conduct": access.has_capability(user, "audits.conduct", audit.service),
    }


@requires("audits.view")
def audit_detail(request, pk: int):
    audit = _audit(request, pk)
    context = _record_rows(audit, request.user)
    return render(
        request,
        "assurance/audit_detail.html",
        {
            "audit": audit,
            **context,
            "unanswered": [r for r in context["records"] if not r.is_answered],
            "submit_form": SubmitAuditForm(initial={"submission_key": uuid.uuid4()}),
            "corrections": audit.corrections.exclude(status=Audit.Status.DISCARDED),
            "may_discard": audit.is_open and audit.started_by_id == request.user.pk,
            "actions": Action.objects.filter(
                finding_ref__startswith=f"assurance.audit:{audit.pk}:"
            ).select_related("owner"),
        },
    )


@requires("audits.view")
def audit_history(request, pk: int):
    audit = _audit(request, pk)
    return history_page(
        request,
        audit,
        f"History of audit {audit.pk}",
        [("Audits", "assurance:audit_list", None)],
    )


def _wants_json(request) -> bool:
    """The device's own requests (a tap on Save, a queue replaying) ask for JSON: they are told
    plainly whether caregov has the answers, and never follow a redirect to find out."""
    return request.headers.get("Accept", "").startswith("application/json")


def _queued_by_someone_else(request) -> bool:
    """A queue carries the id of the person who saved on the device. Sent while another person
    is signed in on the same tablet, it waits for them instead of being saved in their name."""
    queued_by = request.headers.get("X-Caregov-Queued-By", "")
    return bool(queued_by) and queued_by != str(request.user.pk)


def _someone_else_answer(request):
    return JsonResponse(
        {
            "status": "other_person",
            "message": "These answers were kept on this device by someone else. They are sent "
            "when that person signs in here.",
        },
        status=409,
    )


def _closed_answer(audit: Audit):
    return JsonResponse(
        {
            "status": "closed",
            "message": services._closed_message(audit),
            "url": audit.get_absolute_url(),
        },
        status=409,
    )


def _device_audit(audit: Audit, form: RecordForm, user, position: int) -> dict:
    """Everything the record screen needs to carry on without a connection: every record of
    the audit with what the server holds for it, and the messages a save can be refused with."""
    actions = defaultdict(list)
    for action in Action.objects.filter(finding_ref__startswith=f"assurance.audit:{audit.pk}:"):
        reference = action.finding_ref.split(":", 2)[2]
        actions[reference].append({"title": action.title, "url": action.get_absolute_url()})
    records = []
    for record in audit.records.prefetch_related("checks").order_by("position"):
        records.append(
            {
                "id": record.pk,
                "position": record.position,
                "reference": record.reference,
                "url": reverse("assurance:audit_record", args=[audit.pk, record.position]),
                "action_url": reverse(
                    "assurance:audit_check_action", args=[audit.pk, record.position]
                ),
                "saved": record.is_answered,
                "save_key": str(record.save_key) if record.save_key else "",
                "values": form.device_values(record),
                "actions": actions.get(record.reference, []),
            }
        )
    return {
        "id": audit.pk,
        "user": user.pk,
        "title": f"Audit {audit.pk}: {audit.service.name}, {audit.period_label}",
        "service": audit.service.name,
        "period": audit.period_label,
        "position": position,
        "total": len(records),
        "detail_url": audit.get_absolute_url(),
        "submit_url": reverse("assurance:audit_submit", args=[audit.pk]),
        "questions": [
            {"code": code, "question": MEASURES[code].question, "name": MEASURES[code].name}
            for code in CHECKED
        ],
        "answers": dict(AuditCheck.Answer.choices),
        "needs": dict(AuditRecord.Need.choices),
        "messages": services.record_messages(),
        "records": records,
    }


@requires("audits.conduct")
@require_http_methods(["GET", "POST"])
def audit_record(request, pk: int, position: int):
    audit = _audit(request, pk, "audits.conduct")
    record = get_object_or_404(AuditRecord.objects.filter(audit=audit), position=position)
    wants_json = request.method == "POST" and _wants_json(request)
    if wants_json and _queued_by_someone_else(request):
        return _someone_else_answer(request)
    total = audit.records.count()
    form = RecordForm(request.POST or None, record=record)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = services.audit_record_save(
                actor=request.user,
                record=record,
                answers=form.answers(),
                correction_made=data["correction_made"],
                corrected_by=data["corrected_by"],
                corrected_on=data["corrected_on"],
                support_staff=data["support_staff"],
                support_need=data["support_need"],
                save_key=data["save_key"],
            )
        except ValidationError as error:
            audit.refresh_from_db()
            if not audit.is_open:
                if wants_json:
                    return _closed_answer(audit)
                messages.error(request, services._closed_message(audit))
                return redirect(audit)
            apply_validation_error(form, error)
        else:
            if position < total:
                following = reverse("assurance:audit_record", args=[audit.pk, position + 1])
            else:
                following = audit.get_absolute_url()
            if request.POST.get("then") == "action":
                following = reverse("assurance:audit_check_action", args=[audit.pk, position])
            elif position == total and (not wants_json or request.POST.get("then")):
                # Said to the person who tapped Save, not to a queue replaying it later.
                messages.success(
                    request, "Every record checked. Review the answers and submit the audit."
                )
            if wants_json:
                return JsonResponse(
                    {
                        "status": "accepted",
                        "key": str(record.save_key or ""),
                        "position": position,
                        "next": following,
                    }
                )
            # The page reached next names the save, so the device lets go of its copy.
            key = data["save_key"]
            return redirect(f"{following}?saved={key}" if key else following)
    elif not audit.is_open:
        if wants_json:
            return _closed_answer(audit)
        return redirect(audit)
    if wants_json:
        return JsonResponse(
            {
                "status": "refused",
                "errors": {name: list(errs) for name, errs in form.errors.items()},
            },
            status=400,
        )
    return render(
        request,
        "assurance/audit_record.html",
        {
            "audit": audit,
            "record": record,
            "form": form,
            "position": position,
            "total": total,
            "previous": position - 1 if position > 1 else None,
            "device_audit": _device_audit(audit, form, request.user, position),
            "actions": Action.objects.filter(
                finding_ref=f"assurance.audit:{audit.pk}:{record.reference}"
            ),
        },
    )


@requires("audits.conduct")
@require_http_methods(["GET", "POST"])
def audit_check_action(request, pk: int, position: int):
    """Raise an action from this record's failed checks: owner and due date are filled in."""
    audit = _audit(request, pk, "audits.conduct")
    record = get_object_or_404(AuditRecord.objects.filter(audit=audit), position=position)
    if audit.is_discarded:
        return redirect(audit)
    failed = [c for c in record.checks.all() if c.answer == "not_met"]
    if not failed:
        messages.info(
            request, "Nothing on this record was marked Not met, so there is nothing to act on."
        )
        return redirect("assurance:audit_record", pk=audit.pk, position=position)
    people = kernel_selectors.people_who_can_act("actions.manage", audit)
    form = CheckActionForm(
        request.POST or None, people=people, default_owner=audit.service.registered_manager_id
    )
    if request.method == "POST" and form.is_valid():
        measure = request.POST.get("measure", failed[0].measure)
        try:
            action = services.audit_raise_action(
                actor=request.user,
                record=record,
                measure=measure,
                owner=form.cleaned_data["owner"],
                due_on=form.cleaned_data["due_on"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, f"Action raised for {action.owner}, due {action.due_on:%-d %b %Y}."
            )
            if audit.is_frozen:
                return redirect(audit)
            return redirect("assurance:audit_record", pk=audit.pk, position=position)
    return render(
        request,
        "assurance/audit_action.html",
        {"audit": audit, "record": record, "failed": failed, "form": form, "position": position},
    )


@requires("audits.conduct")
@require_http_methods(["GET", "POST"])
def audit_submit(request, pk: int):
    audit = _audit(request, pk, "audits.conduct")
    if request.method == "GET":
        return render(
            request,
            "assurance/audit_submit.html",
            {
                "audit": audit,
                **_record_rows(audit, request.user),
                "form": SubmitAuditForm(initial={"submission_key": uuid.uuid4()}),
                "unanswered": audit.records.filter(saved_at__isnull=True).count(),
            },
        )
    wants_json = _wants_json(request)
    if wants_json and _queued_by_someone_else(request):
        return _someone_else_answer(request)
    form = SubmitAuditForm(request.POST)
    if not form.is_valid():
        text = "The submission could not be read. Reload the page and submit again."
        if wants_json:
            return JsonResponse({"status": "refused", "message": text}, status=400)
        messages.error(request, text)
        return redirect(audit)
    try:
        audit, now = services.audit_submit(
            actor=request.user, audit=audit, submission_key=form.cleaned_data["submission_key"]
        )
    except ValidationError as error:
        text = " ".join(error.messages)
        if wants_json:
            audit.refresh_from_db()
            if not audit.is_open:
                return JsonResponse(
                    {"status": "closed", "message": text, "url": audit.get_absolute_url()},
                    status=409,
                )
            return JsonResponse({"status": "refused", "message": text}, status=400)
        messages.error(request, text)
        return redirect(audit)
    if now:
        text = f"Audit submitted for {audit.service.name}, {audit.period_label}. It is now locked."
        messages.success(request, text)
    else:
        text = "This audit was already submitted; your repeat changed nothing."
        messages.info(request, text)
    if wants_json:
        return JsonResponse(
            {"status": "submitted", "now": now, "message": text, "url": audit.get_absolute_url()}
        )
    return redirect(audit)


@requires("audits.conduct")
@require_http_methods(["GET", "POST"])
def audit_discard(request, pk: int):
    """Discard an audit its starter no longer wants, once more saying what that means."""
    audit = _audit(request, pk, "audits.conduct")
    form = DiscardAuditForm(request.POST or None)
    may_discard = audit.is_open and audit.started_by_id == request.user.pk
    if request.method == "POST" and may_discard and form.is_valid():
        try:
            audit, _ = services.audit_discard(
                actor=request.user,
                audit=audit,
                reason=form.cleaned_data["reason"],
                at=timezone.now(),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                f"Audit {audit.pk} discarded. It counts in no figures; you can start a new audit "
                f"of {audit.service.name} for {audit.period_label}.",
            )
            return redirect(audit)
    elif request.method == "POST" and not may_discard:
        return redirect(audit)
    return render(
        request,
        "assurance/audit_discard.html",
        {"audit": audit, "form": form, "may_discard": may_discard},
    )


@public
@require_GET
def audit_worker(request):
    """The service worker that keeps the audit pages usable without a connection. Served from
    the audits' own path so that it looks after those pages and no others."""
    assets = [static(path) for path in OFFLINE_ASSETS]
    response = render(
        request,
        "assurance/audit_worker.js",
        {
            # A new deployment (new asset names) or a new worker starts a fresh cache.
            "version": hashlib.sha256("\n".join(assets).encode()).hexdigest()[:12],
            "assets_json": json.dumps(assets),
            "queue_url": static("js/queue.js"),
            "static_url": settings.STATIC_URL,
            "scope": reverse("assurance:audit_list"),
            "offline_page": render_to_string(
                "assurance/audit_offline.html", {"scope": reverse("assurance:audit_list")}
            ),
        },
        content_type="text/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    return response


@requires("audits.conduct")
@require_http_methods(["GET", "POST"])
def audit_correct(request, pk: int):
    audit = _audit(request, pk, "audits.conduct")
    form = CorrectAuditForm(request.POST or None, initial={"idempotency_key": uuid.uuid4()})
    if request.method == "POST" and form.is_valid():
        try:
            correction, _ = services.audit_correct(
                actor=request.user,
                audit=audit,
                reason=form.cleaned_data["reason"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, f"Correction started. It replaces audit {audit.pk} once submitted."
            )
            return redirect("assurance:audit_record", pk=correction.pk, position=1)
    return render(
        request,
        "caregov/simple_form.html",
        {
            "form": form,
            "heading": f"Correct audit {audit.pk}: {audit.service.name}, {audit.period_label}",
            "lead": "A correction is a new, linked entry holding a copy of the answers. The submitted "
            "audit stays as it was; once the correction is submitted it replaces it in the figures.",
            "button": "Start a correction",
            "back_url": audit.get_absolute_url(),
        },
    )


# Monthly trend review --------------------------------------------------------------------------


@requires("reviews.view")
@require_http_methods(["GET", "POST"])
def trend_review(request, pk: int):
    cycle = get_object_or_404(
        kernel_selectors.review_list(user=request.user).filter(kind="assurance.trend_review"), pk=pk
    )
    month = period_containing(Cadence.MONTHLY, cycle.period_start)
    months = selectors.months_back(month, TREND_MONTHS)
    table = selectors.FigureTable(cycle.organisation, [cycle.service], months)
    causes = {g.measure: g for g in cycle.gap_causes.select_related("recorded_by")}
    can_record = services.can_record_causes(request.user, cycle)
    forms_by_measure = {}
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied
        code = request.POST.get("measure", "")
        if code not in MEASURES:
            raise Http404
        form = GapCauseForm(request.POST, prefix=code)
        if form.is_valid():
            try:
                services.gap_cause_save(
                    actor=request.user,
                    cycle=cycle,
                    measure=code,
                    cause=form.cleaned_data["cause"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, f"Cause recorded for {MEASURES[code].name}.")
                return redirect("assurance:trend_review", pk=cycle.pk)
        forms_by_measure[code] = form
    rows = []
    for code, measure in MEASURES.items():
        trend = table.trend(cycle.service_id, code)
        current = trend[-1]
        gap = current.rating in (Rating.RED, Rating.AMBER)
        form = forms_by_measure.get(code)
        if form is None and gap and can_record:
            given = causes.get(code)
            form = GapCauseForm(
                prefix=code,
                initial={"cause": given.cause, "note": given.note} if given else None,
            )
        rows.append(
            {
                "measure": measure,
                "trend": trend,
                "current": current,
                "gap": gap,
                "cause": causes.get(code),
                "form": form,
            }
        )
    return render(
        request,
        "assurance/trend_review.html",
        {
            "cycle": cycle,
            "month": month,
            "updating": table.updating_note,
            "months": months,
            "rows": rows,
            "can_record": can_record,
            "can_conduct": can_conduct_review(request.user, cycle),
            "chart": charts.trend_chart(
                cycle.service.name,
                [{"measure": r["measure"], "trend": r["trend"]} for r in rows],
                months,
            ),
        },
    )


# Cross-service comparison ----------------------------------------------------------------------


@requires("assurance.compare")
@require_http_methods(["GET", "POST"])
def compare(request):
    organisation = access.own_organisation_where(request, "assurance.compare")
    month = _month_from(request)
    months = [month]
    service_list = list(
        Service.objects.filter(organisation=organisation, is_active=True).order_by("name")
    )
    table = selectors.FigureTable(organisation, service_list, months)
    comparison = Comparison.objects.filter(
        organisation=organisation, period_start=month.start
    ).first()
    can_record = organisation.pk in access.organisation_ids_where(
        request.user, "assurance.compare_record"
    )
    form = ComparisonForm(
        request.POST or None,
        initial={"themes": comparison.themes, "risks": comparison.risks} if comparison else None,
    )
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied
        if form.is_valid():
            try:
                comparison = services.comparison_save(
                    actor=request.user,
                    organisation=organisation,
                    period=month,
                    themes=form.cleaned_data["themes"],
                    risks=form.cleaned_data["risks"],
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, f"Themes and risks recorded for {month.label}.")
                return redirect(comparison)
    grid = [
        {"service": s, "figures": [table.figure(s.pk, month.start, code) for code in MEASURES]}
        for s in service_list
    ]
    overall = [table.combined([s.pk for s in service_list], [month], code) for code in MEASURES]
    return render(
        request,
        "assurance/compare.html",
        {
            "month": month,
            "updating": table.updating_note,
            **_month_nav(month),
            "measures": list(MEASURES.values()),
            "grid": grid,
            "overall": overall,
            "comparison": comparison,
            "form": form if can_record else None,
            "actions": Action.objects.filter(
                finding_ref=f"assurance.comparison:{comparison.pk}"
            ).select_related("owner", "service")
            if comparison
            else [],
            "can_raise": can_record and comparison is not None,
            "chart": charts.comparison_chart(grid, list(MEASURES.values()), month),
        },
    )


@requires("assurance.compare_record")
@require_http_methods(["GET", "POST"])
def compare_action(request, pk: int):
    organisation = access.own_organisation_where(request, "assurance.compare_record")
    comparison = get_object_or_404(Comparison, pk=pk, organisation=organisation)
    form = ComparisonActionForm(
        request.POST or None,
        services=Service.objects.filter(organisation=organisation, is_active=True).order_by("name"),
        people=kernel_selectors.people_who_can_act(
            "actions.manage", organisation=organisation, anywhere=True
        ),
    )
    return form_page(
        request,
        form,
        save=lambda data: services.comparison_raise_action(
            actor=request.user, comparison=comparison, **data
        ),
        success=lambda data: f"Improvement action raised for {data['owner']}.",
        done_url=comparison.get_absolute_url(),
        heading=f"Raise an improvement action: {comparison}",
        button="Raise action",
        back_url=comparison.get_absolute_url(),
    )


# Board reliance --------------------------------------------------------------------------------


@requires("reliance.view")
def reliance_list(request):
    organisation = access.own_organisation_where(request, "reliance.view")
    decided = {
        d.quarter_start: d for d in RelianceDecision.objects.filter(organisation=organisation)
    }
    quarter = period_containing(Cadence.QUARTERLY, timezone.localdate())
    quarters = []
    for _ in range(8):
        key = quarter_key(quarter)
        quarters.append({"period": quarter, "key": key, "decision": decided.get(quarter.start)})
        quarter = quarter.previous()
    return render(request, "assurance/reliance_list.html", {"quarters": quarters})


@requires("reliance.view")
@require_http_methods(["GET", "POST"])
def reliance_detail(request, quarter: str):
    organisation = access.own_organisation_where(request, "reliance.view")
    try:
        period = parse_quarter(quarter)
    except (ValueError, TypeError):
        raise Http404 from None
    decision = (
        RelianceDecision.objects.filter(organisation=organisation, quarter_start=period.start)
        .prefetch_related("services__service")
        .first()
    )
    ended = period.end < timezone.localdate()
    can_decide = (
        decision is None
        and ended
        and organisation.pk in access.organisation_ids_where(request.user, "reliance.decide")
    )
    snapshot = (
        decision.snapshot
        if decision
        else selectors.reliance_snapshot(organisation=organisation, quarter=period)
    )
    form = None
    if can_decide:
        form = RelianceForm(request.POST or None, services=snapshot["services"])
        if request.method == "POST" and form.is_valid():
            try:
                decision = services.reliance_record(
                    actor=request.user,
                    organisation=organisation,
                    quarter=period,
                    verdict=form.cleaned_data["verdict"],
                    reasons=form.cleaned_data["reasons"],
                    services=form.service_verdicts(),
                    snapshot=snapshot,
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(
                    request, f"The board's decision for {period.label} is recorded and frozen."
                )
                return redirect(decision)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "assurance/reliance_detail.html",
        {
            "period": period,
            "decision": decision,
            "snapshot": snapshot,
            "measures": list(MEASURES.values()),
            "form": form,
            "ended": ended,
        },
    )
