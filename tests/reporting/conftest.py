import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent

#: Audit events seen while `network_and_files_watched` is active (None: not watching).
_events: list[tuple[str, str]] | None = None


def _audit(event: str, args: tuple) -> None:
    if _events is not None and event in {
        "open",
        "socket.connect",
        "socket.getaddrinfo",
        "urllib.Request",
        "http.client.connect",
    }:
        _events.append((event, str(args[0]) if args else ""))


# An audit hook cannot be removed; it records only inside the fixture below.
sys.addaudithook(_audit)


@pytest.fixture
def audit_events():
    """Files opened and network calls attempted while the test runs (Python audit events)."""
    global _events
    _events = []
    try:
        yield _events
    finally:
        _events = None


@pytest.fixture(autouse=True)
def pack_test_files(settings):
    """Test-only pack templates and static files, so none of them ships with the app."""
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [*engine["DIRS"], HERE / "templates"]}]
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, HERE / "static"]
    # Plain names whatever DEBUG is: the manifest storage knows only collected files.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
