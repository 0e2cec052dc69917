"""A slow upload beside people signing in, against a real server on 127.0.0.1. Writes
bench/results/slow_upload.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.slow_upload \
        [--megabytes 100] [--rate 1.0] [--uploads 1] [--scenarios gthread nginx sync]

PostgreSQL only. It makes a database of its own, `caregov_bench_upload`, migrates it, loads it,
and drops it afterwards. Uploads and the broker's queue go to a temporary folder, removed at the
end (no Celery worker runs: the import itself is bench/assurance_import.py's to measure, and a
filesystem broker keeps the queued task away from any other benchmark's worker).

The server is started as production starts it: `gunicorn caregov.wsgi:application` reading
gunicorn.conf.py (so caregov/serving.py's worker class, workers, threads and timeout), with
DEBUG=false, no TLS redirect and plain-HTTP cookies. Then, for each scenario:

- a quiet baseline: one person signs in each second for `--baseline` seconds;
- the upload: `--uploads` registered managers each upload an ECM export of `--megabytes` MB
  (10^6 bytes) through the import form, from a raw socket that writes 64 KiB chunks paced to
  `--rate` MB/s; meanwhile one more person starts signing in every second (each on a thread of
  their own, so a slow answer does not delay the next person) until every upload has its answer.

A sign-in is what a browser does: GET /login/, then POST the email address and password (the
production password hasher), timed from the GET to the POST's answer (a redirect home). An upload
has completed when its answer is the redirect to the new import's page and the import stored has
the file's size and sha256.

Scenarios:
- `gthread`: gunicorn alone, as gunicorn.conf.py serves (threaded workers);
- `nginx`: the same gunicorn behind nginx with deploy/nginx/caregov.conf (as docker-compose.yml
  runs it; only the addresses, the temporary folders and the certificate paths are changed), when
  an `nginx` binary is installed; skipped otherwise;
- `sync`: gunicorn's synchronous workers with gunicorn's own 30 s timeout, for comparison: how
  caregov was served before (issue 14, section 2).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregov.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from bench.own_database import own_database  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DATABASE = "caregov_bench_upload"
STATIC = Path(settings.VAR_DIR) / "bench-static"
PORT = 8741
NGINX_PORT = 8742
NGINX_TLS_PORT = 8743
CHUNK = 64 * 1024
MB = 1_000_000
PASSWORD = "Bench-sign-in-2026"  # noqa: S105
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SIGN_IN_USERS = 40


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=1.0, help="MB/s for each upload")
    parser.add_argument("--uploads", type=int, default=1, help="slow uploads at once")
    parser.add_argument("--baseline", type=int, default=30, help="seconds of quiet sign-ins")
    parser.add_argument(
        "--scenarios", nargs="+", default=["gthread", "nginx", "sync"], choices=SCENARIOS
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "slow_upload.json")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="caregov-slow-upload-"))
    try:
        with bench_database() as database_url:
            figures = run(args, database_url, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def bench_database():
    return own_database(BENCH_DATABASE)


# The world --------------------------------------------------------------------------------------


def export_csv(size: int, period) -> bytes:
    """An ECM export for the month of at least `size` bytes, whole rows."""
    header = (
        "record_reference,record_type,due_time,recorded_time,author_role,outcome_recorded,"
        "last_review_date,review_due_date,narrative_length\n"
    )
    days = (period.end - period.start).days + 1
    month = period.start.strftime("%Y-%m")
    lines = [header]
    total = len(header)
    i = 0
    while total < size:
        day = 1 + i % days
        hour = 7 + i % 12
        recorded = "" if i % 20 == 0 else f"{month}-{day:02d} {hour:02d}:40"
        line = (
            f"R{i + 1:08d},Daily note,{month}-{day:02d} {hour:02d}:00,{recorded},Care worker,"
            f"{'yes' if i % 7 else 'no'},,,{200 + i % 300}\n"
        )
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines).encode()


def load(uploads: int) -> dict:
    """One care home; `uploads` registered managers to upload; people to sign in."""
    from django.contrib.auth.hashers import make_password

    from caregov.access import Role
    from caregov.models import Membership, Organisation, Service, User

    org = Organisation.objects.create(name="Benchmark Care Group", slug="benchmark-care")
    service = Service.objects.create(
        organisation=org,
        name="Willow House",
        code="WILLOW",
        service_type=Service.Type.CARE_HOME,
        address_line_1="1 High Street",
        town="York",
        postcode="YO1 1AA",
    )
    managers = []
    for n in range(uploads):
        manager = User.objects.create_user(
            email=f"manager{n + 1}@bench.example",
            password=None,
            full_name=f"Registered Manager {n + 1}",
            organisation=org,
        )
        Membership.objects.create(
            user=manager, organisation=org, role=Role.REGISTERED_MANAGER, service=service
        )
        managers.append(manager.pk)
    hashed = make_password(PASSWORD)  # the production hasher: signing in costs what it costs
    people = []
    for n in range(SIGN_IN_USERS):
        person = User.objects.create_user(
            email=f"carer{n + 1}@bench.example",
            password=None,
            full_name=f"Care Worker {n + 1}",
            organisation=org,
        )
        User.objects.filter(pk=person.pk).update(password=hashed)
        Membership.objects.create(
            user=person, organisation=org, role=Role.CARE_STAFF, service=service
        )
        people.append(person.email)
    return {"service": service.pk, "managers": managers, "people": people}


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


def cookies_of(response, cookies: dict) -> dict:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            cookies[name] = rest.split(";", 1)[0]
    return cookies


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def sign_in(port: int, email: str) -> dict:
    """GET the sign-in page, POST the email address and password: seconds to the answer."""
    started = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("GET", "/login/")
        response = conn.getresponse()
        page = response.read().decode()
        cookies = cookies_of(response, {})
        token = TOKEN.search(page).group(1)
        page_seconds = time.perf_counter() - started
        body = f"csrfmiddlewaretoken={token}&username={email}&password={PASSWORD}"
        conn.request(
            "POST",
            "/login/",
            body=body,
            headers={
                "Cookie": cookie_header(cookies),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        ok = response.status == 302 and response.getheader("Location") == "/"
        return {
            "seconds": time.perf_counter() - started,
            "page_seconds": page_seconds,
            "ok": ok,
            "status": response.status,
        }
    except (OSError, AttributeError, http.client.HTTPException) as error:
        return {
            "seconds": time.perf_counter() - started,
            "page_seconds": None,
            "ok": False,
            "error": f"{error.__class__.__name__}: {error}",
        }


class SlowUpload:
    """A registered manager's browser on a slow line: the import form, its file paced out."""

    def __init__(self, port: int, user_id: int, service_id: int, period, data: bytes):
        self.port = port
        self.cookies = {settings.SESSION_COOKIE_NAME: session_cookie(user_id)}
        self.service_id = service_id
        self.period = period
        self.data = data
        self.result: dict = {}

    def open_form(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(
            "GET", "/assurance/imports/new/", headers={"Cookie": cookie_header(self.cookies)}
        )
        response = conn.getresponse()
        page = response.read().decode()
        conn.close()
        if response.status != 200:
            raise SystemExit(f"The import form answered {response.status}")
        cookies_of(response, self.cookies)
        self.token = TOKEN.search(page).group(1)

    def body(self) -> tuple[bytes, bytes, str]:
        boundary = f"----caregovbench{uuid.uuid4().hex}"
        fields = {
            "csrfmiddlewaretoken": self.token,
            "service": str(self.service_id),
            "period": self.period.start.strftime("%Y-%m"),
            "tolerance_minutes": "120",
        }
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="willow-export.csv"\r\nContent-Type: text/csv\r\n\r\n'
        )
        return head.encode(), f"\r\n--{boundary}--\r\n".encode(), boundary

    def run(self, rate: float) -> None:
        head, tail, boundary = self.body()
        length = len(head) + len(self.data) + len(tail)
        request = (
            f"POST /assurance/imports/new/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Cookie: {cookie_header(self.cookies)}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
        ).encode()
        payload = memoryview(head + self.data + tail)
        started = time.perf_counter()
        sent = 0
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=600)
            sock.sendall(request)
            for offset in range(0, len(payload), CHUNK):
                # Paced from the start, so time lost in one write is made up by the next.
                due = started + offset / (rate * MB)
                time.sleep(max(0.0, due - time.perf_counter()))
                sock.sendall(payload[offset : offset + CHUNK])
                sent = offset + len(payload[offset : offset + CHUNK])
            sent_seconds = time.perf_counter() - started
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            sock.close()
        except OSError as error:
            self.result = {
                "completed": False,
                "seconds": round(time.perf_counter() - started, 1),
                "bytes_sent": sent,
                "error": f"{error.__class__.__name__}: {error}",
            }
            return
        status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
        location = re.search(rb"(?im)^Location: (\S+)", answer)
        self.result = {
            "seconds_to_send": round(sent_seconds, 1),
            "seconds_to_answer": round(time.perf_counter() - started, 1),
            "bytes_sent": sent,
            "answer": status_line or "(the connection closed with no answer)",
            "location": location.group(1).decode() if location else None,
        }


def stored_import(location: str | None, data: bytes) -> dict:
    from assurance.models import EcmImport

    match = re.search(r"/assurance/imports/(\d+)/$", location or "")
    if not match:
        return {"stored": False}
    record = EcmImport.objects.get(pk=int(match.group(1)))
    return {
        "stored": True,
        "size_bytes": record.size_bytes,
        "sha256_matches": record.sha256 == hashlib.sha256(data).hexdigest(),
        "stored_path": record.stored_path,
        "status": record.status,
    }


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def summary(results: list[dict]) -> dict:
    seconds = [r["seconds"] for r in results]
    pages = [r["page_seconds"] for r in results if r.get("page_seconds") is not None]
    return {
        "sign_ins": len(results),
        "p50_s": round(statistics.median(seconds), 3) if seconds else None,
        "p95_s": round(p95(seconds), 3) if seconds else None,
        "max_s": round(max(seconds), 3) if seconds else None,
        "sign_in_page_p95_s": round(p95(pages), 3) if pages else None,
        "failed": sum(1 for r in results if not r["ok"]),
        "errors": sorted({r["error"] for r in results if r.get("error")})[:5],
    }


def sign_ins_every_second(port: int, people: list[str], until) -> list[dict]:
    """One person starts signing in each second, each on a thread, until `until()` is true."""
    results: list[dict] = []
    threads = []
    lock = threading.Lock()
    start = time.perf_counter()
    n = 0

    def go(email: str) -> None:
        outcome = sign_in(port, email)
        with lock:
            results.append(outcome)

    while not until():
        time.sleep(max(0.0, start + n - time.perf_counter()))
        if until():
            break
        thread = threading.Thread(target=go, args=(people[n % len(people)],))
        thread.start()
        threads.append(thread)
        n += 1
    for thread in threads:
        thread.join()
    return results


# The servers ------------------------------------------------------------------------------------


def wait_for(port: int, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Nothing answered on port {port} within {seconds:.0f} s.")


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by gunicorn's master and its living workers (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the name: state, ppid, ..., utime (12th), stime (13th).
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def phase_cpu(pid: int, before: float, started: float) -> dict:
    """The server's CPU seconds over a phase, and the share of the machine's CPUs that was."""
    used = cpu_seconds(pid) - before
    wall = time.perf_counter() - started
    return {
        "phase_seconds": round(wall, 1),
        "server_cpu_seconds": round(used, 1),
        "server_cpus_busy": round(used / wall, 2),
        "machine_load_average_1min": round(os.getloadavg()[0], 2),
    }


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def gunicorn(database_url: str, scratch: Path, **extra: str):
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        DEBUG="false",
        # This process makes the uploaders' sessions: the server must read them alike.
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{PORT},http://127.0.0.1:{NGINX_PORT}",
        GUNICORN_BIND=f"127.0.0.1:{PORT}",
        GUNICORN_ACCESS_LOG=str(scratch / "access.log"),
        CAREGOV_VAR_DIR=str(scratch / "var"),
        STATIC_ROOT=str(STATIC),
        MEDIA_ROOT=str(scratch / "media"),
        CELERY_BROKER_URL="filesystem://",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    log = open(scratch / "gunicorn.log", "ab")  # noqa: SIM115
    manifest = STATIC / "staticfiles.json"
    newest = max(p.stat().st_mtime for p in (ROOT / "static").rglob("*") if p.is_file())
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        # DEBUG=false serves the collected, hashed files (the image collects them when built).
        # Compressing them takes minutes here, so they are kept under var/ for the next run.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=log,
            stderr=log,
        )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "caregov.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        wait_for(PORT)
        yield scratch / "gunicorn.log", server.pid
    finally:
        stop(server)
        log.close()


def nginx_config(scratch: Path) -> Path:
    """deploy/nginx/caregov.conf as docker-compose.yml runs it, on 127.0.0.1 and in `scratch`."""
    folder = scratch / "nginx"
    scratch.chmod(0o711)  # nginx's workers run as another user: they must reach their folders
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "certs"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name).chmod(0o777)
    folder.chmod(0o755)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(folder / "certs/privkey.pem")]
        + ["-out", str(folder / "certs/fullchain.pem")],
        check=True,
        capture_output=True,
    )
    site = (ROOT / "deploy/nginx/caregov.conf").read_text()
    version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version)
    if found and tuple(map(int, found.groups())) < (1, 25, 1):
        site = site.replace("http2 on;", "")  # this nginx is older than the image's
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{NGINX_PORT};",
        "listen 443 ssl;": f"listen 127.0.0.1:{NGINX_TLS_PORT} ssl;",
        "/etc/nginx/certs/": f"{folder}/certs/",
        "/var/cache/nginx/client_temp": str(folder / "body"),
        "root /usr/share/nginx/caregov;": f"root {ROOT / 'deploy/nginx/errors'};",
        "http://web:8000": f"http://127.0.0.1:{PORT}",
    }
    for old, new in replacements.items():
        if old not in site:
            raise SystemExit(f"deploy/nginx/caregov.conf no longer has {old!r}: update the bench.")
        site = site.replace(old, new)
    site = re.sub(r"(?m)^\s*resolver [^;]+;", "", site)
    (folder / "caregov.conf").write_text(site)
    main = folder / "nginx.conf"
    main.write_text(
        f"daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log warn;\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n  access_log off;\n  proxy_temp_path {folder}/proxy;\n"
        f"  fastcgi_temp_path {folder}/fastcgi;\n  uwsgi_temp_path {folder}/uwsgi;\n"
        f"  scgi_temp_path {folder}/scgi;\n  include {folder}/caregov.conf;\n}}\n"
    )
    return main


@contextmanager
def nginx(scratch: Path):
    config = nginx_config(scratch)
    checked = subprocess.run(
        ["nginx", "-t", "-p", str(config.parent), "-c", str(config)], capture_output=True, text=True
    )
    if checked.returncode:
        raise SystemExit(f"nginx refused deploy/nginx/caregov.conf:\n{checked.stderr}")
    process = subprocess.Popen(
        ["nginx", "-p", str(config.parent), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(NGINX_PORT)
        yield config.parent / "error.log"
    finally:
        stop(process)


# The run ----------------------------------------------------------------------------------------

SCENARIOS = {
    "gthread": "gunicorn alone, as gunicorn.conf.py serves (threaded workers)",
    "nginx": "gunicorn behind nginx with deploy/nginx/caregov.conf, as docker-compose.yml runs it",
    "sync": "gunicorn's synchronous workers and 30 s timeout: how caregov was served before",
}


def scenario(name: str, args, database_url: str, scratch: Path, world: dict, period, data):
    from caregov import serving

    extra = {}
    if name == "sync":
        # One thread: gunicorn runs its threaded worker for "sync" with more than one.
        extra = {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_THREADS": "1", "GUNICORN_TIMEOUT": "30"}
    if name == "nginx":
        extra = {"USE_X_FORWARDED_PROTO": "true", "TRUSTED_PROXY_COUNT": "1"}
    log_from = (
        (scratch / "gunicorn.log").stat().st_size if (scratch / "gunicorn.log").exists() else 0
    )
    nginx_errors: list[str] = []
    with gunicorn(database_url, scratch, **extra) as (gunicorn_log, server_pid):
        served = {}
        saved = dict(os.environ)
        os.environ.update(extra)
        try:
            served = serving.describe()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        with nginx(scratch) if name == "nginx" else _nothing() as nginx_log:
            port = NGINX_PORT if name == "nginx" else PORT
            for email in world["people"][:6]:  # each worker's first requests load templates
                sign_in(port, email)
            say(f"[{name}] {args.baseline} s of sign-ins, quiet")
            deadline = time.perf_counter() + args.baseline
            cpu_before, wall_before = cpu_seconds(server_pid), time.perf_counter()
            quiet = sign_ins_every_second(
                port, world["people"], lambda: time.perf_counter() >= deadline
            )
            quiet_cpu = phase_cpu(server_pid, cpu_before, wall_before)
            uploads = [
                SlowUpload(port, manager, world["service"], period, data)
                for manager in world["managers"]
            ]
            for upload in uploads:
                upload.open_form()
            say(
                f"[{name}] {len(uploads)} upload(s) of {len(data) / MB:.0f} MB at {args.rate} MB/s, "
                "and a sign-in every second"
            )
            threads = [threading.Thread(target=u.run, args=(args.rate,)) for u in uploads]
            load_before = os.getloadavg()[0]
            cpu_before, wall_before = cpu_seconds(server_pid), time.perf_counter()
            for thread in threads:
                thread.start()
            during = sign_ins_every_second(
                port, world["people"], lambda: not any(t.is_alive() for t in threads)
            )
            for thread in threads:
                thread.join()
            during_cpu = phase_cpu(server_pid, cpu_before, wall_before)
            if nginx_log is not None and nginx_log.exists():
                nginx_errors = [
                    line
                    for line in nginx_log.read_text().splitlines()
                    if "[error]" in line or "[crit]" in line or "[alert]" in line
                ][-5:]
    with open(gunicorn_log, "rb") as handle:
        handle.seek(log_from)
        logged = handle.read().decode(errors="replace")
    results = []
    for upload in uploads:
        outcome = dict(upload.result)
        outcome.update(stored_import(outcome.get("location"), data))
        outcome["completed"] = bool(
            outcome.get("stored")
            and outcome.get("size_bytes") == len(data)
            and outcome.get("sha256_matches")
        )
        results.append(outcome)
    return {
        "what": SCENARIOS[name],
        "server": {**served, "env": extra},
        "sign_in_quiet": {**summary(quiet), **quiet_cpu},
        "sign_in_during_upload": {**summary(during), **during_cpu},
        "uploads": results,
        "all_uploads_completed": all(r["completed"] for r in results),
        "gunicorn_worker_class_used": sorted(set(re.findall(r"Using worker: (\w+)", logged))),
        "gunicorn_worker_timeouts": logged.count("WORKER TIMEOUT"),
        "gunicorn_errors": [
            line for line in logged.splitlines() if "[ERROR]" in line or "[CRITICAL]" in line
        ][-5:],
        "nginx_errors": nginx_errors,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


@contextmanager
def _nothing():
    yield None


def run(args, database_url: str, scratch: Path) -> dict:
    from django.utils import timezone

    from caregov.cadence import Cadence, period_containing

    period = period_containing(Cadence.MONTHLY, timezone.localdate()).previous()
    say(f"Making a {args.megabytes:.0f} MB export for {period.label}")
    data = export_csv(int(args.megabytes * MB), period)
    world = load(args.uploads)
    limit = settings.ECM_IMPORT_MAX_BYTES
    figures = {
        "measured_on": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": {"cpus": multiprocessing.cpu_count(), "load_average": os.getloadavg()[0]},
        "upload": {
            "bytes": len(data),
            "rate_mb_per_s": args.rate,
            "chunk_bytes": CHUNK,
            "uploads_at_once": args.uploads,
            "app_limit_bytes": limit,
            "within_app_limit": len(data) <= limit,
        },
        "scenarios": {},
    }
    for name in args.scenarios:
        if name == "nginx" and shutil.which("nginx") is None:
            figures["scenarios"][name] = {"what": SCENARIOS[name], "skipped": "no nginx installed"}
            continue
        try:
            figures["scenarios"][name] = scenario(
                name, args, database_url, scratch, world, period, data
            )
        except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
            log = scratch / "gunicorn.log"
            figures["scenarios"][name] = {
                "what": SCENARIOS[name],
                "failed": f"{error.__class__.__name__}: {error}",
                "gunicorn_log_tail": log.read_text(errors="replace").splitlines()[-20:]
                if log.exists()
                else [],
            }
        say(json.dumps(figures["scenarios"][name], indent=1)[:3000])
        args.out.parent.mkdir(exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n")  # so far
    return figures


if __name__ == "__main__":
    main()
