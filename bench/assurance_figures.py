"""Figures for 40 services over 24 months from 1,000,000 audit checks: the raw aggregate against
the summary the pages read. Writes bench/results/assurance_figures.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.assurance_figures \
        [--services 40] [--months 24] [--records 200000] [--runs 5]

PostgreSQL only. It makes a database of its own, `caregov_bench`, migrates it, and drops it
afterwards; the database named in DATABASE_URL is only used to connect.

The data, loaded directly for speed (COPY and INSERT ... SELECT, no history rows): for each
service and month an imported ECM export of 250 records and five submitted audits of 41 or 42 of
those records each (so audits share records, as two auditors checking the same month do), with
five checks per audited record: 200,000 audited records and 1,000,000 checks. Then
`recompute_service_month` runs for every service-month, as submitting an audit would, to fill
MeasureResult and AuditAgreement; the tables are then VACUUM ANALYZEd, as autovacuum would.

Measured, each the median of --runs runs after one warm-up:
(a) the raw aggregate over AuditCheck (met and answered per service, month and measure);
(b) FigureTable for every service and month, and every cell read (each service's trend for each
    measure, rated), with its query count;
(c) GET assurance:compare?period=<last month>&months=24 as an organisation-wide quality lead,
    through Django's test Client, with its query count.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregov.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BENCH_DATABASE = "caregov_bench"
AUDITS_A_MONTH = 5
EXPORT_ROWS = 250
NULL = "\\N"  # in COPY text

RAW_AGGREGATE = """
SELECT a.service_id, a.period_start, c.measure,
       count(*) FILTER (WHERE c.answer = 'met') AS met,
       count(*) FILTER (WHERE c.answer <> 'na') AS answered
FROM assurance_auditcheck c
JOIN assurance_auditrecord r ON r.id = c.record_id
JOIN assurance_audit a ON a.id = r.audit_id
WHERE a.organisation_id = %s AND a.status = 'submitted'
GROUP BY a.service_id, a.period_start, c.measure
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--records", type=int, default=200_000, help="audited records")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with bench_database():
        figures = run(args.services, args.months, args.records, args.runs)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "assurance_figures.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


@contextmanager
def bench_database():
    """A PostgreSQL database of the benchmark's own, migrated, and dropped afterwards."""
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")

    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = BENCH_DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def counted(function):
    """Call function; (its result, the queries it ran)."""
    reset_queries()  # DEBUG keeps only the last 9,000 queries, which would hide new ones
    with CaptureQueriesContext(connection) as queries:
        result = function()
    return result, len(queries)


def timed_runs(function, runs: int) -> tuple[list[float], object]:
    """One warm-up, then `runs` timed calls: (seconds of each, the last result)."""
    result = function()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def summary(seconds: list[float]) -> dict:
    return {
        "median_ms": round(1000 * statistics.median(seconds), 2),
        "runs_ms": [round(1000 * s, 2) for s in seconds],
    }


def copy_rows(table: str, columns: list[str], lines) -> None:
    """COPY text lines (tab separated, \\N for null) into a table, 1 MB at a time."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        buffer, size = [], 0
        for line in lines:
            buffer.append(line)
            size += len(line)
            if size > 1 << 20:
                copy.write("".join(buffer))
                buffer, size = [], 0
        copy.write("".join(buffer))


def build(service_count: int, month_count: int, record_count: int):
    from assurance.ecm import RECORD_FIELDS
    from assurance.measures import CHECKED, MEASURES
    from assurance.models import Audit, AuditRecord, EcmImport, EcmRecord, ThresholdVersion
    from assurance.selectors import months_back
    from caregov.access import Role
    from caregov.cadence import LONDON, Cadence, period_containing
    from caregov.models import Organisation, User
    from caregov.services.organisation import membership_give, service_create

    rng = random.Random(2026)
    org = Organisation.objects.create(name="Bench Care Group", slug="bench-care-group")
    lead = User.objects.create_user(
        email="quality.lead@bench.example", full_name="Quality Lead", organisation=org
    )
    membership_give(actor=None, user=lead, role=Role.QUALITY_LEAD, service=None)
    leader = User.objects.create_user(
        email="team.leader@bench.example", full_name="Team Leader", organisation=org
    )
    services = [
        service_create(
            actor=None,
            organisation=org,
            name=f"Bench Home {i + 1:02d}",
            code=f"BH{i + 1:02d}",
            service_type="care_home",
            address_line_1="1 High Street",
            town="York",
            postcode="YO1 1AA",
            phase="stabilised",
        )
        for i in range(service_count)
    ]
    last = period_containing(Cadence.MONTHLY, date.today()).previous()
    months = months_back(last, month_count)
    # Two threshold versions a measure inside the window, so ratings look thresholds up by month.
    for code in MEASURES:
        for k, month in enumerate((months[len(months) // 3], months[2 * len(months) // 3])):
            ThresholdVersion.objects.create(
                organisation=org,
                measure=code,
                effective_from=month.start,
                target=Decimal(95 - k),
                green_from=Decimal(90 - k),
                amber_from=Decimal(75 - k),
                reason="Bench",
                created_by=lead,
            )

    now = datetime.now(tz=UTC)
    pairs = [(s, m) for s in services for m in months]
    imports = EcmImport.objects.bulk_create(
        EcmImport(
            organisation=org,
            service=s,
            period_start=m.start,
            file_name=f"{s.code}-{m.start:%Y-%m}.csv",
            sha256=f"{s.pk:032x}{m.start:%Y%m%d}".ljust(64, "0"),
            size_bytes=EXPORT_ROWS * 90,
            status=EcmImport.Status.IMPORTED,
            rows_read=EXPORT_ROWS,
            uploaded_by=lead,
            started_at=now,
            finished_at=now,
        )
        for s, m in pairs
    )

    def export_lines():
        for ecm_import, (_, month) in zip(imports, pairs, strict=True):
            start = datetime.combine(month.start, datetime.min.time(), tzinfo=LONDON)
            days = (month.end - month.start).days + 1
            for n in range(1, EXPORT_ROWS + 1):
                due = start + timedelta(days=rng.randrange(days), minutes=15 * rng.randrange(96))
                draw = rng.random()
                recorded = (
                    NULL
                    if draw < 0.05
                    else (due + timedelta(minutes=rng.randrange(200))).astimezone(UTC).isoformat()
                )
                review = rng.random() < 0.1
                yield (
                    f"{ecm_import.pk}\t{n + 1}\tR{n:05d}\tDaily note\t"
                    f"{due.astimezone(UTC).isoformat()}\t{recorded}\tCare worker\t"
                    f"{'t' if rng.random() < 0.88 else 'f'}\t"
                    f"{(month.start + timedelta(days=3)).isoformat() if review else NULL}\t"
                    f"{(month.start + timedelta(days=5)).isoformat() if review else NULL}\t"
                    f"{rng.randrange(20, 1500)}\n"
                )

    copy_rows(
        EcmRecord._meta.db_table,
        RECORD_FIELDS,
        export_lines(),
    )

    audit_count = len(pairs) * AUDITS_A_MONTH
    audits = Audit.objects.bulk_create(
        Audit(
            organisation=org,
            service=s,
            period_start=m.start,
            status=Audit.Status.SUBMITTED,
            sampling=Audit.Sampling.RANDOM,
            ecm_import=ecm_import,
            idempotency_key=uuid.uuid4(),
            submission_key=uuid.uuid4(),
            started_by=leader,
            started_at=now,
            submitted_by=leader,
            submitted_at=now,
        )
        for (s, m), ecm_import in zip(pairs, imports, strict=True)
        for _ in range(AUDITS_A_MONTH)
    )
    base, extra = divmod(record_count, audit_count)

    def record_lines():
        stamp = now.isoformat()
        for i, audit in enumerate(audits):
            size = base + (1 if i < extra else 0)
            for position, n in enumerate(rng.sample(range(1, EXPORT_ROWS + 1), size), start=1):
                yield f"{audit.pk}\t{position}\tR{n:05d}\t\t\t\\N\t\t\t{stamp}\n"

    copy_rows(
        AuditRecord._meta.db_table,
        [
            "audit_id",
            "position",
            "reference",
            "correction_made",
            "corrected_by",
            "corrected_on",
            "support_staff",
            "support_need",
            "saved_at",
        ],
        record_lines(),
    )
    # Five checks a record; each measure met at its own rate, 5% not applicable.
    rates = dict(zip(CHECKED, (0.92, 0.86, 0.80, 0.90, 0.72), strict=False))
    measures = ", ".join(f"('{code}', {rates.get(code, 0.85)})" for code in CHECKED)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.2026)")
        cursor.execute(
            f"""
            INSERT INTO assurance_auditcheck (record_id, measure, answer, note)
            SELECT id, measure,
                   CASE WHEN x < 0.05 THEN 'na' WHEN x < 0.05 + 0.95 * rate THEN 'met'
                        ELSE 'not_met' END,
                   CASE WHEN x >= 0.05 + 0.95 * rate THEN 'Missing detail' ELSE '' END
            FROM (
                SELECT r.id, m.measure, m.rate, random() AS x
                FROM assurance_auditrecord r CROSS JOIN (VALUES {measures}) AS m(measure, rate)
            ) AS drawn
            """
        )
        checks = cursor.rowcount
    return org, lead, services, months, pairs, len(audits), checks


@dataclass
class Loaded:
    """The benchmark's data, loaded, with its figures computed and its tables analysed."""

    org: object
    lead: object
    services: list
    months: list
    pairs: list
    audits: int
    checks: int
    load_seconds: float
    recompute_seconds: list[float]
    recompute_queries: int


def load(service_count: int, month_count: int, record_count: int) -> Loaded:
    """Load the data, then fill the summary as submitting each month's audits would."""
    from assurance.figures import recompute_service_month

    started = time.perf_counter()
    org, lead, services, months, pairs, audits, checks = build(
        service_count, month_count, record_count
    )
    loaded = time.perf_counter() - started
    say(f"Loaded {checks:,} checks in {loaded:.1f} s")

    # Statistics for the loaded tables, as autovacuum gathers after a bulk load. Without them
    # the planner scans every check for each service-month (measured: ~6 times slower).
    analyze(["assurance_auditcheck", "assurance_auditrecord", "assurance_audit"])
    analyze(["assurance_ecmrecord", "assurance_ecmimport"])
    # The figures, as submitting each month's last audit would leave them.
    recompute = []
    _, recompute_queries = counted(lambda: recompute_service_month(pairs[0][0], pairs[0][1].start))
    for service, month in pairs:
        started = time.perf_counter()
        recompute_service_month(service, month.start)
        recompute.append(time.perf_counter() - started)
    say(f"Recomputed {len(pairs)} service-months in {sum(recompute):.1f} s")
    analyze(
        [
            "assurance_auditcheck",
            "assurance_auditrecord",
            "assurance_audit",
            "assurance_ecmrecord",
            "assurance_measureresult",
        ],
        vacuum=True,
    )
    return Loaded(
        org, lead, services, months, pairs, audits, checks, loaded, recompute, recompute_queries
    )


def raw_aggregate(org) -> list[tuple]:
    """Met and answered per service, month and measure, straight from the audit checks."""
    with connection.cursor() as cursor:
        cursor.execute(RAW_AGGREGATE, [org.pk])
        return cursor.fetchall()


def run(service_count: int, month_count: int, record_count: int, runs: int) -> dict:
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from assurance.measures import MEASURES
    from assurance.models import AuditAgreement, AuditCheck, AuditRecord, EcmRecord, MeasureResult
    from assurance.selectors import FigureTable
    from caregov.mfa import pass_test_client
    from caregov.models import Service

    load_before = os.getloadavg()
    data = load(service_count, month_count, record_count)
    org, lead, months, recompute = data.org, data.lead, data.months, data.recompute_seconds

    # (a) The raw aggregate.
    raw_seconds, raw_rows = timed_runs(lambda: raw_aggregate(org), runs)
    say(f"Raw aggregate: {statistics.median(raw_seconds) * 1000:.0f} ms")

    # (b) The summary the pages read.
    service_list = list(Service.objects.filter(organisation=org, is_active=True).order_by("name"))

    def table():
        built = FigureTable(org, service_list, months)
        cells = rated = 0
        for service in service_list:
            for code in MEASURES:
                for figure in built.trend(service.pk, code):
                    cells += 1
                    rated += figure.rating is not None
        return cells, rated

    table_seconds, (cells, rated) = timed_runs(table, runs)
    (_, _), table_queries = counted(table)
    say(f"FigureTable and every cell: {statistics.median(table_seconds) * 1000:.1f} ms")
    build_seconds, _ = timed_runs(lambda: FigureTable(org, service_list, months), runs)

    # What the database itself spends on the summary rows FigureTable reads.
    def summary_rows(columns: str):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns} FROM assurance_measureresult "
                "WHERE service_id = ANY(%s) AND period_start BETWEEN %s AND %s",
                [[s.pk for s in service_list], months[0].start, months[-1].start],
            )
            return cursor.fetchall()

    figures_only = "service_id, period_start, measure, source, numerator, denominator"
    summary_seconds, summary_found = timed_runs(
        lambda: summary_rows(f"{figures_only}, detail, computed_at"), runs
    )
    narrow_seconds, _ = timed_runs(lambda: summary_rows(figures_only), runs)

    # (c) The comparison page.
    try:
        url = reverse("assurance:compare")
    except NoReverseMatch:
        url = None
    page = {"url": None, "exists": False}
    if url is not None:
        client = Client()
        client.force_login(lead)
        pass_test_client(client)  # the second factor, as signing in leaves it
        path = f"{url}?period={months[-1].start:%Y-%m}&months={len(months)}"
        started = time.perf_counter()
        client.get(path)
        cold = time.perf_counter() - started
        page_seconds, response = timed_runs(lambda: client.get(path), runs)
        _, page_queries = counted(lambda: client.get(path))
        default_path = f"{url}?period={months[-1].start:%Y-%m}"
        default_seconds, default_response = timed_runs(lambda: client.get(default_path), runs)
        _, default_queries = counted(lambda: client.get(default_path))
        page = {
            "url": path,
            "exists": True,
            "status": response.status_code,
            "bytes": len(response.content),
            "first_request_ms": round(1000 * cold, 1),
            **summary(page_seconds),
            "queries": page_queries,
            "without_months": {
                "url": default_path,
                "status": default_response.status_code,
                **summary(default_seconds),
                "queries": default_queries,
            },
        }
        say(f"Compare page: {statistics.median(page_seconds) * 1000:.0f} ms")

    recompute_ms = sorted(1000 * s for s in recompute)
    return {
        "benchmark": "assurance_figures",
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
            "services": len(data.services),
            "months": len(months),
            "first_month": months[0].start.isoformat(),
            "last_month": months[-1].start.isoformat(),
            "submitted_audits": data.audits,
            "audit_records": AuditRecord.objects.count(),
            "audit_checks": AuditCheck.objects.count(),
            "ecm_records": EcmRecord.objects.count(),
            "measure_results": MeasureResult.objects.count(),
            "audit_agreements": AuditAgreement.objects.count(),
            "load_seconds": round(data.load_seconds, 1),
        },
        "recompute_service_month": {
            "what": "recompute_service_month for each service-month after loading: latest "
            "export's counts, audits' counts, reliability, agreements, rewrite of the summary",
            "service_months": len(recompute),
            "total_seconds": round(sum(recompute), 1),
            "median_ms": round(statistics.median(recompute_ms), 1),
            "p95_ms": round(recompute_ms[int(0.95 * (len(recompute_ms) - 1))], 1),
            "max_ms": round(recompute_ms[-1], 1),
            "queries_each": data.recompute_queries,
        },
        "raw_aggregate": {
            "what": "one GROUP BY over assurance_auditcheck joined to auditrecord and audit: met "
            "and answered per service, month and measure (PostgreSQL, tables VACUUM ANALYZEd)",
            "rows": len(raw_rows),
            **summary(raw_seconds),
        },
        "figure_table": {
            "what": "FigureTable(org, services, months) and every cell read: each service's "
            "trend for each measure over all the months, with its rating",
            "cells": cells,
            "cells_with_data": rated,
            **summary(table_seconds),
            "queries": table_queries,
            "of_which_building_the_table_median_ms": round(
                1000 * statistics.median(build_seconds), 2
            ),
        },
        "summary_rows_sql": {
            "what": "the SELECT FigureTable runs on assurance_measureresult, as plain rows: what "
            "the database costs; the rest of figure_table is building model instances",
            "rows": len(summary_found),
            **summary(summary_seconds),
            "without_detail_and_computed_at_median_ms": round(
                1000 * statistics.median(narrow_seconds), 2
            ),
        },
        "compare_page": page,
        "figures_faster_than_raw_aggregate": round(
            statistics.median(raw_seconds) / statistics.median(table_seconds), 1
        ),
    }


def analyze(tables: list[str], vacuum: bool = False) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"{'VACUUM ' if vacuum else ''}ANALYZE {table}")


def _server_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


if __name__ == "__main__":
    main()
