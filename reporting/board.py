"""The quarterly board assurance pack: its data assembly and its charts.

Everything the board reads is assembled here into plain JSON (the snapshot) from the apps'
selectors and the kernel's records, judged as things stood at the quarter's end: an escalation
resolved after the quarter is shown open, a review signed off late is shown late. So the same
quarter assembled twice gives the same snapshot, and a pack rebuilt from its snapshot gives the
same numbers. The seeds ask the board report to show what leaders can rely on, where the risks
are, and what the board must decide; the summary says those three things first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

import plotly.graph_objects as go
from django.apps import apps
from django.db.models import Q
from django.utils import timezone

from assurance import selectors as assurance
from assurance.measures import MEASURES, Rating
from caregov.cadence import Cadence, Period, period_containing
from caregov.models import Action, Escalation, Organisation, ReviewCycle, Service
from caregov.registry import review_kinds, triggers
from reporting.charts import measure_trend
from reporting.packs import PackKind, register_pack_kind

#: Months of trend the board sees: the quarter and the three before it, a year in all.
TREND_MONTHS = 12
#: Rows listed in full in a table before the rest are counted ("and 12 more").
LIST_LIMIT = 150
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def _day(moment) -> str | None:
    return timezone.localdate(moment).isoformat() if moment else None


def _person(user) -> str:
    return (user.get_full_name() or user.email) if user else ""


def assemble(organisation: Organisation, quarter: Period, at: datetime) -> dict:
    """The board pack's numbers for a quarter, as things stood at its end (or now, if sooner)."""
    moment = min(at, quarter.ends_at)
    # The services open now, and those open at the quarter's end that have closed since (read
    # from their history), so closing a service does not take it out of past packs.
    open_then = Service.history.as_of(moment).filter(
        organisation_id=organisation.pk, is_active=True
    )
    services = list(
        Service.objects.filter(
            Q(organisation=organisation, is_active=True) | Q(pk__in=[s.pk for s in open_then])
        ).order_by("name")
    )
    months = assurance.months_back(period_containing(Cadence.MONTHLY, quarter.end), TREND_MONTHS)
    snapshot = {
        "organisation": organisation.name,
        "quarter": {
            "label": quarter.label,
            "start": quarter.start.isoformat(),
            "end": quarter.end.isoformat(),
        },
        "as_at": (quarter.end if at >= quarter.ends_at else timezone.localdate(at)).isoformat(),
        "complete": at >= quarter.ends_at,
        "services": [s.name for s in services],
        "months": [m.start.strftime("%b %Y") for m in months],
        "quarter_months": [m.label for m in months[-3:]],
    }
    snapshot["measures"] = _measures(organisation, services, months)
    snapshot["reliability"] = _reliability(organisation, services, months[-3:])
    snapshot["reliance"] = _reliance(organisation, quarter)
    snapshot["escalations"] = _escalations(organisation, quarter, moment)
    snapshot["actions"] = _actions(organisation, quarter, moment)
    snapshot["reviews"] = _reviews(organisation, quarter, moment)
    snapshot["workflows"] = (
        _workflows(organisation, services, quarter, moment)
        if apps.is_installed("workflows")
        else None
    )
    snapshot["summary"] = _summary(snapshot)
    return snapshot


# Measures -------------------------------------------------------------------------------------


def _figure(figure) -> dict:
    return {
        "value": str(figure.value) if figure.value is not None else None,
        "rating": figure.rating,
        "words": figure.words,
        "counted": f"{figure.numerator} of {figure.denominator}" if figure.denominator else "",
    }


def _measures(organisation, services, months) -> list[dict]:
    table = assurance.FigureTable(organisation, services, months, fresh=True)
    ids = [s.pk for s in services]
    quarter = months[-3:]
    measures = []
    for code, measure in MEASURES.items():
        thresholds = table.book.in_force(code, months[-1].start)
        trend = []
        for month in months:
            figure = table.combined(ids, [month], code)
            trend.append({"month": month.start.strftime("%b %Y"), **_figure(figure)})
        rows = []
        for service in services:
            figures = [table.figure(service.pk, m.start, code) for m in quarter]
            rows.append(
                {
                    "service": service.name,
                    "months": [_figure(f) for f in figures],
                    "quarter": _figure(table.combined([service.pk], quarter, code)),
                }
            )
        in_force = [table.book.in_force(code, m.start).effective_from for m in months]
        # Threshold changes that took effect within the months charted.
        changed = sorted({d.isoformat() for d in in_force if d and d > months[0].start})
        measures.append(
            {
                "code": code,
                "name": measure.name,
                "definition": measure.definition,
                "scoring": measure.scoring,
                "thresholds": thresholds.as_dict(),
                "thresholds_changed_on": changed,
                "trend": trend,
                "quarter": _figure(table.combined(ids, quarter, code)),
                "services": rows,
                "ratings": dict(
                    Counter(row["quarter"]["rating"] or "none" for row in rows).most_common()
                ),
            }
        )
    return measures


def _reliability(organisation, services, quarter_months) -> dict:
    tolerance = assurance.divergence_tolerance(organisation)
    table = assurance.FigureTable(organisation, services, quarter_months, fresh=True)
    rows = []
    for service in services:
        last = None
        for month in reversed(quarter_months):
            figure = table.figure(service.pk, month.start, "dashboard_reliability")
            if figure.denominator:
                last = (month, figure)
                break
        quarter = table.combined([service.pk], quarter_months, "dashboard_reliability")
        row = {"service": service.name, "quarter": _figure(quarter), "month": None}
        if last:
            month, figure = last
            divergence = figure.detail.get("divergence")
            row["month"] = {
                "label": month.label,
                "ecm": figure.detail.get("ecm_completion"),
                "audit": figure.detail.get("audit_completion"),
                "divergence": divergence,
                # As the unreliable-reports trigger judges it: at the tolerance or beyond.
                "beyond_tolerance": divergence is not None
                and float(divergence) >= float(tolerance),
            }
        rows.append(row)
    return {"tolerance": str(tolerance), "services": rows}


def _reliance(organisation, quarter) -> dict | None:
    decision = assurance.reliance_decision(organisation=organisation, quarter=quarter)
    if decision is None:
        return None
    return {
        "verdict": decision.verdict,
        "verdict_label": decision.get_verdict_display(),
        "reasons": decision.reasons,
        "decided_by": _person(decision.decided_by),
        "decided_on": _day(decision.decided_at),
        "services": [
            {
                "service": s.service.name,
                "verdict": s.verdict,
                "verdict_label": s.get_verdict_display(),
                "reasons": s.reasons,
            }
            for s in decision.services.all()
        ],
    }


# Escalations, actions, reviews ----------------------------------------------------------------


def _trigger_name(code: str) -> str:
    trigger = triggers.get(code)
    return trigger.name if trigger else code


def _kind_name(code: str) -> str:
    kind = review_kinds.get(code)
    return kind.name if kind else code


def _escalations(organisation, quarter, moment) -> dict:
    start, end = quarter.starts_at, min(quarter.ends_at, moment)
    rows = list(
        Escalation.objects.filter(organisation=organisation, raised_at__lt=end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
        .select_related("service")
    )
    opened = [e for e in rows if e.raised_at >= start]
    resolved = [e for e in rows if e.resolved_at and start <= e.resolved_at < end]
    open_at_end = [e for e in rows if not e.resolved_at or e.resolved_at >= end]
    by_trigger = defaultdict(lambda: {"opened": 0, "resolved": 0, "open_at_end": 0})
    for name, group in (("opened", opened), ("resolved", resolved), ("open_at_end", open_at_end)):
        for e in group:
            by_trigger[_trigger_name(e.trigger)][name] += 1
    # Listed: what the board still has to watch. Those opened and resolved within the quarter
    # are counted by trigger above the list.
    listed = sorted(open_at_end, key=lambda e: (SEVERITY_ORDER.get(e.severity, 3), e.raised_at))
    return {
        "opened": len(opened),
        "resolved": len(resolved),
        "open_at_end": len(open_at_end),
        "high_open_at_end": sum(1 for e in open_at_end if e.severity == "high"),
        "by_trigger": [{"trigger": k, **v} for k, v in sorted(by_trigger.items())],
        "list": [
            {
                "title": e.title,
                "trigger": _trigger_name(e.trigger),
                "scope": e.service.name if e.service_id else "Whole organisation",
                "severity": e.get_severity_display(),
                "raised": _day(e.raised_at),
                "escalated_to": e.get_escalated_to_display(),
            }
            for e in listed[:LIST_LIMIT]
        ],
        "not_listed": max(0, len(listed) - LIST_LIMIT),
    }


def _actions(organisation, quarter, moment) -> dict:
    start, end = quarter.starts_at, min(quarter.ends_at, moment)
    last_day = timezone.localtime(end).date() if end < quarter.ends_at else quarter.end
    rows = list(
        Action.objects.filter(organisation=organisation, created_at__lt=end)
        .filter(
            Q(completed_at__isnull=True)
            | Q(completed_at__gte=start)
            | Q(effectiveness_checked_at__gte=start)
        )
        .select_related("service", "owner")
    )

    def done_by_end(a):
        return a.completed_at is not None and a.completed_at < end

    def checked_by_end(a):
        return a.effectiveness_checked_at is not None and a.effectiveness_checked_at < end

    raised = [a for a in rows if a.created_at >= start]
    completed = [a for a in rows if done_by_end(a) and a.completed_at >= start]
    overdue = sorted(
        (a for a in rows if not done_by_end(a) and a.due_on < last_day), key=lambda a: a.due_on
    )
    checked = [a for a in rows if checked_by_end(a) and a.effectiveness_checked_at >= start]
    awaiting = [
        a
        for a in rows
        if done_by_end(a)
        and not checked_by_end(a)
        and a.effectiveness_due_on
        and a.effectiveness_due_on <= last_day
    ]

    def row(a):
        return {
            "title": a.title,
            "scope": a.service.name if a.service_id else "Whole organisation",
            "owner": _person(a.owner),
            "due": a.due_on.isoformat(),
            "days_overdue": (last_day - a.due_on).days,
        }

    return {
        "raised": len(raised),
        "completed": len(completed),
        "overdue": len(overdue),
        "improved": sum(1 for a in checked if a.effectiveness == Action.Effect.IMPROVED),
        "not_improved": sum(1 for a in checked if a.effectiveness == Action.Effect.NOT_IMPROVED),
        "awaiting_check": len(awaiting),
        "checked": [
            {
                **row(a),
                "completed": _day(a.completed_at),
                "effect": a.get_effectiveness_display(),
                "note": a.effectiveness_note,
            }
            for a in sorted(checked, key=lambda a: (a.effectiveness, a.effectiveness_checked_at))[
                :LIST_LIMIT
            ]
        ],
        "overdue_list": [row(a) for a in overdue[:LIST_LIMIT]],
        "not_listed": max(0, len(overdue) - LIST_LIMIT) + max(0, len(checked) - LIST_LIMIT),
    }


def _reviews(organisation, quarter, moment) -> dict:
    """Review cycles due for sign-off in the quarter: on time, late, or still overdue at its end."""
    end = min(quarter.ends_at, moment)
    last_day = timezone.localtime(end).date() if end < quarter.ends_at else quarter.end
    cycles = list(
        ReviewCycle.objects.filter(
            organisation=organisation, due_on__gte=quarter.start, due_on__lte=last_day
        ).select_related("service")
    )
    by_kind = defaultdict(lambda: {"due": 0, "on_time": 0, "late": 0, "overdue": 0})
    overdue = []
    for cycle in cycles:
        counts = by_kind[_kind_name(cycle.kind)]
        counts["due"] += 1
        signed = cycle.signed_off_at if cycle.signed_off_at and cycle.signed_off_at < end else None
        if signed and timezone.localdate(signed) <= cycle.due_on:
            counts["on_time"] += 1
        elif signed:
            counts["late"] += 1
        elif cycle.due_on < last_day:
            counts["overdue"] += 1
            overdue.append(cycle)
    overdue.sort(key=lambda c: c.due_on)
    totals = {k: sum(v[k] for v in by_kind.values()) for k in ("due", "on_time", "late", "overdue")}
    return {
        **totals,
        "by_kind": [{"kind": k, **v} for k, v in sorted(by_kind.items())],
        "overdue_list": [
            {
                "kind": _kind_name(c.kind),
                "scope": c.service.name if c.service_id else "Whole organisation",
                "period": c.period.label,
                "due": c.due_on.isoformat(),
                "days_overdue": (last_day - c.due_on).days,
            }
            for c in overdue[:LIST_LIMIT]
        ],
        "not_listed": max(0, len(overdue) - LIST_LIMIT),
    }


def _workflows(organisation, services, quarter, moment) -> dict:
    from workflows import selectors as workflows

    rows = []
    for evidence in workflows.quarter_evidence(
        organisation=organisation, services=services, quarter=quarter, at=moment
    ):
        rows.append(
            {
                "service": evidence.service.name,
                "maps": evidence.map_summary,
                "approved": sum(1 for m in evidence.maps if m.in_use),
                "mapped": sum(1 for m in evidence.maps if m.map.created_at < moment),
                "gaps": sum(1 for g in evidence.gaps if g.kind == "gap"),
                "duplication": sum(1 for g in evidence.gaps if g.kind == "duplication"),
                "workarounds": sum(1 for g in evidence.gaps if g.kind == "workaround"),
                "tests": len(evidence.tests),
                "failed_tests": evidence.failed_tests,
                "findings": len(evidence.findings),
                "safe_care_flags": evidence.safe_care_flags,
                "open_high_risk": len(evidence.open_high_risk),
            }
        )
    return {
        "services": rows,
        "totals": {
            key: sum(r[key] for r in rows)
            for key in ("tests", "failed_tests", "findings", "safe_care_flags", "open_high_risk")
        },
    }


# The summary ----------------------------------------------------------------------------------


def _summary(s: dict) -> dict:
    """What leaders can rely on, what is at risk, and what the board is asked to decide."""
    rely, risk, decide = [], [], []
    quarter = s["quarter"]["label"]
    for m in s["measures"]:
        q = m["quarter"]
        if q["rating"] == Rating.GREEN:
            rely.append(f"{m['name']} across the services: {q['words']}.")
        elif q["rating"] in (Rating.AMBER, Rating.RED):
            reds = [r["service"] for r in m["services"] if r["quarter"]["rating"] == Rating.RED]
            where = f"; red at {_names(reds)}" if reds else ""
            risk.append(f"{m['name']} across the services: {q['words']}{where}.")
    unreliable = [
        r["service"]
        for r in s["reliability"]["services"]
        if (r["month"] or {}).get("beyond_tolerance")
    ]
    if unreliable:
        risk.append(
            f"ECM figures and audited records disagree beyond {s['reliability']['tolerance']} "
            f"points at {_names(unreliable)}: their ECM reports should not be relied on alone."
        )
    reliance = s["reliance"]
    if reliance:
        rely.append(
            f"The board's decision on relying on ECM information for {quarter}: "
            f"{reliance['verdict_label']} ({_short(reliance['decided_on'])})."
        )
        for row in reliance["services"]:
            if row["verdict"] == "no":
                decide.append(
                    f"Agree what must improve before leaders rely on {row['service']}'s ECM "
                    "information."
                )
    else:
        decide.append(f"Decide whether leaders can rely on ECM information for {quarter}.")
    e = s["escalations"]
    if e["high_open_at_end"]:
        risk.append(
            f"{_count(e['high_open_at_end'], 'high-severity escalation')} open at the quarter's end."
        )
    a = s["actions"]
    if a["overdue"]:
        risk.append(f"{_count(a['overdue'], 'action')} overdue at the quarter's end.")
    if a["not_improved"]:
        decide.append(
            f"Challenge the {_count(a['not_improved'], 'action', verb=False)} checked as not "
            "improving their measure: agree a different response."
        )
    r = s["reviews"]
    if r["overdue"]:
        risk.append(
            f"{_count(r['overdue'], 'review cycle')} overdue for sign-off at the quarter's end."
        )
        decide.append(
            f"Agree how the {_count(r['overdue'], 'overdue review cycle', verb=False)} will be "
            "signed off."
        )
    if r["due"] and not r["overdue"]:
        rely.append(f"All {r['due']} review cycles due in the quarter were signed off.")
    w = s["workflows"]
    if w and w["totals"]["open_high_risk"]:
        risk.append(
            f"{_count(w['totals']['open_high_risk'], 'high-risk or safe-care workflow gap')} "
            "still open."
        )
        decide.append("Agree the response to the open high-risk workflow gaps.")
    return {"rely": rely, "risk": risk, "decide": decide}


def _count(n: int, noun: str, *, verb: bool = True) -> str:
    """'1 action was' / '3 actions were' (or without the verb)."""
    words = f"{n} {noun}{'' if n == 1 else 's'}"
    return f"{words} {'was' if n == 1 else 'were'}" if verb else words


def _short(iso_day: str | None) -> str:
    return f"{date.fromisoformat(iso_day):%-d %b %Y}" if iso_day else ""


def _names(names: list[str]) -> str:
    if len(names) > 4:
        return f"{', '.join(names[:4])} and {len(names) - 4} more"
    if len(names) > 1:
        return f"{', '.join(names[:-1])} and {names[-1]}"
    return names[0] if names else ""


# Charts ---------------------------------------------------------------------------------------


def charts(snapshot: dict) -> list[tuple[str, go.Figure]]:
    """One trend a measure, drawn from the snapshot alone."""
    drawn = []
    for m in snapshot["measures"]:
        values = [float(t["value"]) if t["value"] is not None else None for t in m["trend"]]
        if not any(v is not None for v in values):
            continue
        drawn.append(
            (
                m["code"],
                measure_trend(
                    f"Is {m['name'].lower()} on target across the services?",
                    snapshot["months"],
                    values,
                    float(m["thresholds"]["green_from"]),
                    float(m["thresholds"]["amber_from"]),
                ),
            )
        )
    return drawn


BOARD = register_pack_kind(
    PackKind(
        code="board",
        name="Board assurance pack",
        template="reporting/board_pack.html",
        audience="The board",
        assemble=assemble,
        charts=charts,
    )
)
