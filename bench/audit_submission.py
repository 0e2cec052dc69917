"""Audit submission under load: team leaders submitting different audits at once, against a real
server on 127.0.0.1. Writes bench/results/audit_submission.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.audit_submission \
        [--users 50] [--singles 20] [--export-rows 5000] [--records 20]

PostgreSQL and Redis (CELERY_BROKER_URL, default redis://127.0.0.1:6379/0; use a database
number of the benchmark's own, e.g. /9) only. It makes a
database of its own, `caregov_bench_submit`, migrates it, loads it, and drops it afterwards.

The data: one provider with one care home per audit to submit (`--singles` + 2 x `--users`), each
with its team leader, an imported ECM export of `--export-rows` records for October 2026, and a
draft audit of `--records` of those records with every record answered: all that is left is to
press "Submit audit".

The server is started as production starts it (`gunicorn` reading gunicorn.conf.py, so with
the same workers and threads), with a Celery worker beside it, as in docker-compose.yml. Each team
leader has a signed-in session and has opened their audit's submit page (not timed). Then:

(1) one at a time: `--singles` team leaders submit, one after another: p95(1);
(2) a burst: `--users` team leaders are released together by one barrier and submit at once;
(3) a minute's rush: `--users` more submit at moments spread evenly over 10 seconds.

Each submission is the device's request (Accept: application/json), timed from the request to the
last byte of the answer. Afterwards the benchmark checks there were no errors, that every audit was
submitted exactly once (a repeat of one submission is sent too, and must change nothing), and,
once the worker is idle, that each service's figures count its audit: nothing is lost or doubled.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregov.settings")
# The server checks the sessions this process signs in with this key: one key for both.
os.environ.setdefault("SECRET_KEY", "bench-" + uuid.uuid4().hex + uuid.uuid4().hex)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench.own_database import own_database  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DATABASE = "caregov_bench_submit"
PORT = 8731
PERIOD = date(2026, 10, 1)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--export-rows", type=int, default=5000)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument(
        "--record",
        default="after",
        help="where the run goes in the results file: 'before' replaces the one run measured on "
        "the earlier code; anything else is added to the list of runs under that name",
    )
    parser.add_argument("--results", type=Path, default=RESULTS / "audit_submission.json")
    args = parser.parse_args()
    with bench_database() as database_url:
        figures = run(args, database_url)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(args.results.read_text()) if args.results.exists() else {}
    if args.record == "before":
        kept["before"] = figures
    else:
        kept.setdefault(args.record, []).append(figures)
    args.results.write_text(json.dumps(kept, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def bench_database():
    return own_database(BENCH_DATABASE)


# The world --------------------------------------------------------------------------------------


def export_csv(rows: int) -> bytes:
    lines = [
        "record_reference,record_type,due_time,recorded_time,author_role,outcome_recorded,"
        "last_review_date,review_due_date,narrative_length"
    ]
    for i in range(rows):
        day = 1 + i % 28
        hour = 7 + i % 12
        recorded = "" if i % 20 == 0 else f"2026-10-{day:02d} {hour:02d}:40"
        lines.append(
            f"R{i + 1:06d},Daily note,2026-10-{day:02d} {hour:02d}:00,{recorded},Care worker,"
            f"{'yes' if i % 7 else 'no'},,,{200 + i % 300}"
        )
    return ("\n".join(lines) + "\n").encode()


def load(count: int, export_rows: int, records: int) -> list[dict]:
    """`count` care homes, each with a team leader and an answered draft audit; returns, for each,
    what a client needs: the team leader's id, the audit's id and its service's id."""
    import io

    from assurance import services
    from assurance.measures import CHECKED
    from caregov.access import Role
    from caregov.cadence import Cadence, period_containing
    from caregov.models import Membership, Organisation, Service, User

    org = Organisation.objects.create(name="Benchmark Care Group", slug="benchmark-care")
    lead = User.objects.create_user(
        email="lead@bench.example", password=None, full_name="Quality Lead", organisation=org
    )
    Membership.objects.create(user=lead, organisation=org, role=Role.QUALITY_LEAD)
    period = period_containing(Cadence.MONTHLY, PERIOD)
    data = export_csv(export_rows)
    references = "\n".join(f"R{i * (export_rows // records) + 1:06d}" for i in range(records))
    answers = dict.fromkeys(CHECKED, ("met", ""))
    world = []
    for n in range(count):
        service = Service.objects.create(
            organisation=org,
            name=f"Home {n + 1:03d}",
            code=f"HOME{n + 1:03d}",
            service_type=Service.Type.CARE_HOME,
            address_line_1="1 High Street",
            town="York",
            postcode="YO1 1AA",
        )
        leader = User.objects.create_user(
            email=f"leader{n + 1}@bench.example",
            password=None,
            full_name=f"Team Leader {n + 1}",
            organisation=org,
        )
        Membership.objects.create(
            user=leader, organisation=org, role=Role.TEAM_LEADER, service=service
        )
        record, queued = services.import_queue(
            actor=lead,
            service=service,
            period=period,
            upload=io.BytesIO(data),
            file_name="october.csv",
        )
        if queued:
            services.import_run(record)
        audit, _ = services.audit_start(
            actor=leader,
            service=service,
            period=period,
            idempotency_key=uuid.uuid4(),
            references=references,
        )
        for audit_record in audit.records.all():
            services.audit_record_save(actor=leader, record=audit_record, answers=answers)
        world.append({"user": leader.pk, "audit": audit.pk, "service": service.pk})
        if (n + 1) % 10 == 0:
            say(f"  loaded {n + 1} of {count} care homes")
    return world


def session_cookie(user_id: int) -> str:
    """A signed-in session for the user, as signing in leaves it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from caregov.models import User

    user = User.objects.get(pk=user_id)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


# The clients ------------------------------------------------------------------------------------


class Client:
    """One team leader's tablet: a signed-in session that has opened the submit page."""

    def __init__(self, entry: dict):
        self.audit = entry["audit"]
        self.service = entry["service"]
        self.cookies = {settings.SESSION_COOKIE_NAME: session_cookie(entry["user"])}
        self.path = f"/assurance/audits/{self.audit}/submit/"
        self.key = str(uuid.uuid4())

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _keep_cookies(self, response) -> None:
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]

    def open_page(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        conn.request("GET", self.path, headers={"Cookie": self._cookie_header()})
        response = conn.getresponse()
        body = response.read().decode()
        self._keep_cookies(response)
        conn.close()
        if response.status != 200:
            raise SystemExit(f"The submit page answered {response.status} for {self.path}")
        self.token = TOKEN.search(body).group(1)

    def submit(self) -> dict:
        body = f"csrfmiddlewaretoken={self.token}&submission_key={self.key}"
        headers = {
            "Cookie": self._cookie_header(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Referer": f"http://127.0.0.1:{PORT}{self.path}",
            "X-CSRFToken": self.token,
        }
        started = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            status = response.status
            conn.close()
        except OSError as error:
            return {"seconds": time.perf_counter() - started, "status": 0, "error": str(error)}
        seconds = time.perf_counter() - started
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = {"status": f"not JSON: {payload[:80]!r}"}
        return {
            "seconds": seconds,
            "status": status,
            "answer": answer.get("status"),
            "now": answer.get("now"),
        }


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def summary(results: list[dict]) -> dict:
    seconds = [r["seconds"] for r in results]
    return {
        "submissions": len(results),
        "p50_s": round(statistics.median(seconds), 3),
        "p95_s": round(p95(seconds), 3),
        "max_s": round(max(seconds), 3),
        "errors": sum(1 for r in results if r["status"] != 200 or r["answer"] != "submitted"),
    }


def at_once(clients: list[Client]) -> list[dict]:
    barrier = threading.Barrier(len(clients))
    results: list[dict] = [None] * len(clients)  # type: ignore[list-item]

    def go(i: int) -> None:
        barrier.wait()
        results[i] = clients[i].submit()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def spread(clients: list[Client], seconds: float) -> list[dict]:
    results: list[dict] = [None] * len(clients)  # type: ignore[list-item]
    start = time.perf_counter() + 0.5
    gap = seconds / len(clients)

    def go(i: int) -> None:
        time.sleep(max(0.0, start + i * gap - time.perf_counter()))
        results[i] = clients[i].submit()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# Where the CPU goes -----------------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, float, str]]:
    """Every process: pid -> (parent pid, CPU seconds used, command line)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        found[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, cmdline)
    return found


def _tree(processes: dict, root: int) -> set[int]:
    members, grew = {root}, True
    while grew:
        more = {pid for pid, (parent, _, _) in processes.items() if parent in members}
        grew = bool(more - members)
        members |= more
    return members


def cpu_snapshot(server_pid: int, worker_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server (gunicorn and its workers), the Celery worker, the
    database's backends for the benchmark's database, and the whole machine (busy, all users)."""
    processes = _processes()

    def used(pids) -> float:
        return sum(processes[pid][1] for pid in pids if pid in processes)

    database = [pid for pid, (_, _, cmd) in processes.items() if BENCH_DATABASE in cmd]
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    jiffies = [int(x) for x in first]
    busy = (sum(jiffies[:8]) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK")
    return {
        "web": used(_tree(processes, server_pid)),
        "worker": used(_tree(processes, worker_pid)),
        "database": used(database),
        "machine_busy": busy,
    }


def cpu_used(before: dict, after: dict, submissions: int, seconds: float) -> dict:
    """CPU seconds a submission took, by where; database backends that ended in between are not
    counted (with CONN_MAX_AGE=0 each request has a backend of its own)."""
    per = {k: round((after[k] - before[k]) / submissions * 1000, 1) for k in before}
    return {
        "wall_s": round(seconds, 3),
        "cpu_ms_per_submission": per,
        "machine_busy_share": round(
            (after["machine_busy"] - before["machine_busy"]) / (seconds * os.cpu_count()), 2
        ),
    }


def timed_phase(processes, work):
    before, started = cpu_snapshot(*processes), time.perf_counter()
    results = work()
    seconds = time.perf_counter() - started
    return results, cpu_used(before, cpu_snapshot(*processes), len(results), seconds)


# The run ----------------------------------------------------------------------------------------


@contextmanager
def production_server(database_url: str):
    scratch = Path(tempfile.mkdtemp(prefix="caregov-bench-submit-"))
    static_root = collected_static()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY=settings.SECRET_KEY,
        STATIC_ROOT=str(static_root),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{PORT}",
        GUNICORN_BIND=f"127.0.0.1:{PORT}",
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    env["GUNICORN_ACCESS_LOG"] = str(scratch / "access.log")
    python = sys.executable
    server_log = open(scratch / "server.log", "wb")  # noqa: SIM115
    worker_log = open(scratch / "worker.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [python, "-m", "gunicorn", "caregov.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=server_log,
        stderr=server_log,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [python, "-m", "celery", "-A", "caregov", "worker", "--loglevel=WARNING", "-c", "2"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=worker_log,
        start_new_session=True,
    )
    say(f"Server and worker logs: {scratch}")
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
                conn.request("GET", "/accounts/login/")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("The server did not start within 60 s.")
        yield server.pid, worker.pid
    finally:
        for process in (server, worker):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (server, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def collected_static() -> Path:
    """With DEBUG off the pages name their static files by the collected manifest. Collecting
    (and compressing) them takes a minute or two, so a collection is kept under var/ for as long
    as the files found are the same ones, same sizes and times."""
    import hashlib

    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in sorted(finder.list([]), key=lambda found: found[0]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    root = Path(settings.VAR_DIR) / "bench-static" / digest.hexdigest()[:16]
    if not (root / "staticfiles.json").exists():
        say("Collecting static files (kept for later runs)")
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=dict(os.environ, DEBUG="false", STATIC_ROOT=str(root)),
            check=True,
        )
    return root


def checked(world: list[dict], records: int, last_submitted: float) -> dict:
    """Every audit submitted exactly once, and, once the worker is done, each service's figures
    counting its audit exactly: the audit's records, the audit itself, one row a figure."""
    from assurance.measures import MeasureCode, Source
    from assurance.models import Audit, MeasureResult

    try:
        from assurance.models import FigureRefresh
    except ImportError:  # the code before figures were rewritten on the worker
        FigureRefresh = None  # noqa: N806

    services = [w["service"] for w in world]
    audits = Audit.objects.filter(pk__in=[w["audit"] for w in world])
    not_submitted = audits.exclude(status=Audit.Status.SUBMITTED).count()
    submissions = sum(
        Audit.history.filter(id=w["audit"], history_change_reason="assurance.audit.submitted")
        .values("id")
        .count()
        for w in world
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        waiting = FigureRefresh.objects.count() if FigureRefresh else 0
        counted = dict(
            MeasureResult.objects.filter(
                service_id__in=services,
                period_start=PERIOD,
                measure=MeasureCode.NARRATIVE_QUALITY,
                source=Source.AUDIT,
            ).values_list("service_id", "detail")
        )
        wrong = [w for w in world if counted.get(w["service"], {}).get("audits") != [w["audit"]]]
        if not waiting and not wrong:
            break
        time.sleep(0.2)
    current_after = time.perf_counter() - last_submitted
    denominators = set(
        MeasureResult.objects.filter(
            service_id__in=services,
            period_start=PERIOD,
            measure=MeasureCode.NARRATIVE_QUALITY,
            source=Source.AUDIT,
        ).values_list("denominator", flat=True)
    )
    duplicates = (
        MeasureResult.objects.filter(period_start=PERIOD)
        .values("service_id", "measure", "source")
        .annotate(n=django.db.models.Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    return {
        "audits_not_submitted": not_submitted,
        "submissions_recorded": submissions,
        "audits": len(world),
        "services_whose_figures_miss_their_audit": len(wrong),
        "audited_records_counted_per_service": sorted(denominators),
        "expected_records_per_service": records,
        "duplicate_figure_rows": duplicates,
        "months_still_marked_as_being_updated": waiting,
        "figures_current_seconds_after_last_submission": round(current_after, 2),
    }


def run(args, database_url: str) -> dict:
    count = args.singles + 2 * args.users
    say(f"Loading {count} care homes, {args.export_rows} export rows and one audit each")
    started = time.perf_counter()
    world = load(count, args.export_rows, args.records)
    load_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    load_before = [round(x, 2) for x in os.getloadavg()]
    with production_server(database_url) as processes:
        clients = [Client(entry) for entry in world]
        # Not timed: every team leader opens the submit page, 50 at a time, so that every
        # server thread has served a request (and holds its database connection) before any
        # submission is timed.
        for start in range(0, len(clients), 50):
            opening = [
                threading.Thread(target=client.open_page) for client in clients[start : start + 50]
            ]
            for thread in opening:
                thread.start()
            for thread in opening:
                thread.join()
        unopened = [c.path for c in clients if not hasattr(c, "token")]
        if unopened:
            raise SystemExit(f"{len(unopened)} submit pages did not open, {unopened[0]} first")
        singles = clients[: args.singles]
        burst = clients[args.singles : args.singles + args.users]
        rush = clients[args.singles + args.users :]
        say("One at a time")
        one, cpu_one = timed_phase(processes, lambda: [client.submit() for client in singles])
        say(f"{len(burst)} at once")
        many, cpu_many = timed_phase(processes, lambda: at_once(burst))
        say(f"{len(rush)} over 10 seconds")
        rushed, cpu_rushed = timed_phase(processes, lambda: spread(rush, 10.0))
        last_submitted = time.perf_counter()
        repeat = singles[0].submit()
        integrity = checked(world, args.records, last_submitted)
    alone, together, over_ten = summary(one), summary(many), summary(rushed)
    alone["cpu"], together["cpu"], over_ten["cpu"] = cpu_one, cpu_many, cpu_rushed
    # However the server is set up, 50 requests that arrive together are done by the CPUs there
    # are: the last of them cannot finish before the CPU time they all need, shared out.
    needed = cpu_many["cpu_ms_per_submission"]
    web_and_database = (needed["web"] + needed["database"]) / 1000
    together["p95_floor_s_from_cpu"] = round(
        0.95 * len(many) * web_and_database / os.cpu_count(), 3
    )
    import multiprocessing

    from caregov import serving

    return {
        "measured_on": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": {
            "cpus": multiprocessing.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "server": serving.describe(),
        "data": {
            "care_homes": count,
            "export_rows_each": args.export_rows,
            "audited_records_each": args.records,
            "load_seconds": round(load_seconds, 1),
        },
        "one_at_a_time": alone,
        "at_once": together,
        "over_ten_seconds": over_ten,
        "ratio_p95_at_once_to_one": round(together["p95_s"] / alone["p95_s"], 2),
        "ratio_p95_over_ten_seconds_to_one": round(over_ten["p95_s"] / alone["p95_s"], 2),
        "ratio_p50_at_once_to_one": round(together["p50_s"] / alone["p50_s"], 2),
        "repeat_of_a_submission": {
            "status": repeat["status"],
            "answer": repeat.get("answer"),
            "submitted_again": repeat.get("now"),
        },
        "integrity": integrity,
    }


if __name__ == "__main__":
    main()
