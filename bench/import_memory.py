"""Peak memory of an ECM import whatever the file's line lengths (issue 14, section 1).
Writes bench/results/import_memory.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.import_memory \
        [--megabytes 200] [--rows 200000] [--before /work/main]

It writes two files to a temporary directory: a 200 MB export whose only record has no line
break at all (the header, then "R1,Daily note," and 200 MB of "x"), and a normal export of
200,000 rows (bench.assurance_import.write_export). Each is imported with
`services.import_file` for October 2026 in a fresh child process, which reports the time, the
outcome and its peak resident memory: VmHWM from /proc (reset just before the import, so the
figure is the growth during the import alone) and ru_maxrss from resource.getrusage. The target:
the one-line file costs no more memory than the normal one, and it is refused by its row ("Row 2
is longer than 65,536 characters"), not read whole.

`--before PATH` runs the same child imports a second time with the caregov code at PATH (a
checkout of an earlier commit, e.g. the main worktree) for comparison.

PostgreSQL or SQLite, whichever DATABASE_URL names. On PostgreSQL it makes a database of its own,
`caregov_bench_memory`, migrates it and drops it; the database named in DATABASE_URL is only used
to connect. On SQLite the database is a temporary file. About a minute in all.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregov.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BENCH_DATABASE = "caregov_bench_memory"
HERE = Path(__file__).resolve()


def write_one_line(path: Path, megabytes: int) -> int:
    """The header, then one record that never ends: no line break in `megabytes` MB."""
    from assurance.ecm import COLUMNS

    block = b"x" * (1 << 20)
    with open(path, "wb") as out:
        out.write((",".join(COLUMNS) + "\n").encode())
        out.write(b"R1,Daily note,")
        for _ in range(megabytes):
            out.write(block)
    return path.stat().st_size


def child_import(path: str, service_id: int, actor_id: int) -> None:
    """Run in a fresh process: import one file, print seconds, outcome and memory as JSON."""
    import resource

    from assurance import ecm, services
    from bench.assurance_import import reset_peak, vm
    from caregov.cadence import Cadence, period_containing
    from caregov.models import Service, User

    service = Service.objects.get(pk=service_id)
    actor = User.objects.get(pk=actor_id)
    october = period_containing(Cadence.MONTHLY, date(2026, 10, 1))
    rss_before = vm("VmRSS")
    peak_reset = reset_peak()
    hwm_before = vm("VmHWM")
    started = time.perf_counter()
    record, _ = services.import_file(actor=actor, service=service, path=Path(path), period=october)
    seconds = time.perf_counter() - started
    hwm_after = vm("VmHWM")
    print(
        json.dumps(
            {
                "code": str(Path(ecm.__file__).resolve().parents[1]),
                "seconds": round(seconds, 2),
                "status": record.status,
                "rows_read": record.rows_read,
                "problem_count": record.problem_count,
                "problems": [p["message"][:120] for p in record.problems[:3]],
                "rss_before_kb": rss_before,
                "peak_kb": hwm_after,
                "peak_growth_kb": hwm_after - (hwm_before if peak_reset else rss_before),
                "peak_was_reset": peak_reset,
                "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


def run_child(path: Path, service_id: int, actor_id: int, tmp: Path, code: Path | None) -> dict:
    from bench.assurance_import import database_url

    env = dict(os.environ, ECM_IMPORT_DIR=str(tmp / "imports"))
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = database_url()
    else:
        env["DATABASE_URL"] = f"sqlite:///{connection.settings_dict['NAME']}"
    # The child runs this file as a script, so the caregov it imports is the one on PYTHONPATH:
    # this checkout, or the one --before names.
    env["PYTHONPATH"] = os.pathsep.join([str(code or HERE.parents[1]), str(HERE.parents[1])])
    done = subprocess.run(
        [sys.executable, str(HERE), "--child", str(path)]
        + ["--service", str(service_id), "--actor", str(actor_id)],
        env=env,
        cwd=str(code or HERE.parents[1]),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        return {"failed": True, "exit_code": done.returncode, "stderr": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--before", type=Path, help="also run with the caregov code at this path")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--service", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--actor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_import(args.child, args.service, args.actor)
        return

    from django.test.utils import setup_test_environment

    setup_test_environment()
    with tempfile.TemporaryDirectory(prefix="caregov-bench-memory-") as tmp:
        tmp = Path(tmp)
        name = BENCH_DATABASE if connection.vendor == "postgresql" else str(tmp / "bench.sqlite3")
        connection.settings_dict.setdefault("TEST", {})["NAME"] = name
        old_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
        try:
            figures = run(tmp, args.megabytes, args.rows, args.before)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "import_memory.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def run(tmp: Path, megabytes: int, rows: int, before: Path | None) -> dict:
    from bench.assurance_import import machine, make_world, write_export

    load_before = os.getloadavg()
    codes = [None, before] if before else [None]
    # One service per import: the same file twice for one service would change nothing.
    _, manager, services = make_world(2 * len(codes))
    one_line, normal = tmp / "one-line.csv", tmp / "normal.csv"
    started = time.perf_counter()
    sizes = {
        "one_line": write_one_line(one_line, megabytes),
        "normal": write_export(normal, rows),
    }
    print(f"Generated both files in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    runs = {}
    service = iter(services)
    for code in codes:
        label = "this_branch" if code is None else "before"
        for kind, path in (("one_line", one_line), ("normal", normal)):
            result = run_child(path, next(service).pk, manager.pk, tmp, code)
            runs[f"{label}.{kind}"] = result
            print(
                f"{label} {kind}: {result.get('seconds')} s, {result.get('status')}, "
                f"peak growth {result.get('peak_growth_kb', 0) / 1024:.1f} MiB",
                file=sys.stderr,
            )
    mine = runs["this_branch.one_line"], runs["this_branch.normal"]
    return {
        "benchmark": "import_memory",
        "machine": dict(
            machine() if connection.vendor == "postgresql" else {"database": "sqlite"},
            database=connection.vendor,
            load_average_before=[round(x, 2) for x in load_before],
            load_average_after=[round(x, 2) for x in os.getloadavg()],
        ),
        "files": {
            "one_line": f"{sizes['one_line']:,} bytes: the header, then one record with no line "
            "break",
            "normal": f"{sizes['normal']:,} bytes: {rows:,} rows (bench.assurance_import)",
        },
        "runs": runs,
        "one_line_peak_growth_mib": round(mine[0].get("peak_growth_kb", 0) / 1024, 1),
        "normal_peak_growth_mib": round(mine[1].get("peak_growth_kb", 0) / 1024, 1),
        "bounded": mine[0].get("status") == "failed"
        and mine[0].get("peak_growth_kb", 1 << 30) <= max(mine[1].get("peak_growth_kb", 0), 65536),
    }


if __name__ == "__main__":
    if str(HERE.parents[1]) not in sys.path:
        sys.path.append(str(HERE.parents[1]))
    main()
