"""The dashboards: a registered manager's view of their services, and the organisation overview
for those who lead across services. Each reads a fixed number of queries whatever the number of
services or months shown (tests/reporting/test_dashboards.py pins them)."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone

from assurance import selectors as assurance_selectors
from assurance.measures import MeasureCode, Source
from caregov import access
from caregov import selectors as kernel
from caregov.access import requires
from caregov.models import Service
from caregov.views.lists import applied_filters
from reporting import charts, dashboards
from reporting.filters import DashboardFilter


def _filtered(request, capability: str) -> tuple[DashboardFilter, list[Service]]:
    """The filters, choosing among the active services where the person holds `capability`,
    and the services they leave shown."""
    services = (
        access.services_where(request.user, capability).filter(is_active=True).order_by("name")
    )
    filterset = DashboardFilter(request.GET, queryset=services)
    return filterset, filterset.services


def _number(value) -> float | None:
    return float(value) if value is not None else None


def _labels(months) -> list[str]:
    return [m.start.strftime("%b %Y") for m in months]


def _trend_chart(trend: dashboards.MeasureTrend, where: str) -> dict:
    band = None
    if trend.lowest:
        band = (
            [_number(e.figure.value) if e else None for e in trend.lowest],
            [_number(e.figure.value) if e else None for e in trend.highest],
        )
    return charts.page_chart(
        charts.threshold_trend(
            f"Is {trend.measure.name.lower()} on target {where}?",
            _labels(trend.months),
            [(s.name, [_number(f.value) for f in s.figures]) for s in trend.series],
            [float(t.green_from) for t in trend.thresholds],
            [float(t.amber_from) for t in trend.thresholds],
            band=band,
        )
    )


def _escalation_chart(escalations: dashboards.OpenEscalations, where: str) -> dict | None:
    if not escalations.by_trigger:
        return None
    return charts.page_chart(
        charts.escalation_ages(
            f"Which escalations have waited longest {where}?",
            [row.name for row in escalations.by_trigger],
            [
                (label, [row.counts.by_age[i] for row in escalations.by_trigger])
                for i, (label, _, _) in enumerate(dashboards.AGES)
            ],
        )
    )


def _figure_table(organisation, services: list[Service], filterset: DashboardFilter):
    """The figures shown, read once: those each measure is judged on, and of their details
    only the comparison of the ECM with the audits."""
    return assurance_selectors.FigureTable(
        organisation,
        services,
        filterset.months_shown,
        judged_only=True,
        detail_sources=[Source.COMPARISON],
    )


def _page(filterset: DashboardFilter, services: list[Service]) -> dict:
    """What both dashboards show whatever the data: the filters and the period."""
    return {
        "filter": filterset,
        "applied_filters": applied_filters(filterset),
        "month": filterset.month,
        "months": filterset.months_shown,
        "services": services,
        "has_services": bool(filterset.filters["service"].extra["choices"]),
        "chosen_service": services[0] if services and filterset.one_service else None,
        "ages": [label for label, _, _ in dashboards.AGES],
    }


def _figures(
    table, filterset: DashboardFilter, services: list[Service], scope: str, where: str
) -> dict:
    """The measures in the month, service by service, and each measure's trend."""
    rows, total = dashboards.figure_grid(table, services, filterset.measure_codes, filterset.month)
    trends = dashboards.measure_trends(table, services, filterset.measure_codes)
    return {
        "scope": scope,
        "measures": [t.measure for t in trends],
        "grid": rows,
        "total": total if len(services) > 1 else None,
        "red_total": sum(row.red for row in rows),
        "trends": [(trend, _trend_chart(trend, where)) for trend in trends],
    }


def _reliability(
    table, filterset: DashboardFilter, services: list[Service], where: str, organisation
) -> dict:
    """The ECM against the audits: each service in the month, and all of them month by month."""
    months = filterset.months_shown
    ecm, audit = dashboards.completion_compared(table, services)
    tolerance = assurance_selectors.divergence_tolerance(organisation)
    return {
        "reliability": dashboards.reliability(table, services, filterset.month, tolerance),
        "tolerance": tolerance,
        "compared": list(zip(months, ecm, audit, strict=True))[::-1],
        "compared_chart": charts.page_chart(
            charts.ecm_against_audit(
                f"Does the ECM report what the auditors find {where}?",
                _labels(months),
                [_number(v) for v in ecm],
                [_number(v) for v in audit],
            )
        ),
    }


@requires("dashboards.view")
def manager_dashboard(request):
    user = request.user
    filterset, services = _filtered(request, "dashboards.view")
    context = _page(filterset, services)
    context["can_overview"] = access.has_capability(user, "dashboards.overview")
    # First, what needs this person's decision: the same list and counts as My work, whichever
    # services the figures below are filtered to.
    context["decisions"] = kernel.needs_attention(user=user, at=timezone.now())
    if services:
        scope = services[0].name if len(services) == 1 else f"your {len(services)} services"
        where = f"at {scope}"
        table = _figure_table(user.organisation, services, filterset)
        context.update(_figures(table, filterset, services, scope, where))
        context["updating"] = table.updating_note
        if MeasureCode.DASHBOARD_RELIABILITY in filterset.measure_codes:
            context.update(_reliability(table, filterset, services, where, user.organisation))
        escalations = dashboards.open_escalations(user=user, services=services)
        actions = dashboards.action_counts(user=user, services=services)
        context.update(
            {
                "escalations": escalations,
                "escalation_chart": _escalation_chart(escalations, where),
                "check_due_total": sum(a["check_due"] for a in actions.values()),
                "workflows": dashboards.workflow_status(
                    organisation=user.organisation, services=services
                ),
            }
        )
    return render(request, "reporting/dashboard.html", context)


@requires("dashboards.overview")
def organisation_overview(request):
    user = request.user
    filterset, services = _filtered(request, "dashboards.overview")
    context = _page(filterset, services)
    if services:
        scope = services[0].name if len(services) == 1 else f"{len(services)} services"
        where = f"at {scope}" if len(services) == 1 else f"across {scope}"
        table = _figure_table(user.organisation, services, filterset)
        context.update(_figures(table, filterset, services, scope, where))
        context["updating"] = table.updating_note
        # Without a service chosen, the organisation's own escalations and actions count too.
        whole = not filterset.one_service
        escalations = dashboards.open_escalations(
            user=user, services=services, organisation_wide=whole
        )
        actions = dashboards.action_counts(user=user, services=services, organisation_wide=whole)
        context.update(
            {
                "attention": dashboards.attention(
                    context["grid"],
                    escalations,
                    actions,
                    dashboards.review_counts(user=user, services=services),
                    dashboards.workflow_status(organisation=user.organisation, services=services),
                ),
                "escalations": escalations,
                "escalation_chart": _escalation_chart(escalations, where),
                "oldest_escalations": dashboards.oldest_escalations(
                    user=user, services=services, organisation_wide=whole
                ),
                "overdue_total": sum(a["overdue"] for a in actions.values()),
                "overdue_actions": dashboards.overdue_actions(
                    user=user, services=services, organisation_wide=whole
                ),
            }
        )
    return render(request, "reporting/overview.html", context)
