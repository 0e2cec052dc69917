"""The quarterly board assurance pack: its data assembly and its charts.

Everything the board reads is assembled here into plain JSON (the snapshot) from the apps'
selectors and the kernel's records, judged as things stood at the quarter's end: an escalation
resolved after the quarter is shown open, a review signed off late is shown late. So the same
quarter assembled twice gives the same snapshot, and a pack rebuilt from its snapshot gives the
same numbers. The seeds ask the board report to show what leaders can rely on, where the risks
are, and what the board must decide; the summary says those three things first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

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
    measures = _measures(organisation, services, months)
    # A provider new to caregov: the trend starts at its first month with figures (at the latest
    # the quarter's first month), not with a year of "No data" before it.
    first = next(
        (i for i in range(len(months)) if any(m["trend"][i]["counted"] for m in measures)),
        len(months),
    )
    first = min(first, len(months) - 3)
    if first:
        months = months[first:]
        measures = _measures(organisation, services, months)
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
    snapshot["measures"] = measures
    snapshot["evidence"] = _evidence(services, months[-3:], quarter)
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
        "counted": f"{figure.numerator:,} of {figure.denominator:,}" if figure.denominator else "",
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
            combined = table.combined([service.pk], quarter, code)
            rows.append(
                {
                    "service": service.name,
                    "months": [_figure(f) for f in figures],
                    "quarter": _figure(combined),
                    # Red in any month of the quarter, or over the quarter: never "relied on"
                    # because the other services carried the organisation's figure.
                    "red_months": [
                        m.start.strftime("%b")
                        for m, f in zip(quarter, figures, strict=True)
                        if f.rating == Rating.RED
                    ],
                    "red": combined.rating == Rating.RED
                    or any(f.rating == Rating.RED for f in figures),
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
                "red_at": [
                    {
                        "service": row["service"],
                        "months": row["red_months"],
                        "quarter": row["quarter"]["value"],
                    }
                    for row in rows
                    if row["red"]
                ],
                "ratings": dict(
                    Counter(row["quarter"]["rating"] or "none" for row in rows).most_common()
                ),
            }
        )
    return measures


def _evidence(services, quarter_months, quarter) -> dict:
    """What the quarter's figures were computed from, and how much of it arrived after the
    quarter ended (a September audit submitted on 2 October counts in September's figure)."""
    received = assurance.evidence_received(
        services=services, months=quarter_months, after=quarter.ends_at
    )
    return {
        **received,
        "last_audit": _day(received["last_audit"]),
        "last_import": _day(received["last_import"]),
    }


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


def _as_they_stood(rows: list[Escalation], end: datetime) -> dict[int, object]:
    """Each escalation as its history recorded it just before `end`: its severity, holder and
    status then, not today's. A row whose history begins after `end` stands as first recorded."""
    recorded: dict[int, object] = {}
    for record in Escalation.history.filter(id__in=[e.pk for e in rows]).order_by(
        "id", "history_date", "history_id"
    ):
        if record.history_date < end or record.id not in recorded:
            recorded[record.id] = record
    # A row with no history at all (loaded in bulk) stands as it is.
    return {e.pk: recorded.get(e.pk, e) for e in rows}


def _escalations(organisation, quarter, moment) -> dict:
    start, end = quarter.starts_at, min(quarter.ends_at, moment)
    rows = list(
        Escalation.objects.filter(organisation=organisation, raised_at__lt=end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
        .select_related("service")
    )
    stood = _as_they_stood(rows, end)
    opened = [e for e in rows if e.raised_at >= start]
    resolved = [e for e in rows if e.resolved_at and start <= e.resolved_at < end]
    open_at_end = [e for e in rows if not e.resolved_at or e.resolved_at >= end]
    open_at_start = [e for e in rows if e.raised_at < start]
    by_trigger = defaultdict(
        lambda: {"open_at_start": 0, "opened": 0, "resolved": 0, "open_at_end": 0, "high": 0}
    )
    for name, group in (
        ("open_at_start", open_at_start),
        ("opened", opened),
        ("resolved", resolved),
        ("open_at_end", open_at_end),
    ):
        for e in group:
            by_trigger[_trigger_name(e.trigger)][name] += 1
    for e in open_at_end:
        if stood[e.pk].severity == Escalation.Severity.HIGH:
            by_trigger[_trigger_name(e.trigger)]["high"] += 1

    def severity(e):
        return SEVERITY_ORDER.get(stood[e.pk].severity, 3)

    # Listed: what the board still has to watch, most severe first, then the longest open.
    # Those opened and resolved within the quarter are counted by trigger above the list.
    listed = sorted(open_at_end, key=lambda e: (severity(e), e.raised_at))
    by_code = Counter(e.trigger for e in open_at_end)
    return {
        "open_at_start": len(open_at_start),
        "opened": len(opened),
        "resolved": len(resolved),
        "open_at_end": len(open_at_end),
        "high_open_at_end": sum(
            1 for e in open_at_end if stood[e.pk].severity == Escalation.Severity.HIGH
        ),
        "open_by_code": dict(sorted(by_code.items())),
        "by_trigger": [{"trigger": k, **v} for k, v in sorted(by_trigger.items())],
        "list": [
            {
                "title": e.title,
                "trigger": _trigger_name(e.trigger),
                "scope": e.service.name if e.service_id else "Whole organisation",
                "severity": stood[e.pk].get_severity_display(),
                "raised": _day(e.raised_at),
                "days_open": (
                    timezone.localdate(end - timedelta(microseconds=1))
                    - timezone.localdate(e.raised_at)
                ).days,
                "escalated_to": stood[e.pk].get_escalated_to_display(),
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

    measured = _measured_effects(organisation, checked)
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
                "measured": measured.get(a.pk, ""),
            }
            for a in sorted(checked, key=lambda a: (a.effectiveness, a.effectiveness_checked_at))[
                :LIST_LIMIT
            ]
        ],
        "overdue_list": [row(a) for a in overdue[:LIST_LIMIT]],
        "not_listed": max(0, len(overdue) - LIST_LIMIT) + max(0, len(checked) - LIST_LIMIT),
    }


def _measured_effects(organisation, checked: list[Action]) -> dict[int, str]:
    """For each checked action aimed at a measure at a service: that measure there in the month
    before the action was done and in the last full month before its check, as recorded, so
    "Did it work?" shows the figures the check rests on."""
    wanted = [a for a in checked if a.measure in MEASURES and a.service_id]
    if not wanted:
        return {}
    pairs = {}
    for a in wanted:
        done = period_containing(Cadence.MONTHLY, timezone.localdate(a.completed_at))
        after = period_containing(
            Cadence.MONTHLY, timezone.localdate(a.effectiveness_checked_at)
        ).previous()
        pairs[a.pk] = (done.previous(), after if after.start > done.start else done)
    first = min(m.start for pair in pairs.values() for m in pair)
    last = max((m for pair in pairs.values() for m in pair), key=lambda m: m.start)
    span = assurance.months_back(
        last, (last.start.year - first.year) * 12 + last.start.month - first.month + 1
    )
    table = assurance.FigureTable(organisation, list({a.service for a in wanted}), span)
    measured = {}
    for a in wanted:
        before, after = pairs[a.pk]
        was = table.figure(a.service_id, before.start, a.measure)
        now = table.figure(a.service_id, after.start, a.measure)
        if was.value is None or now.value is None:
            continue
        measured[a.pk] = (
            f"{MEASURES[a.measure].name}: {was.value}% in {before.start:%b %Y}, "
            f"{now.value}% in {after.start:%b %Y}"
        )
    return measured


def _reviews(organisation, quarter, moment) -> dict:
    """Review cycles due for sign-off in the quarter, each counted once: signed off on time, late,
    or not signed off at its end; and, apart, cycles due before the quarter that were still not
    signed off at its end, whatever their age (the board decides on those too)."""
    end = min(quarter.ends_at, moment)
    # The first day on which a cycle due the day before is overdue: for a quarter that has
    # ended, the day after its last, so a cycle due on the last day is overdue at its end.
    end_day = timezone.localdate(end) if end < quarter.ends_at else quarter.end + timedelta(1)
    last_day = min(quarter.end, end_day)

    def signed_by_end(cycle):
        return cycle.signed_off_at is not None and cycle.signed_off_at < end

    cycles = list(
        ReviewCycle.objects.filter(organisation=organisation, due_on__lte=last_day)
        .filter(
            Q(due_on__gte=quarter.start) | Q(signed_off_at__isnull=True) | Q(signed_off_at__gte=end)
        )
        .select_related("service")
    )
    by_kind = defaultdict(
        lambda: {"due": 0, "on_time": 0, "late": 0, "not_signed_off": 0, "earlier_overdue": 0}
    )
    overdue = []
    for cycle in cycles:
        counts = by_kind[_kind_name(cycle.kind)]
        if cycle.due_on < quarter.start:
            if not signed_by_end(cycle):
                counts["earlier_overdue"] += 1
                overdue.append(cycle)
            continue
        counts["due"] += 1
        if signed_by_end(cycle) and timezone.localdate(cycle.signed_off_at) <= cycle.due_on:
            counts["on_time"] += 1
        elif signed_by_end(cycle):
            counts["late"] += 1
        else:
            counts["not_signed_off"] += 1
            if cycle.due_on < end_day:
                overdue.append(cycle)
    overdue.sort(key=lambda c: c.due_on)
    keys = ("due", "on_time", "late", "not_signed_off", "earlier_overdue")
    totals = {k: sum(v[k] for v in by_kind.values()) for k in keys}
    return {
        **totals,
        # Overdue at the end: due in the quarter and not signed off, or due before it and
        # still not signed off.
        "overdue": len(overdue),
        "by_kind": [
            {"kind": k, **v} for k, v in sorted(by_kind.items()) if v["due"] or v["earlier_overdue"]
        ],
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


#: Escalations the summary names by what raised them, with the decision it asks of the board.
SAFE_CARE_TRIGGER = "workflows.unsafe_digital_process"
REVIEW_OVERDUE_TRIGGER = "caregov.review_overdue"


def _summary(s: dict) -> dict:
    """What leaders can rely on, what is at risk, and what the board is asked to decide.

    Every count here is read from the detail sections of the same snapshot, never counted a
    second way: the escalations, actions and reviews open at the quarter's end whatever their
    age, and a measure red at any service in any month of the quarter is a risk, not something
    to rely on because the other services carried the organisation's figure."""
    rely, risk, decide = [], [], []
    quarter = s["quarter"]["label"]
    for m in s["measures"]:
        q = m["quarter"]
        red_at = m.get("red_at", [])
        if q["rating"] == Rating.GREEN and not red_at:
            rely.append(f"{m['name']} across the services: {q['words']}.")
        elif q["rating"] in (Rating.GREEN, Rating.AMBER, Rating.RED):
            risk.append(f"{m['name']} across the services: {q['words']}{_red_at(red_at)}.")
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
        earlier = (
            f", {r['earlier_overdue']} of them due before the quarter began"
            if r.get("earlier_overdue")
            else ""
        )
        risk.append(
            f"{_count(r['overdue'], 'review cycle')} overdue for sign-off at the quarter's "
            f"end{earlier}."
        )
        decide.append(
            f"Agree how the {_count(r['overdue'], 'overdue review cycle', verb=False)} will be "
            "signed off."
        )
    elif r["due"] and not r["not_signed_off"]:
        many = r["due"] > 1
        rely.append(
            f"{'All ' if many else 'The '}{_count(r['due'], 'review cycle', verb=False)} due in "
            f"the quarter {'were' if many else 'was'} signed off"
            + (f", {r['late']} of them late." if r["late"] else " on time.")
        )
    safe_care = e.get("open_by_code", {}).get(SAFE_CARE_TRIGGER, 0)
    w = s["workflows"]
    gaps = w["totals"]["open_high_risk"] if w else 0
    if safe_care or gaps:
        parts = []
        if safe_care:
            parts.append(
                f"{_count(safe_care, 'escalation', verb=False)} that a digital process was not "
                f"supporting safe care {'was' if safe_care == 1 else 'were'} open"
            )
        if gaps:
            parts.append(f"{_count(gaps, 'high-risk or safe-care workflow gap')} still open")
        risk.append(f"At the quarter's end, {' and '.join(parts)}.")
        decide.append(
            "Agree the response to the digital processes not supporting safe care."
            if safe_care
            else "Agree the response to the open high-risk workflow gaps."
        )
    return {"rely": rely, "risk": risk, "decide": decide}


def _red_at(red_at: list[dict]) -> str:
    """ "; red at Riverside Home Care (Jul, Aug, Sep)" for the services red in the quarter."""
    if not red_at:
        return ""
    named = [
        f"{r['service']} ({', '.join(r['months'])})" if r["months"] else r["service"]
        for r in red_at
    ]
    return f"; red at {_names(named)}"


def disagreements(s: dict) -> list[str]:
    """Where a snapshot's summary says something its detail does not, or a total is not the sum
    of its parts: empty for a pack the board can trust. Tests and the pack benchmark read it."""
    found: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            found.append(what)

    def stated(pattern: str) -> int:
        hits = [m for line in s["summary"]["risk"] if (m := re.search(pattern, line))]
        check(len(hits) <= 1, f"more than one summary line matches {pattern!r}")
        return int(hits[0].group(1)) if hits else 0

    for m in s["measures"]:
        red = [row["service"] for row in m["services"] if row["red"]]
        risk = [x for x in s["summary"]["risk"] if x.startswith(f"{m['name']} across")]
        relied = [x for x in s["summary"]["rely"] if x.startswith(f"{m['name']} across")]
        check(not (red and relied), f"{m['name']} is relied on but red at {red}")
        check(
            not red or (risk and all(name in risk[0] for name in red[:4])),
            f"{m['name']} is red at {red} but not named under what is at risk",
        )
        check(sum(m["ratings"].values()) == len(m["services"]), f"{m['name']}: ratings")
    e, r = s["escalations"], s["reviews"]
    check(
        stated(r"^(\d+) high-severity escalations? (?:was|were) open") == e["high_open_at_end"],
        "high-severity escalations: summary and detail differ",
    )
    for row in [*e["by_trigger"], e]:
        check(
            row["open_at_start"] + row["opened"] - row["resolved"] == row["open_at_end"],
            f"escalations {row.get('trigger', 'in all')}: start + opened - resolved != end",
        )
    for key in ("open_at_start", "opened", "resolved", "open_at_end"):
        check(sum(row[key] for row in e["by_trigger"]) == e[key], f"escalations: {key} total")
    check(sum(row["high"] for row in e["by_trigger"]) == e["high_open_at_end"], "high total")
    check(len(e["list"]) + e["not_listed"] == e["open_at_end"], "escalations listed")
    safe_care = e.get("open_by_code", {}).get(SAFE_CARE_TRIGGER, 0)
    check(
        stated(r"(\d+) escalations? that a digital process") == safe_care,
        "safe-care escalations: summary and detail differ",
    )
    for row in [*r["by_kind"], r]:
        check(
            row["on_time"] + row["late"] + row["not_signed_off"] == row["due"],
            f"reviews {row.get('kind', 'in all')}: on time + late + not signed off != due",
        )
    for key in ("due", "on_time", "late", "not_signed_off", "earlier_overdue"):
        check(sum(row[key] for row in r["by_kind"]) == r[key], f"reviews: {key} total")
    check(len(r["overdue_list"]) + r["not_listed"] == r["overdue"], "reviews listed")
    check(
        stated(r"^(\d+) review cycles? (?:was|were) overdue") == r["overdue"],
        "overdue reviews: summary and detail differ",
    )
    if s["complete"]:
        check(
            r["overdue"] == r["not_signed_off"] + r["earlier_overdue"],
            "overdue reviews: not the quarter's unsigned and the earlier ones",
        )
    w = s["workflows"]
    if w:
        for key, total in w["totals"].items():
            check(sum(row[key] for row in w["services"]) == total, f"workflows: {key} total")
        check(
            stated(r"(\d+) high-risk or safe-care workflow gaps?") == w["totals"]["open_high_risk"],
            "open high-risk gaps: summary and detail differ",
        )
    return found


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
