"""Import a 1,000,000-row export in a supplier's own columns through an import profile, against
the plain-format import of the same rows, in the same run. Writes bench/results/import_mapped.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.import_mapped \
        [--rows 1000000] [--runs 3]

PostgreSQL only. Like bench/assurance_import.py (whose helpers it uses) it makes a database of
its own, `caregov_bench_mapped` (CAREGOV_BENCH_DATABASE names another), migrates it and drops it
afterwards. The plain file is bench/assurance_import's October export; the supplier's file holds
the same records in another shape: eleven columns in another order with their own names, a staff
name and a branch column the profile leaves out, times as 14/10/2026 08:30, Y and N. Generating
them is not timed.

Each import runs in a fresh child process (services.import_file: store and checksum, check and
load, figures). Each run imports the plain file for one service and the supplier's file for
another, one after the other, so both meet the same machine; the ratio is the median mapped
import over the median plain import. The target is 1.5 or less.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection

from bench.assurance_import import (
    RESULTS,
    database_url,
    machine,
    make_world,
    timed,
    write_export,
)

BENCH_DATABASE = os.environ.get("CAREGOV_BENCH_DATABASE", "caregov_bench_mapped")
SUPPLIER_COLUMNS = [
    "Visit Ref",
    "Branch",
    "Scheduled",
    "Completed At",
    "Note Type",
    "Staff Name",
    "Staff Role",
    "Outcome Recorded",
    "Note Length",
    "Last Reviewed",
    "Review Due",
]
FIELDS = {
    "record_reference": "visit ref",
    "record_type": "note type",
    "due_time": "scheduled",
    "recorded_time": "completed at",
    "author_role": "staff role",
    "outcome_recorded": "outcome recorded",
    "last_review_date": "last reviewed",
    "review_due_date": "review due",
    "narrative_length": "note length",
}
STAFF = ["A. Carer", "B. Carer", "C. Carer", "D. Nurse", "E. Senior"]


def day_first(text: str) -> str:
    """2026-10-14 08:30 -> 14/10/2026 08:30; 2026-10-14 -> 14/10/2026."""
    if not text:
        return ""
    day = f"{text[8:10]}/{text[5:7]}/{text[:4]}"
    return f"{day}{text[10:]}" if len(text) > 10 else day


def write_supplier_export(plain: Path, path: Path) -> int:
    """The plain export's records in the supplier's shape. Returns its size in bytes."""
    with (
        open(plain, newline="", encoding="utf-8") as source,
        open(path, "w", newline="", encoding="utf-8") as out,
    ):
        reader = csv.DictReader(source)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(SUPPLIER_COLUMNS)
        for i, row in enumerate(reader):
            writer.writerow(
                [
                    row["record_reference"],
                    "Bench Home",
                    day_first(row["due_time"]),
                    day_first(row["recorded_time"]),
                    row["record_type"],
                    STAFF[i % len(STAFF)],
                    row["author_role"],
                    "Y" if row["outcome_recorded"] in ("yes", "y", "true", "1") else "N",
                    row["narrative_length"],
                    day_first(row["last_review_date"]),
                    day_first(row["review_due_date"]),
                ]
            )
    return path.stat().st_size


def child_import(path: str, service_id: int, actor_id: int) -> None:
    """Run in a fresh process: import one file and print its seconds, way and phases as JSON."""
    from assurance import ecm, ecm_mapped, ecm_plain, services
    from caregov.models import Service, User

    phases: dict = {}
    ways: list[str] = []
    timed(services, "import_queue", phases, "store_and_checksum")
    timed(ecm, "read_export", phases, "read_check_and_load")
    timed(services, "recompute_service_month", phases, "figures")
    for module, name in ((ecm_plain, "plain"), (ecm_mapped, "mapped")):
        quick = module.load

        def load(*args, _quick=quick, _name=name, **kwargs):
            outcome = _quick(*args, **kwargs)
            ways.append(f"quick ({_name})" if outcome is not None else "careful")
            return outcome

        module.load = load
    timed(ecm_mapped, "copy_direct", phases, "mapped_check_order_and_copy")
    timed(ecm_mapped, "has_duplicates", phases, "mapped_duplicates_query")
    timed(ecm_mapped, "block_pattern", phases, "mapped_pattern_build")
    timed(ecm_plain, "_copy", phases, "plain_copy")
    service = Service.objects.get(pk=service_id)
    actor = User.objects.get(pk=actor_id)
    started = time.perf_counter()
    record, queued = services.import_file(
        actor=actor, service=service, path=Path(path), period=None
    )
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "status": record.status,
                "rows_read": record.rows_read,
                "problems": record.problems[:3],
                "profile": record.profile.name if record.profile_id else None,
                "figures": record.figures,
                "way": ways[-1] if ways else "careful",
                "phases": {k: round(v, 2) for k, v in phases.items()},
            }
        )
    )


def run_child(path: Path, service_id: int, actor_id: int, media_root: Path) -> dict:
    env = dict(os.environ, DATABASE_URL=database_url(), MEDIA_ROOT=str(media_root))
    done = subprocess.run(
        [sys.executable, "-m", "bench.import_mapped", "--child", str(path)]
        + ["--service", str(service_id), "--actor", str(actor_id)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"The import child failed with exit code {done.returncode}.")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(tmp: Path, rows: int, runs: int) -> dict:
    from assurance.services import profile_save

    load_before = os.getloadavg()
    org, manager, services = make_world(2 * runs)
    plain, supplier = tmp / "export-plain.csv", tmp / "export-supplier.csv"
    started = time.perf_counter()
    plain_bytes = write_export(plain, rows)
    supplier_bytes = write_supplier_export(plain, supplier)
    generated = time.perf_counter() - started
    print(f"Generated {rows:,} rows in both shapes in {generated:.1f} s", file=sys.stderr)
    profile_save(
        actor=manager,
        organisation=org,
        name="Bench supplier visits",
        names=SUPPLIER_COLUMNS,
        fields={field: {"column": column} for field, column in FIELDS.items()},
        date_format="dmy",
        yes=["Y"],
        no=["N"],
    )
    plain_runs, mapped_runs = [], []
    for i in range(runs):
        plain_result = run_child(plain, services[2 * i].pk, manager.pk, tmp / "media")
        assert plain_result["status"] == "imported", plain_result["problems"]
        mapped_result = run_child(supplier, services[2 * i + 1].pk, manager.pk, tmp / "media")
        assert mapped_result["status"] == "imported", mapped_result["problems"]
        assert mapped_result["figures"] == plain_result["figures"]
        plain_runs.append(plain_result)
        mapped_runs.append(mapped_result)
        print(
            f"Run {i + 1}: plain {plain_result['seconds']} s ({plain_result['way']}), "
            f"mapped {mapped_result['seconds']} s ({mapped_result['way']})",
            file=sys.stderr,
        )
    plain_seconds = statistics.median(r["seconds"] for r in plain_runs)
    mapped_seconds = statistics.median(r["seconds"] for r in mapped_runs)
    median_mapped = sorted(mapped_runs, key=lambda r: r["seconds"])[len(mapped_runs) // 2]
    median_plain = sorted(plain_runs, key=lambda r: r["seconds"])[len(plain_runs) // 2]
    ratio = round(mapped_seconds / plain_seconds, 2)
    return {
        "benchmark": "import_mapped",
        "machine": dict(
            machine(),
            load_average_before=[round(x, 2) for x in load_before],
            load_average_after=[round(x, 2) for x in os.getloadavg()],
        ),
        "files": {
            "rows": rows,
            "plain_bytes": plain_bytes,
            "supplier_bytes": supplier_bytes,
            "supplier_shape": "11 columns in another order, two left out (a staff name, the "
            "branch), DD/MM/YYYY HH:MM times, Y and N",
            "generation_seconds": round(generated, 1),
        },
        "plain": {
            "what": "services.import_file of caregov's nine columns in a fresh process (the "
            "quick way: a regular expression per block, COPY into assurance_ecmrecord)",
            "seconds": plain_seconds,
            "seconds_runs": [r["seconds"] for r in plain_runs],
            "way": median_plain["way"],
            "phases_seconds": median_plain["phases"],
        },
        "mapped": {
            "what": "services.import_file of the supplier's file through its profile in a fresh "
            "process (the quick way: a regular expression per block built for the profile, each "
            "checked block's lines put in caregov's order as they stream, COPY into "
            "assurance_ecmrecord with the profile's DateStyle)",
            "seconds": mapped_seconds,
            "seconds_runs": [r["seconds"] for r in mapped_runs],
            "way": median_mapped["way"],
            "phases_seconds": median_mapped["phases"],
            "rows_per_second": round(rows / mapped_seconds),
        },
        "same_figures": True,
        "ratio_mapped_to_plain": ratio,
        "target_ratio": 1.5,
        "meets_target": ratio <= 1.5,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="imports of each file (medians)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--service", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--actor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_import(args.child, args.service, args.actor)
        return
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database: both imports COPY there.")

    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = BENCH_DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with tempfile.TemporaryDirectory(prefix="caregov-bench-mapped-") as tmp:
            figures = run(Path(tmp), args.rows, args.runs)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "import_mapped.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
