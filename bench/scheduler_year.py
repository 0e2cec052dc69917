"""Run the governance scheduler every 15 minutes for a simulated year and check that every
period was opened exactly once. Writes bench/results/scheduler_year.json.

    .venv/bin/python -m bench.scheduler_year [--services 8] [--year 2026] [--step 15]

It builds a throwaway provider in a fresh test database (SQLite by default, PostgreSQL when
DATABASE_URL is set) and removes it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregov.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402
import django.conf  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=8)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--step", type=int, default=15, help="minutes between runs")
    args = parser.parse_args()

    setup_test_environment()
    # A database of its own, so the benchmark never shares one with a test run.
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test_settings["NAME"] = str(Path(django.conf.settings.VAR_DIR) / "bench.sqlite3")
    else:
        test_settings["NAME"] = "caregov_bench"
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        figures = run(args.services, args.year, args.step)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "scheduler_year.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def run(services: int, year: int, step: int) -> dict:
    from caregov.cadence import LONDON, period_containing
    from caregov.engine import run_scheduler
    from caregov.models import Organisation, ReviewCycle, Service
    from caregov.registry import review_kinds

    org = Organisation.objects.create(name="Bench Care", slug="bench")
    phases = ["rollout", "stabilised", "planning"]
    created = [
        Service.objects.create(
            organisation=org,
            name=f"Service {i}",
            code=f"B{i}",
            service_type="care_home",
            address_line_1="1 Road",
            town="York",
            postcode="YO1 1AA",
            phase=phases[i % 3],
            phase_changed_on=datetime(year - 1, 1, 1).date(),
        )
        for i in range(services)
    ]
    at = datetime(year, 1, 1, tzinfo=LONDON)
    end = datetime(year + 1, 1, 1, tzinfo=LONDON)
    runs = 0
    started = time.perf_counter()
    while at < end:
        run_scheduler(at=at)
        runs += 1
        at = (at.astimezone(tz=None) + timedelta(minutes=step)).astimezone(LONDON)
    seconds = time.perf_counter() - started

    # Every (kind, scope, period) the year should hold, opened exactly once.
    expected = set()
    day = datetime(year, 1, 1).date()
    while day.year == year:
        for kind in review_kinds.all():
            scopes = created if kind.scope == "service" else [None]
            for service in scopes:
                cadence = kind.cadence_for(service.phase if service else None)
                if cadence:
                    p = period_containing(cadence, day)
                    expected.add((kind.code, service.pk if service else None, cadence, p.start))
        day += timedelta(days=1)
    rows = list(ReviewCycle.objects.values_list("kind", "service_id", "cadence", "period_start"))
    opened = set(rows)
    # Periods that began in the previous year (a week spanning New Year) open on 1 January.
    return {
        "benchmark": "scheduler_year",
        "database": connection.vendor,
        "services": services,
        "year": year,
        "step_minutes": step,
        "runs": runs,
        "seconds": round(seconds, 1),
        "ms_per_run": round(1000 * seconds / runs, 2),
        "cycles_opened": len(rows),
        "duplicates": len(rows) - len(opened),
        "expected_periods": len(expected),
        "missing": len(expected - opened),
        "unexpected": len(opened - expected),
        "every_period_opened_exactly_once": len(rows) == len(opened) and opened == expected,
    }


if __name__ == "__main__":
    main()
