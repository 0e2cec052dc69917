"""Board packs: the quarters to download, builds on demand with their progress, downloads."""

from __future__ import annotations

import hashlib
import io

from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from caregov import access
from caregov.access import requires
from caregov.cadence import Cadence, parse_quarter, period_containing, quarter_key
from caregov.views.governance import confirm_page
from reporting import building, selectors, services
from reporting.forms import PackBuildForm
from reporting.models import Pack

#: Quarters listed on the Board packs page, newest first.
QUARTERS_LISTED = 8


def _pack(request, pk: int) -> Pack:
    return get_object_or_404(selectors.pack_list(user=request.user), pk=pk)


@requires("packs.view")
def pack_list(request):
    organisation = access.own_organisation_where(request, "packs.view")
    packs = list(selectors.pack_list(user=request.user).filter(kind="board"))
    rows = []
    for quarter in _quarters():
        builds = [p for p in packs if p.period_start == quarter.start]
        rows.append(
            {
                "period": quarter,
                "key": quarter_key(quarter),
                "latest": next((p for p in builds if p.status == Pack.Status.BUILT), None),
                "active": next((p for p in builds if not p.finished), None),
                "failed": next(
                    (p for p in builds if p.status == Pack.Status.FAILED and p is builds[0]),
                    None,
                ),
                "builds": len(builds),
                "in_progress": quarter.end >= timezone.localdate(),
            }
        )
    can_build = access.has_organisation_capability(request.user, "packs.build")
    can_request = access.has_organisation_capability(request.user, "packs.request")
    return render(
        request,
        "reporting/pack_list.html",
        {
            "organisation": organisation,
            "rows": rows,
            "can_build": can_build,
            "can_request": can_request,
        },
    )


def _quarters() -> list:
    quarter = period_containing(Cadence.QUARTERLY, timezone.localdate())
    quarters = []
    for _ in range(QUARTERS_LISTED):
        quarters.append(quarter)
        quarter = quarter.previous()
    return quarters


@requires("packs.request")
def pack_build(request):
    organisation = access.own_organisation_where(request, "packs.request")
    quarters = _quarters()
    if request.method != "POST":
        wanted = request.GET.get("quarter")
        form = PackBuildForm(quarters=quarters, initial={"quarter": wanted} if wanted else None)
        return _build_page(request, form)
    form = PackBuildForm(request.POST, quarters=quarters)
    if not form.is_valid():
        return _build_page(request, form)
    period = parse_quarter(form.cleaned_data["quarter"])
    built = (
        selectors.pack_list(user=request.user)
        .filter(kind="board", period_start=period.start, status=Pack.Status.BUILT)
        .first()
    )
    if built and not access.has_organisation_capability(request.user, "packs.build"):
        # Those who may only ask for a pack ask for one that is missing; a second build of a
        # quarter is the builders' call.
        form.add_error(
            "quarter",
            f"The board pack for {period.label} is already built: download it from Board packs.",
        )
        return _build_page(request, form)
    try:
        pack, created = services.pack_request(
            actor=request.user, organisation=organisation, kind="board", period=period
        )
    except services.PackRefused as refusal:
        form.add_error("quarter", str(refusal))
        return _build_page(request, form)
    if not created:
        messages.info(request, f"The board pack for {period.label} is already being built.")
    return redirect(pack)


def _build_page(request, form):
    builder = access.has_organisation_capability(request.user, "packs.build")
    return render(
        request,
        "caregov/simple_form.html",
        {
            "heading": "Build a board pack" if builder else "Ask for a board pack",
            "lead": "The pack freezes the quarter's figures as they stood at its end, then lays "
            "them out as a PDF: a past quarter's pack shows escalations, actions and reviews as "
            "they stood on its last day. It takes under a minute; you can follow its progress "
            "and leave the page. A pack for the quarter still running shows the figures so far.",
            "back_url": reverse("reporting:pack_list"),
            "form": form,
            "button": "Build the pack" if builder else "Ask for the pack",
        },
    )


@requires("packs.view")
def pack_detail(request, pk: int):
    pack = _pack(request, pk)
    can_build = access.has_organisation_capability(request.user, "packs.build")
    return render(
        request,
        "reporting/pack_detail.html",
        {
            "pack": pack,
            "breadcrumbs": [("Board packs", "reporting:pack_list", None)],
            "progress": building.pack_progress(pack),
            "summary": (pack.snapshot or {}).get("summary"),
            "can_build": can_build,
            "downloads": list(pack.downloads.select_related("user")[:50]) if can_build else [],
            "download_count": pack.downloads.count(),
            "other_builds": selectors.pack_list(user=request.user)
            .filter(kind=pack.kind, period_start=pack.period_start)
            .exclude(pk=pack.pk)
            .select_related("requested_by")[:20],
        },
    )


@requires("packs.view")
def pack_progress(request, pk: int):
    pack = _pack(request, pk)
    progress = building.pack_progress(pack)
    return JsonResponse(
        {
            "status": pack.status,
            "finished": pack.finished,
            **progress,
            "text": f"{progress['stage']}: {progress['percent']}% done.",
        }
    )


@requires("packs.view")
def pack_download(request, pk: int):
    pack = _pack(request, pk)
    path = building.pack_file(pack)
    if path is None:
        raise Http404("This pack has no file to download.")
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != pack.sha256:
        # The stored file is not the one that was built: never hand it out as the pack.
        raise Http404("This pack's file does not match its record; rebuild it from its snapshot.")
    services.pack_download_record(
        pack=pack,
        user=request.user,
        ip_address=request.META.get("REMOTE_ADDR"),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    return FileResponse(
        io.BytesIO(content),
        content_type="application/pdf",
        as_attachment=True,
        filename=pack.file_name,
    )


@requires("packs.build")
def pack_retry(request, pk: int):
    pack = _pack(request, pk)
    if request.method != "POST":
        return confirm_page(
            request,
            title=f"Try building the {pack} again?",
            explanation="The build starts again from the snapshot of numbers it had already "
            "frozen, so the pack shows the same figures. You can follow its progress.",
            button="Build again",
            cancel_url=pack.get_absolute_url(),
        )
    try:
        services.pack_retry(actor=request.user, pack=pack)
    except services.PackRefused as refusal:
        messages.error(request, str(refusal))
    return redirect(pack)


@requires("packs.build")
def pack_rebuild(request, pk: int):
    pack = _pack(request, pk)
    if request.method != "POST":
        return confirm_page(
            request,
            title=f"Rebuild the {pack} from its snapshot?",
            explanation="A new PDF is laid out from the numbers this build froze on "
            f"{timezone.localtime(pack.started_at):%-d %b %Y at %H:%M}, not from today's "
            "records. This build and its downloads are kept.",
            button="Rebuild from snapshot",
            cancel_url=pack.get_absolute_url(),
        )
    try:
        rebuilt, created = services.pack_rebuild(actor=request.user, pack=pack)
    except services.PackRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(pack)
    if not created:
        messages.info(request, f"The pack for {pack.period_label} is already being built.")
    return redirect(rebuilt)
