"""Import a 1,000,000-row ECM export and compare it with a plain COPY of the same file.
Writes bench/results/assurance_import.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.assurance_import \
        [--rows 1000000] [--small 200000] [--runs 3]

PostgreSQL only (the import loads with COPY there). It makes a database of its own,
`caregov_bench`, migrates it, and drops it afterwards; the database named in DATABASE_URL is only
used to connect. The export is written to a temporary directory, one month (October 2026, which
has the change back from summer time) with unique references and realistic values.

Each import runs in a fresh child process that reports its own peak resident memory (VmHWM, reset
just before the import), so the growth during the import is measured alone. The 1,000,000-row
file is imported --runs times (one service each, as the same file twice for one service changes
nothing) and a 200,000-row file once: memory that does not grow with the file is the check. After
each big import, the plain COPY loads the same file, as text, into an unindexed, logged table with
the same nine columns (`COPY ... FROM STDIN WITH (FORMAT csv, HEADER true)`); the same into an
UNLOGGED table is given for reference. The ratio is median import over median plain COPY.

Two more figures explain the ratio: the import's phases (timed by wrapping the functions), with
the way the file went (quick or careful, see assurance/ecm_plain.py), and the database's share:
the rows as the quick way sends them, prepared beforehand, COPYed into assurance_ecmrecord again,
so with no Python work at all.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregov.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection, connections, transaction  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: CAREGOV_BENCH_DATABASE names another, so that two checkouts can measure at once.
BENCH_DATABASE = os.environ.get("CAREGOV_BENCH_DATABASE", "caregov_bench")
MONTH = date(2026, 10, 1)
#: (record type, share of rows, has a review date)
RECORD_TYPES = [
    ("Daily note", 40, False),
    ("Personal care", 20, False),
    ("Medication administration", 15, False),
    ("Fluid chart", 10, False),
    ("Repositioning", 7, False),
    ("Care plan review", 4, True),
    ("Risk assessment", 2, True),
    ("Incident, accident or near miss", 2, False),  # a comma: the cell is quoted
]
AUTHOR_ROLES = ["Care worker"] * 6 + ["Senior care worker"] * 2 + ["Nurse", "Team leader", ""]


def write_export(path: Path, rows: int, seed: int = 2026) -> int:
    """A valid export of `rows` records due in MONTH. Returns its size in bytes."""
    from assurance.ecm import COLUMNS

    rng = random.Random(seed)
    types = [(name, review) for name, share, review in RECORD_TYPES for _ in range(share)]
    days = 31
    start = datetime.combine(MONTH, datetime.min.time())
    # Every minute of the month (and a day beyond, for late records) as the export writes it.
    minutes = [f"{start + timedelta(minutes=m):%Y-%m-%d %H:%M}" for m in range((days + 1) * 1440)]
    dates = [(MONTH + timedelta(days=d)).isoformat() for d in range(-7, days + 7)]
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)  # CRLF line ends, as a Windows ECM writes them
        writer.writerow(COLUMNS)
        batch = []
        random_ = rng.random
        for i in range(rows):
            kind, has_review = types[int(random_() * 100)]
            due = int(random_() * days) * 1440 + 15 * int(random_() * 96)
            draw = random_()
            if draw < 0.04:
                recorded = ""
            elif draw < 0.90:
                recorded = minutes[due + int(random_() * 60)]
            elif draw < 0.98:
                recorded = minutes[due + 60 + int(random_() * 120)]
            else:
                recorded = minutes[due + 180 + int(random_() * 600)]
            review_due = last_review = ""
            if has_review:
                day = int(random_() * days)
                review_due = dates[day + 7]
                late = random_() < 0.1
                last_review = dates[day + 7 + (3 if late else -int(random_() * 5))]
            batch.append(
                (
                    f"ECM-{i + 1:07d}",
                    kind,
                    minutes[due],
                    recorded,
                    AUTHOR_ROLES[int(random_() * len(AUTHOR_ROLES))],
                    "yes" if recorded and random_() < 0.88 else "no",
                    last_review,
                    review_due,
                    str(int(random_() * 1480) + 20) if recorded else "0",
                )
            )
            if len(batch) == 10_000:
                writer.writerows(batch)
                batch = []
        writer.writerows(batch)
    return path.stat().st_size


def vm(field: str) -> int:
    """A line of /proc/self/status in kB, e.g. VmHWM (peak resident memory)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> bool:
    """Reset VmHWM to the current resident size (Linux 4.0 and later)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def timed(owner, name: str, into: dict, label: str) -> None:
    """Add the time spent in owner.name to into[label]."""
    function = getattr(owner, name)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            into[label] = into.get(label, 0) + time.perf_counter() - started

    setattr(owner, name, wrapper)


def child_import(path: str, service_id: int, actor_id: int) -> None:
    """Run in a fresh process: import one file and print seconds and memory as JSON."""
    import resource

    from assurance import ecm, ecm_plain, services
    from caregov.models import Service, User

    phases = {}
    timed(services, "import_queue", phases, "store_and_checksum")
    timed(ecm, "read_export", phases, "read_check_and_load")
    timed(ecm_plain, "_copy", phases, "quick_way_copy")
    timed(ecm_plain, "has_duplicates", phases, "quick_way_duplicates_query")
    timed(ecm, "_report_duplicates", phases, "careful_way_duplicates_query")
    ways = []
    quick_load = ecm_plain.load

    def load(*args, **kwargs):
        outcome = quick_load(*args, **kwargs)
        ways.append("quick" if outcome is not None else "careful")
        return outcome

    ecm_plain.load = load
    timed(services, "recompute_service_month", phases, "figures")
    timed(services, "import_run", phases, "run_in_all")
    timed(services, "_import_finish", phases, "finish_and_figures")
    timed(type(connections["default"]), "_commit", phases, "commits")
    service = Service.objects.get(pk=service_id)
    actor = User.objects.get(pk=actor_id)
    rss_before = vm("VmRSS")
    peak_reset = reset_peak()
    hwm_before = vm("VmHWM")
    started = time.perf_counter()
    record, queued = services.import_file(
        actor=actor, service=service, path=Path(path), period=None
    )
    seconds = time.perf_counter() - started
    hwm_after = vm("VmHWM")
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "status": record.status,
                "queued": queued,
                "rows_read": record.rows_read,
                "problem_count": record.problem_count,
                "problems": record.problems[:3],
                "figures": record.figures,
                "rss_before_kb": rss_before,
                "peak_kb": hwm_after,
                "peak_growth_kb": hwm_after - (hwm_before if peak_reset else rss_before),
                "peak_was_reset": peak_reset,
                "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "phases": {k: round(v, 2) for k, v in phases.items()},
                "way": ways[-1] if ways else "careful",
            }
        )
    )


def database_url() -> str:
    s = connection.settings_dict
    user = quote(s["USER"] or "")
    password = f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else ""
    host = s["HOST"] or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{s['NAME']}"


def run_child(path: Path, service_id: int, actor_id: int, media_root: Path) -> dict:
    env = dict(os.environ, DATABASE_URL=database_url(), MEDIA_ROOT=str(media_root))
    done = subprocess.run(
        [sys.executable, "-m", "bench.assurance_import", "--child", str(path)]
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


def plain_copy(path: Path, unlogged: bool) -> float:
    """COPY the file as text into an unindexed table with the same columns; seconds."""
    from assurance.ecm import COLUMNS

    table = "bench_plain_copy"
    columns = ", ".join(f"{c} text" for c in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE {'UNLOGGED ' if unlogged else ''}TABLE {table} ({columns})")
    started = time.perf_counter()
    sql = f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
    with connection.cursor() as cursor, open(path, "rb") as handle, cursor.cursor.copy(sql) as copy:
        while chunk := handle.read(1 << 20):
            copy.write(chunk)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        count = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {table}")
    assert count > 0
    return seconds


def ecmrecord_floor(path: Path, import_id: int, tmp: Path) -> dict:
    """The database's own share: the file's rows as the quick way sends them (prepared first,
    untimed), COPYed into assurance_ecmrecord for another import with UK times, and the duplicate
    query, in a transaction that is then rolled back."""
    from assurance import ecm_plain
    from assurance.models import EcmImport
    from assurance.services import month_of
    from caregov.cadence import LONDON

    source = EcmImport.objects.get(pk=import_id)
    period = month_of(source.period_start)
    prepared = tmp / "prepared-rows.csv"
    with transaction.atomic():
        again = EcmImport.objects.create(
            organisation=source.organisation,
            service=source.service,
            period_start=source.period_start,
            file_name="floor",
            sha256="floor",
            uploaded_by=source.uploaded_by,
        )
        with open(path, "rb") as stream, open(prepared, "w", encoding="utf-8") as out:
            blocks = ecm_plain.CopyBlocks(stream, again.pk, period)
            out.writelines(blocks)
        with connection.cursor() as cursor, open(prepared, "rb") as handle:
            ecm_plain.set_time_zone(cursor, LONDON.key)
            started = time.perf_counter()
            with cursor.cursor.copy(ecm_plain.copy_query()) as copy:
                while data := handle.read(1 << 20):
                    copy.write(data)
            copied = time.perf_counter() - started
            if not blocks.ordered:
                assert not ecm_plain.has_duplicates(again.pk)
            checked = time.perf_counter() - started - copied
        transaction.set_rollback(True)
    prepared.unlink()
    return {"copy_seconds": round(copied, 2), "duplicates_query_seconds": round(checked, 2)}


def make_world(services: int):
    from caregov.access import Role
    from caregov.models import Membership, Organisation, Service, User

    org = Organisation.objects.create(name="Bench Care", slug="bench-care")
    manager = User.objects.create_user(
        email="manager@bench.example", full_name="Bench Manager", organisation=org
    )
    created = []
    for i in range(services):
        service = Service.objects.create(
            organisation=org,
            name=f"Bench Home {i + 1}",
            code=f"BH{i + 1}",
            service_type=Service.Type.CARE_HOME,
            address_line_1="1 High Street",
            town="York",
            postcode="YO1 1AA",
            phase=Service.Phase.STABILISED,
            registered_manager=manager,
        )
        Membership.objects.create(
            user=manager, organisation=org, role=Role.REGISTERED_MANAGER, service=service
        )
        created.append(service)
    return org, manager, created


def machine() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    import psycopg

    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "postgresql": version,
        "psycopg": psycopg.__version__,
        "django": django.get_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=200_000)
    parser.add_argument(
        "--runs", type=int, default=3, help="imports of the big file and plain COPYs (medians)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--service", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--actor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_import(args.child, args.service, args.actor)
        return
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database: the import COPYs there.")

    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = BENCH_DATABASE
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with tempfile.TemporaryDirectory(prefix="caregov-bench-") as tmp:
            figures = run(Path(tmp), args.rows, args.small, args.runs)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "assurance_import.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def run(tmp: Path, rows: int, small: int, runs: int) -> dict:
    load_before = os.getloadavg()
    org, manager, services = make_world(runs + 1)
    big, little = tmp / "export-big.csv", tmp / "export-small.csv"
    started = time.perf_counter()
    big_bytes = write_export(big, rows)
    little_bytes = write_export(little, small, seed=7)
    generated = time.perf_counter() - started
    print(f"Generated {rows:,} and {small:,} rows in {generated:.1f} s", file=sys.stderr)

    # The big file is imported once per service (a second import for the same service would be
    # the same file again), each import followed by a plain COPY, so both meet the same machine.
    big_runs, logged = [], []
    for service in services[:runs]:
        result = run_child(big, service.pk, manager.pk, tmp / "media")
        assert result["status"] == "imported", result["problems"]
        big_runs.append(result)
        logged.append(plain_copy(big, unlogged=False))
        print(
            f"Import of {big.name}: {result['seconds']} s ({result['way']} way); "
            f"plain COPY {logged[-1]:.2f} s",
            file=sys.stderr,
        )
    small_result = run_child(little, services[runs].pk, manager.pk, tmp / "media")
    assert small_result["status"] == "imported", small_result["problems"]
    print(f"Import of {little.name}: {small_result['seconds']} s", file=sys.stderr)
    unlogged = [plain_copy(big, unlogged=True) for _ in range(runs)]
    from assurance.models import EcmImport

    big_import = EcmImport.objects.get(service=services[0], status=EcmImport.Status.IMPORTED)
    floor = ecmrecord_floor(big, big_import.pk, tmp)
    floor_seconds = floor["copy_seconds"] + floor["duplicates_query_seconds"]
    print(f"The database's share: {floor_seconds:.2f} s", file=sys.stderr)

    big_result = sorted(big_runs, key=lambda r: r["seconds"])[len(big_runs) // 2]
    copy_seconds = statistics.median(logged)
    big_growth, small_growth = big_result["peak_growth_kb"], small_result["peak_growth_kb"]
    return {
        "benchmark": "assurance_import",
        "machine": dict(
            machine(),
            load_average_before=[round(x, 2) for x in load_before],
            load_average_after=[round(x, 2) for x in os.getloadavg()],
        ),
        "file": {
            "rows": rows,
            "bytes": big_bytes,
            "month": f"{MONTH:%Y-%m}",
            "generation_seconds": round(generated, 1),
        },
        "import": {
            "what": "services.import_file in a fresh process: store and checksum the file, check "
            "it (the quick way: a regular expression per block of lines, PostgreSQL's CSV reader "
            "for the values), COPY into assurance_ecmrecord (one b-tree: the unique (import, row)), look for a "
            "reference on two rows, commit, compute the month's figures; median of the runs, "
            "one service each",
            "way": big_result["way"],
            "rows": big_result["rows_read"],
            "seconds": big_result["seconds"],
            "seconds_runs": [r["seconds"] for r in big_runs],
            "rows_per_second": round(big_result["rows_read"] / big_result["seconds"]),
            "phases_seconds": big_result["phases"],
            "peak_rss_growth_mb": round(big_growth / 1024, 1),
            "peak_rss_mb": round(big_result["peak_kb"] / 1024, 1),
            "status": big_result["status"],
            "figures": big_result["figures"],
        },
        "import_small": {
            "rows": small_result["rows_read"],
            "bytes": little_bytes,
            "seconds": small_result["seconds"],
            "phases_seconds": small_result["phases"],
            "peak_rss_growth_mb": round(small_growth / 1024, 1),
            "peak_rss_mb": round(small_result["peak_kb"] / 1024, 1),
        },
        "memory_measured_by": (
            "VmHWM of the import's own fresh process, reset (clear_refs 5) just before the import"
            if big_result["peak_was_reset"]
            else "VmHWM of the import's own fresh process minus its VmRSS just before the import"
        ),
        "plain_copy": {
            "what": "COPY ... FROM STDIN WITH (FORMAT csv, HEADER true) of the same file into a "
            "logged table of nine text columns with no index, key or constraint, 1 MB writes; "
            "one after each import, median of the runs",
            "seconds": round(copy_seconds, 2),
            "seconds_runs": [round(x, 2) for x in logged],
            "unlogged_table_seconds": round(statistics.median(unlogged), 2),
        },
        "database_floor": {
            "what": "the file's rows as the quick way sends them, prepared beforehand, COPYed "
            "into assurance_ecmrecord for another import with UK times, and the duplicate query "
            "(rolled back): what the database itself costs, with no Python work at all",
            **floor,
            "seconds": round(floor_seconds, 2),
        },
        "ratio_import_to_plain_copy": round(big_result["seconds"] / copy_seconds, 2),
        "ratio_database_floor_to_plain_copy": round(floor_seconds / copy_seconds, 2),
        "ratio_import_to_database_floor": round(big_result["seconds"] / floor_seconds, 2),
        "targets": {
            "under_60_seconds": big_result["seconds"] < 60,
            "constant_memory": big_growth <= small_growth + 4 * 1024,
            "within_3x_of_plain_copy": big_result["seconds"] / copy_seconds <= 3,
        },
    }


if __name__ == "__main__":
    main()
