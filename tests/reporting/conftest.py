import sys
from pathlib import Path

import pytest
from django.utils import timezone

from assurance.measures import MEASURES
from assurance.models import MeasureResult
from assurance.selectors import months_back
from caregov.access import Role
from caregov.cadence import Cadence, period_containing
from reporting import building, services

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


# Board packs ----------------------------------------------------------------------------------


@pytest.fixture
def pack_media(settings, tmp_path):
    """Packs stored in the test's own folder, and their progress in a cache of its own: the
    file cache under var/ is shared by parallel test processes, whose pack ids overlap."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"packs-{tmp_path.name}",
        }
    }
    return settings.MEDIA_ROOT / "packs"


@pytest.fixture
def quarter():
    """The last quarter to have ended: the one a board pack is built for."""
    return period_containing(Cadence.QUARTERLY, timezone.localdate()).previous()


@pytest.fixture
def quarter_figures(world, quarter):
    """Every month of the quarter: record completeness 97% at Willow House and 96% at Beech
    Court (96.5% together: green against a 95% target); timeliness 90% at Willow House and 60%
    at Beech Court (75.0% together: amber against 90%, red at Beech Court)."""
    figures = {
        world.service_a: {"completeness": 97, "timeliness": 90},
        world.service_b: {"completeness": 96, "timeliness": 60},
    }
    for month in months_back(period_containing(Cadence.MONTHLY, quarter.end), 3):
        for service, measures in figures.items():
            for measure, numerator in measures.items():
                MeasureResult.objects.create(
                    organisation=service.organisation,
                    service=service,
                    period_start=month.start,
                    measure=measure,
                    source=MEASURES[measure].source,
                    numerator=numerator,
                    denominator=100,
                )
    return figures


@pytest.fixture
def build_board_pack(pack_media, world, quarter):
    """Ask for the quarter's board pack as the quality lead and build it here, as the worker
    would: WeasyPrint lays it out, and Chromium draws its charts when there are figures."""

    def build(*, period=None, chromium=None, **request):
        pack, _ = services.pack_request(
            actor=world.user(Role.QUALITY_LEAD),
            organisation=world.org,
            kind="board",
            period=period or quarter,
            enqueue=False,
            **request,
        )
        return building.pack_build(pack.pk, chromium=chromium)

    return build
