"""The dashboards at scale: server time and query count of the registered manager's dashboard
and the organisation overview for 40 services x 24 months over 1,000,000 audit checks, next to
the raw SQL aggregate of the same figures in the same run. Writes
bench/results/reporting_dashboard.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.reporting_dashboard \
        [--services 40] [--months 24] [--records 200000] [--runs 10]

PostgreSQL only; like bench/assurance_figures.py it makes a database of its own, `caregov_bench`,
and drops it afterwards. The data are that benchmark's (loaded by its functions: exports, five
submitted audits a service-month, 1,000,000 audit checks, the summary filled as submitting the
audits would), plus what the dashboards count besides the figures, loaded directly: for each
service and month a trend review (the last two months not signed off), an escalation (resolved
but for the last six months) and an action (done but for the last three months); and for each
service its six core workflow maps with an approved version.

Measured, each the median of --runs runs after one warm-up:
(a) the raw aggregate over AuditCheck (met and answered per service, month and measure: the
    audit figures the dashboards show, computed from the rows);
(b) GET reporting:dashboard?months=24 as a person who is registered manager of every service;
(c) GET reporting:overview?months=24 as an organisation-wide quality lead;
(b) and (c) through Django's test Client, with their query counts, in a process set up as
caregov/wsgi.py sets up a server's, and without the test environment's instrumented template
rendering (it copies the context of every template rendered for tests to inspect, which a served
request does not do); also with the default 6 months.
The three are timed in turn within each round, starting one further along each round, so that
load from elsewhere on the machine, and the cold caches the raw aggregate leaves, fall on all of
them alike. Target: each dashboard at or below half the time of the raw aggregate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

import django
from django.db import connection

from bench.assurance_figures import (
    RESULTS,
    _server_version,
    bench_database,
    counted,
    load,
    raw_aggregate,
    say,
    summary,
)

#: Target: a dashboard answers in at most this share of the raw aggregate's time.
TARGET_SHARE = 0.5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--records", type=int, default=200_000, help="audited records")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with bench_database():
        figures = run(args.services, args.months, args.records, args.runs)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "reporting_dashboard.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def governance(org, services: list, months: list, lead) -> dict[str, int]:
    """Reviews, escalations, actions and workflow maps for every service, loaded directly."""
    from caregov.cadence import LONDON
    from caregov.models import Action, Escalation, ReviewCycle
    from caregov.registry import triggers
    from workflows.models import CoreWorkflow, WorkflowMap, WorkflowVersion

    now = datetime.now(tz=LONDON)
    codes = sorted(t.code for t in triggers.all())
    last = len(months) - 1
    reviews, escalations, actions = [], [], []
    for s, service in enumerate(services):
        for i, month in enumerate(months):
            closed = datetime.combine(month.end, datetime.min.time(), tzinfo=LONDON)
            reviews.append(
                ReviewCycle(
                    kind="assurance.trend_review",
                    organisation=org,
                    service=service,
                    cadence="monthly",
                    period_start=month.start,
                    period_end=month.end,
                    body="registered_manager",
                    due_on=month.end + timedelta(days=10),
                    status="signed_off" if i < last - 1 else "open",
                    signed_off_at=closed + timedelta(days=9) if i < last - 1 else None,
                )
            )
            escalations.append(
                Escalation(
                    organisation=org,
                    service=service,
                    trigger=codes[(s + i) % len(codes)],
                    cadence="monthly",
                    period_start=month.start,
                    period_end=month.end,
                    subject="bench",
                    title=f"Bench escalation for {service.name}, {month.label}",
                    severity=("low", "medium", "high")[(s + i) % 3],
                    status="resolved" if i <= last - 6 else ("open", "acknowledged")[i % 2],
                    escalated_to="registered_manager",
                    raised_at=closed + timedelta(days=3),
                    resolved_at=closed + timedelta(days=20) if i <= last - 6 else None,
                )
            )
            done = i <= last - 3
            actions.append(
                Action(
                    organisation=org,
                    service=service,
                    title=f"Bench action for {service.name}, {month.label}",
                    owner=lead,
                    due_on=month.end + timedelta(days=21),
                    source="review",
                    status="done" if done else "open",
                    completed_at=closed + timedelta(days=15) if done else None,
                    effectiveness_due_on=month.end + timedelta(days=45) if done else None,
                    effectiveness="improved" if done and i < last - 4 else "",
                    created_at=min(now, closed),
                )
            )
    ReviewCycle.objects.bulk_create(reviews)
    Escalation.objects.bulk_create(escalations)
    Action.objects.bulk_create(actions)
    maps = WorkflowMap.objects.bulk_create(
        WorkflowMap(organisation=org, service=service, workflow=code, title=label)
        for service in services
        for code, label in CoreWorkflow.choices
    )
    WorkflowVersion.objects.bulk_create(
        WorkflowVersion(map=m, number=1, status="approved", approved_at=now) for m in maps
    )
    return {
        "review_cycles": len(reviews),
        "escalations": len(escalations),
        "actions": len(actions),
        "workflow_maps": len(maps),
    }


@contextmanager
def served_as_in_production():
    """Pages rendered as a served request renders them: the test environment's instrumented
    rendering, which copies every template's context for tests, switched off; and the process
    set up as caregov/wsgi.py sets up a server's, its loaded objects frozen out of the garbage
    collector's way."""
    from django.test.utils import setup_test_environment, teardown_test_environment

    import caregov.wsgi  # noqa: F401  (loads the URLs and freezes what is loaded)

    teardown_test_environment()
    try:
        yield
    finally:
        setup_test_environment()


def in_turn(functions: dict, runs: int) -> tuple[dict, dict, dict]:
    """One warm-up of each, then `runs` rounds calling each in turn, each round starting one
    further along, so that each follows each as often (the raw aggregate leaves the CPU caches
    cold for whatever comes next): (seconds of each call by name, this process's CPU seconds
    of each call by name, the last result by name)."""
    results = {name: function() for name, function in functions.items()}
    seconds = {name: [] for name in functions}
    cpu = {name: [] for name in functions}
    names = list(functions)
    for round_number in range(runs):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            started, started_cpu = time.perf_counter(), time.process_time()
            results[name] = functions[name]()
            seconds[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return seconds, cpu, results


def run(service_count: int, month_count: int, record_count: int, runs: int) -> dict:
    from django.test import Client
    from django.urls import reverse

    from caregov.access import Role
    from caregov.mfa import pass_test_client
    from caregov.models import Membership, User

    load_before = os.getloadavg()
    data = load(service_count, month_count, record_count)
    org, lead, services, months = data.org, data.lead, data.services, data.months
    counts = governance(org, services, months, lead)
    manager = User.objects.create_user(
        email="registered.manager@bench.example", full_name="Registered Manager", organisation=org
    )
    Membership.objects.bulk_create(
        Membership(user=manager, organisation=org, role=Role.REGISTERED_MANAGER, service=s)
        for s in services
    )
    with connection.cursor() as cursor:
        for table in ("caregov_reviewcycle", "caregov_escalation", "caregov_action"):
            cursor.execute(f"VACUUM ANALYZE {table}")

    # (a), (b) and (c) in turn, run after run, so that each meets the same load on the machine.
    shown = f"?months={month_count}"
    timed = {"raw_aggregate": lambda: raw_aggregate(org)}
    first = {}
    with served_as_in_production():
        for name, person, url in (
            ("manager_dashboard", manager, reverse("reporting:dashboard")),
            ("organisation_overview", lead, reverse("reporting:overview")),
        ):
            client = Client(HTTP_HOST="localhost")
            client.force_login(person)
            pass_test_client(client)  # the second factor, as signing in leaves it
            for key, path in ((name, url + shown), (f"{name}_default_months", url)):
                started = time.perf_counter()
                assert client.get(path).status_code == 200, path
                first[key] = (path, time.perf_counter() - started)
                timed[key] = lambda client=client, path=path: client.get(path)
        seconds, cpu, results = in_turn(timed, runs)
        queries = {key: counted(timed[key])[1] for key in first}
    raw_ms = 1000 * statistics.median(seconds["raw_aggregate"])
    say(f"Raw aggregate: {raw_ms:.0f} ms")
    pages = {}
    for key, (path, cold) in first.items():
        response = results[key]
        pages[key] = {
            "url": path,
            "status": response.status_code,
            "bytes": len(response.content),
            "first_request_ms": round(1000 * cold, 1),
            **summary(seconds[key]),
            "python_cpu_median_ms": round(1000 * statistics.median(cpu[key]), 2),
            "queries": queries[key],
            "share_of_raw_aggregate": round(1000 * statistics.median(seconds[key]) / raw_ms, 3),
        }
        say(f"{key}: {pages[key]['median_ms']:.0f} ms, {pages[key]['queries']} queries")
    for name in ("manager_dashboard", "organisation_overview"):
        pages[name]["target_met"] = pages[name]["share_of_raw_aggregate"] <= TARGET_SHARE
        pages[name]["default_months"] = pages.pop(f"{name}_default_months")

    return {
        "benchmark": "reporting_dashboard",
        "machine": {
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "postgresql": _server_version(),
            "django": django.get_version(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "data": {
            "services": len(services),
            "months": len(months),
            "first_month": months[0].start.isoformat(),
            "last_month": months[-1].start.isoformat(),
            "submitted_audits": data.audits,
            "audit_checks": data.checks,
            "load_seconds": round(data.load_seconds, 1),
            **counts,
        },
        "raw_aggregate": {
            "what": "one GROUP BY over assurance_auditcheck joined to auditrecord and audit: met "
            "and answered per service, month and measure (bench.assurance_figures.RAW_AGGREGATE)",
            "rows": len(results["raw_aggregate"]),
            **summary(seconds["raw_aggregate"]),
        },
        "manager_dashboard": {
            "what": f"GET reporting:dashboard, {month_count} months shown, as the registered "
            f"manager of all {len(services)} services",
            **pages["manager_dashboard"],
        },
        "organisation_overview": {
            "what": f"GET reporting:overview, {month_count} months shown, as an "
            "organisation-wide quality lead",
            **pages["organisation_overview"],
        },
        "target": f"each dashboard at or below {TARGET_SHARE:.0%} of the raw aggregate's time",
        "target_met": all(p["target_met"] for p in pages.values()),
    }


if __name__ == "__main__":
    main()
