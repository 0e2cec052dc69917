"""The production shape in docker-compose.yml, the Dockerfile and deploy/nginx/caregov.conf: nginx
alone is published and takes uploads whole; only the web server behind it believes forwarded
headers; web and worker share the uploads and packs."""

import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from caregov import serving

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
NGINX_CONF = (ROOT / "deploy/nginx/caregov.conf").read_text()
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def directive(name: str) -> list[str]:
    """Every value nginx's config gives the directive (comments left out)."""
    text = re.sub(r"#[^\n]*", "", NGINX_CONF)
    return [m.strip() for m in re.findall(rf"(?m)^\s*{name}\s+([^;]+);", text)]


def size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()
    return int(number) * UNITS[unit]


def environment(service: str) -> dict:
    return {k: str(v) for k, v in (SERVICES[service].get("environment") or {}).items()}


def mounts(service: str) -> dict[str, str]:
    """Container path: source, for each volume of the service."""
    return {v.split(":")[1]: v.split(":")[0] for v in SERVICES[service].get("volumes", [])}


def test_only_nginx_is_reachable_from_outside():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"nginx"}
    assert [p.split(":")[-1] for p in SERVICES["nginx"]["ports"]] == ["80", "443"]


def test_only_the_web_server_behind_nginx_believes_forwarded_headers():
    believers = {
        name
        for name in SERVICES
        if environment(name).get("USE_X_FORWARDED_PROTO", "false").lower() == "true"
    }
    assert believers == {"web"}
    # nginx appends the client to X-Forwarded-For: one proxy, so the sign-in limits see the client.
    assert environment("web")["TRUSTED_PROXY_COUNT"] == "1"
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in directive("proxy_set_header")


def test_nginx_tells_caregov_how_the_request_arrived():
    headers = directive("proxy_set_header")
    assert "X-Forwarded-Proto $scheme" in headers
    assert "Host $host" in headers
    assert directive("proxy_pass") == ["$caregov_web"]
    assert directive("set") == ["$caregov_web http://web:8000"]


def test_nginx_takes_an_upload_whole_before_gunicorn_sees_it():
    assert directive("proxy_request_buffering") == ["on"]
    assert size(directive("client_body_buffer_size")[0]) >= 64 * 1024


def test_nginx_accepts_the_largest_export_caregov_accepts_with_its_form():
    assert size(directive("client_max_body_size")[0]) >= settings.ECM_IMPORT_MAX_BYTES + 1024**2
    assert "ECM_IMPORT_MAX_BYTES" not in environment("web")


def test_nginx_mounts_its_config_and_its_error_page_from_this_repository():
    for container_path, source in mounts("nginx").items():
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"{source} (mounted at {container_path}) is missing"
    assert mounts("nginx")["/etc/nginx/conf.d/default.conf"] == "./deploy/nginx/caregov.conf"
    assert (ROOT / "deploy/nginx/errors/upload-too-large.html").is_file()


@pytest.mark.parametrize("service", ["web", "worker"])
def test_web_and_worker_share_one_volume_at_media_root(service):
    media_root = environment(service)["MEDIA_ROOT"]
    assert mounts(service)[media_root] == "media"
    assert "media" in COMPOSE["volumes"]


def test_the_image_serves_with_gunicorn_reading_its_config_file():
    dockerfile = (ROOT / "Dockerfile").read_text()
    command = re.search(r"(?m)^CMD (.+)$", dockerfile).group(1)
    assert yaml.safe_load(command) == ["gunicorn", "caregov.wsgi:application"]
    assert "MEDIA_ROOT=/app/media" in dockerfile and "/app/media" in dockerfile.split("chown")[1]
    web = SERVICES["web"]["command"]
    assert shlex.split(web[-1])[-2:] == ["gunicorn", "caregov.wsgi:application"]
    # Threaded workers: a request waiting on a slow client holds a thread, not a whole worker,
    # and the worker keeps telling the arbiter it is alive, so `timeout` never cuts it off.
    assert serving.settings()["worker_class"] == "gthread"


def test_the_serving_description_names_the_worker_gunicorn_really_runs(monkeypatch):
    # gunicorn runs its threaded worker when asked for "sync" with more than one thread.
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "sync")
    assert serving.describe()["worker_class"] == "gthread"
    monkeypatch.setenv("GUNICORN_THREADS", "1")
    assert serving.describe()["worker_class"] == "sync"
