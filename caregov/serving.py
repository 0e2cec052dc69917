"""How gunicorn serves caregov in production: one place, read by gunicorn.conf.py at the
repository's root (gunicorn loads it by itself), the Dockerfile, docker-compose.yml and the
submission benchmark.

Threaded workers: a request waiting on a slow client, PostgreSQL or Redis holds one thread, not a
whole worker, so a care home uploading an export over a slow line does not keep the rest of the
provider from signing in. In docker-compose.yml a buffering proxy (nginx) sits in front as well,
so gunicorn is handed each upload only once it has fully arrived.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def settings() -> dict:
    cpus = multiprocessing.cpu_count()
    return {
        "bind": os.environ.get("GUNICORN_BIND", "0.0.0.0:8000"),
        "worker_class": os.environ.get("GUNICORN_WORKER_CLASS", "gthread"),
        "workers": _int("GUNICORN_WORKERS", cpus + 1),
        "threads": _int("GUNICORN_THREADS", 8),
        # A request that takes longer than this is a fault to see in the logs, not a slow line:
        # the proxy has the whole upload before gunicorn is given it.
        "timeout": _int("GUNICORN_TIMEOUT", 60),
        "graceful_timeout": 30,
        "keepalive": 5,
        # A worker is replaced after this many requests, so a slow leak never grows for ever.
        "max_requests": _int("GUNICORN_MAX_REQUESTS", 2000),
        "max_requests_jitter": 200,
        "accesslog": os.environ.get("GUNICORN_ACCESS_LOG", "-"),
        # X-Forwarded-* is believed only from these addresses (gunicorn's own default is
        # 127.0.0.1); in docker-compose.yml, only the proxy can reach the web container at all.
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    }


def describe() -> dict:
    chosen = settings()
    described = {key: chosen[key] for key in ("worker_class", "workers", "threads", "timeout")}
    if described["worker_class"] == "sync" and described["threads"] > 1:
        described["worker_class"] = "gthread"  # what gunicorn runs for sync with threads
    return described
