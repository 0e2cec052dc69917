"""Board packs as a person and the schedule meet them (reporting/services.py, views/packs.py,
tasks.py, the build_pack command): asking for a build, following it, downloading it, a failed
build tried again, a rebuild from a snapshot, and the quarter-end schedule.

Builds are real: WeasyPrint lays out the PDF, and Chromium draws the charts when the quarter has
figures (seconds each), so only the tests about numbers build with figures. In a test the
database transaction is never committed: a build asked for through a page waits in the queue
until the test runs the on-commit callbacks, which sends it to the eager Celery worker."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from assurance.models import MeasureResult
from caregov.access import Role
from caregov.cadence import LONDON, Cadence, parse_quarter, period_containing, quarter_key
from caregov.engine import run_scheduler
from caregov.models import Action, Escalation
from reporting import board, building, services
from reporting.models import Pack, PackDownload
from reporting.packs import freeze
from tests.factories import person_with_role
from tests.reporting.builders import pdf_pages

pytestmark = pytest.mark.usefixtures("pack_media")


def text(response) -> str:
    """The page as a reader hears it: tags removed, spaces collapsed."""
    page = re.sub(r"<script.*?</script>", "", response.content.decode(), flags=re.S)
    page = re.sub(r"</?(td|th|tr|li|p|div|dt|dd|h\d|br|caption|summary)\b[^>]*>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def strays(packs_root) -> list[str]:
    """Files under the packs folder that are not the file of a built pack."""
    built = set(Pack.objects.filter(status=Pack.Status.BUILT).values_list("file_path", flat=True))
    stored = {str(p.relative_to(packs_root)) for p in packs_root.rglob("*") if p.is_file()}
    return sorted(stored - built)


@pytest.fixture
def built(build_board_pack):
    """The quarter's board pack, built (no figures: no charts to draw, so no Chromium)."""
    pack = build_board_pack()
    assert pack.status == Pack.Status.BUILT, pack.error
    return pack


# Downloads -------------------------------------------------------------------------------------


def test_a_board_member_downloads_the_pack_as_built_and_the_download_is_recorded(
    world, built, login
):
    member = world.user(Role.BOARD_MEMBER)

    response = login(member).get(reverse("reporting:pack_download", args=[built.pk]))

    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert content.startswith(b"%PDF-")
    assert hashlib.sha256(content).hexdigest() == built.sha256
    assert response["Content-Type"] == "application/pdf"
    assert [(d.user, d.pack) for d in PackDownload.objects.all()] == [(member, built)]


def test_a_download_is_saved_as_a_file_named_after_the_quarter(world, built, login):
    response = login(world.user(Role.BOARD_MEMBER)).get(
        reverse("reporting:pack_download", args=[built.pk])
    )

    key = quarter_key(built.period)
    assert response.get("Content-Disposition") == f'attachment; filename="board-pack-{key}.pdf"'


def test_a_team_leader_is_refused_and_another_organisation_cannot_find_our_pack(
    world, quarter, client
):
    pack, _ = services.pack_request(
        actor=None, organisation=world.org, kind="board", period=quarter, enqueue=False
    )
    client.force_login(world.user(Role.BOARD_MEMBER))
    assert client.get(reverse("reporting:pack_detail", args=[pack.pk])).status_code == 200

    client.force_login(world.user(Role.TEAM_LEADER))
    for name in ("pack_download", "pack_detail", "pack_progress"):
        assert client.get(reverse(f"reporting:{name}", args=[pack.pk])).status_code == 403, name

    client.force_login(person_with_role(Role.BOARD_MEMBER, organisation=world.other_org))
    for name in ("pack_download", "pack_detail", "pack_progress"):
        assert client.get(reverse(f"reporting:{name}", args=[pack.pk])).status_code == 404, name


def test_a_stored_file_that_no_longer_matches_its_sha256_is_refused_not_served(
    world, built, login, pack_media
):
    path = pack_media / built.file_path
    path.write_bytes(path.read_bytes().replace(b"%PDF-", b"%PDF-\n% changed\n", 1))

    response = login(world.user(Role.BOARD_MEMBER)).get(
        reverse("reporting:pack_download", args=[built.pk])
    )

    assert response.status_code == 404
    assert not PackDownload.objects.exists()


# Asking for a build ----------------------------------------------------------------------------


def test_asking_again_while_a_build_waits_joins_it(world, quarter):
    ask = {"organisation": world.org, "kind": "board", "period": quarter, "enqueue": False}

    first, created = services.pack_request(actor=world.user(Role.QUALITY_LEAD), **ask)
    again, created_again = services.pack_request(actor=world.user(Role.SENIOR_LEADER), **ask)

    assert (created, created_again) == (True, False)
    assert again == first
    assert Pack.objects.filter(period_start=quarter.start).count() == 1


def test_a_second_build_asked_for_through_the_page_goes_to_the_one_waiting(
    world, quarter, login, django_capture_on_commit_callbacks
):
    client = login(world.user(Role.QUALITY_LEAD))
    build = reverse("reporting:pack_build")

    with django_capture_on_commit_callbacks() as sent_to_worker:
        first = client.post(build, {"quarter": quarter_key(quarter)})
        second = client.post(build, {"quarter": quarter_key(quarter)}, follow=True)

    pack = Pack.objects.get(period_start=quarter.start)
    assert pack.status == Pack.Status.QUEUED
    assert first.status_code == 302
    assert first["Location"] == pack.get_absolute_url()
    assert second.redirect_chain == [(pack.get_absolute_url(), 302)]
    assert f"The board pack for {quarter.label} is already being built." in text(second)
    assert len(sent_to_worker) == 1


def test_progress_says_how_far_a_build_has_got(world, quarter, login):
    pack, _ = services.pack_request(
        actor=world.user(Role.QUALITY_LEAD),
        organisation=world.org,
        kind="board",
        period=quarter,
        enqueue=False,
    )
    client = login(world.user(Role.BOARD_MEMBER))
    url = reverse("reporting:pack_progress", args=[pack.pk])

    assert client.get(url).json() == {
        "status": "queued",
        "finished": False,
        "percent": 0,
        "stage": "Waiting for a worker",
        "text": "Waiting for a worker: 0% done.",
    }
    building.pack_build(pack.pk)
    assert client.get(url).json() == {
        "status": "built",
        "finished": True,
        "percent": 100,
        "stage": "Ready",
        "text": "Ready: 100% done.",
    }


def test_a_build_delivered_to_the_worker_twice_is_built_once(world, quarter, pack_media):
    pack, _ = services.pack_request(
        actor=None, organisation=world.org, kind="board", period=quarter, enqueue=False
    )

    first = building.pack_build(pack.pk)
    again = building.pack_build(pack.pk)

    assert first.status == again.status == Pack.Status.BUILT
    assert (again.attempts, again.sha256, again.built_at) == (1, first.sha256, first.built_at)
    assert strays(pack_media) == []


def test_a_quarter_that_has_not_started_cannot_be_asked_for(world, quarter, login):
    coming = quarter.next().next()

    with pytest.raises(services.PackRefused, match="has not started yet"):
        services.pack_request(
            actor=world.user(Role.QUALITY_LEAD),
            organisation=world.org,
            kind="board",
            period=coming,
            enqueue=False,
        )
    response = login(world.user(Role.QUALITY_LEAD)).post(
        reverse("reporting:pack_build"), {"quarter": quarter_key(coming)}
    )

    page = text(response)
    assert response.status_code == 200  # the form again, with its error
    assert "There is a problem" in page
    assert coming.label not in page  # not offered
    assert not Pack.objects.filter(period_start=coming.start).exists()


# A failed build --------------------------------------------------------------------------------


@pytest.fixture
def failed(build_board_pack, quarter_figures):
    """A build whose charts could not be drawn: there is no Chromium where it looked."""
    return build_board_pack(chromium="/nonexistent/chromium")


def test_a_failed_build_keeps_its_snapshot_and_no_file_and_says_why(
    world, failed, login, pack_media
):
    assert failed.status == Pack.Status.FAILED
    assert "no Chromium at '/nonexistent/chromium'" in failed.error
    assert failed.snapshot is not None
    assert failed.snapshot_sha256 == freeze(failed.snapshot)[1]
    assert (failed.file_path, failed.sha256) == ("", "")
    assert strays(pack_media) == []  # nothing of the failed build, no .partial file

    page = text(
        login(world.user(Role.QUALITY_LEAD)).get(reverse("reporting:pack_detail", args=[failed.pk]))
    )
    assert "Status Failed" in page
    assert "This build failed; no file was kept." in page
    assert (
        "What went wrong: ChartExportError: Cannot export charts: no Chromium at "
        "'/nonexistent/chromium'" in page
    )
    assert "Try building again" in page
    listed = text(login(world.user(Role.BOARD_MEMBER)).get(reverse("reporting:pack_list")))
    assert f"{failed.period_label} Build failed See why" in listed


def test_a_failed_build_tried_again_from_its_page_is_built_from_the_same_snapshot(
    world, failed, login, pack_media, django_capture_on_commit_callbacks
):
    MeasureResult.objects.filter(service=world.service_a).update(numerator=10)  # figures move on
    client = login(world.user(Role.QUALITY_LEAD))
    retry = reverse("reporting:pack_retry", args=[failed.pk])
    assert "Build again" in text(client.get(retry))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(retry)

    assert response["Location"] == failed.get_absolute_url()
    pack = Pack.objects.get(pk=failed.pk)
    assert pack.status == Pack.Status.BUILT, pack.error
    assert (pack.attempts, pack.error) == (2, "")
    assert pack.snapshot_sha256 == failed.snapshot_sha256
    assert hashlib.sha256((pack_media / pack.file_path).read_bytes()).hexdigest() == pack.sha256
    assert "Green: 96.5%, target 95%" in " ".join(
        " ".join(pdf_pages((pack_media / pack.file_path).read_bytes())).split()
    )


def test_a_build_that_fails_while_writing_its_file_leaves_nothing_behind(
    world, build_board_pack, monkeypatch, pack_media
):
    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(building.os, "fsync", disk_full)

    pack = build_board_pack()

    assert pack.status == Pack.Status.FAILED
    assert pack.error == "OSError: [Errno 28] No space left on device"
    assert strays(pack_media) == []  # no half-written .partial file either


# Rebuilding and building again -----------------------------------------------------------------


def test_building_a_quarter_again_freezes_the_same_snapshot_when_nothing_changed(
    world, quarter, build_board_pack
):
    owner = world.user(Role.REGISTERED_MANAGER)
    in_quarter = quarter.starts_at + timedelta(days=10)
    Escalation.objects.create(
        trigger="caregov.review_overdue",
        organisation=world.org,
        service=world.service_b,
        cadence="quarterly",
        period_start=quarter.start,
        period_end=quarter.end,
        title="Care plan reviews late",
        severity="high",
        escalated_to="quality_lead",
        raised_at=in_quarter,
    )
    Action.objects.create(
        organisation=world.org,
        service=world.service_b,
        title="Catch up the care plan reviews",
        owner=owner,
        due_on=quarter.start + timedelta(days=30),
        source="escalation",
        created_at=in_quarter,
    )

    first = build_board_pack()
    second = build_board_pack()

    assert first.status == second.status == Pack.Status.BUILT
    assert second.pk != first.pk
    assert second.snapshot_sha256 == first.snapshot_sha256


def test_a_rebuild_lays_out_the_numbers_its_source_froze_after_the_figures_changed(
    world,
    quarter,
    quarter_figures,
    build_board_pack,
    login,
    pack_media,
    django_capture_on_commit_callbacks,
):
    source = build_board_pack()
    assert freeze(board.assemble(world.org, quarter, timezone.now()))[1] == source.snapshot_sha256
    MeasureResult.objects.filter(measure="completeness").update(numerator=50)
    today = freeze(board.assemble(world.org, quarter, timezone.now()))[1]
    assert today != source.snapshot_sha256  # built afresh, the pack would say something else

    client = login(world.user(Role.SENIOR_LEADER))
    rebuild = reverse("reporting:pack_rebuild", args=[source.pk])
    assert "Rebuild from snapshot" in text(client.get(rebuild))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(rebuild)

    rebuilt = Pack.objects.exclude(pk=source.pk).get(period_start=quarter.start)
    assert response["Location"] == rebuilt.get_absolute_url()
    assert rebuilt.status == Pack.Status.BUILT, rebuilt.error
    assert rebuilt.source == source
    assert rebuilt.snapshot_sha256 == source.snapshot_sha256
    pdf = " ".join(" ".join(pdf_pages((pack_media / rebuilt.file_path).read_bytes())).split())
    assert "Record completeness across the services: Green: 96.5%, target 95%." in pdf
    assert "50.0%" not in pdf
    assert "Rebuilt from the snapshot of the build of" in pdf


# The command line ------------------------------------------------------------------------------


def test_the_command_builds_the_pack_prints_its_sha256_and_copies_it_out(
    world, quarter, tmp_path, pack_media
):
    out = tmp_path / "board.pdf"
    printed = StringIO()

    call_command(
        "build_pack",
        "board",
        "--quarter",
        quarter_key(quarter),
        "--out",
        str(out),
        "--organisation",
        "Oakfield Care Group",
        stdout=printed,
    )

    pack = Pack.objects.get(organisation=world.org, period_start=quarter.start)
    assert pack.status == Pack.Status.BUILT
    assert pack.requested_how == "from the command line"
    assert f"sha256 {pack.sha256}" in printed.getvalue()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == pack.sha256
    assert out.read_bytes() == (pack_media / pack.file_path).read_bytes()


@pytest.mark.parametrize("written", ["2026-Q5", "2026-Q0", "Q3 2026", "2026"])
def test_the_command_refuses_what_is_not_a_quarter(world, written):
    before = Pack.objects.count()

    with pytest.raises(CommandError, match=f"'{written}' is not a quarter: write it like 2026-Q3"):
        call_command(
            "build_pack", "board", "--quarter", written, "--organisation", "Oakfield Care Group"
        )

    assert Pack.objects.count() == before


def test_the_command_refuses_a_quarter_that_has_not_started(world, quarter):
    coming = quarter.next().next()

    with pytest.raises(CommandError, match=f"{re.escape(coming.label)} has not started yet"):
        call_command(
            "build_pack",
            "board",
            "--quarter",
            quarter_key(coming),
            "--organisation",
            "Oakfield Care Group",
        )


def test_the_command_asks_which_organisation_when_there_are_several(world, quarter):
    with pytest.raises(CommandError, match="name one with --organisation"):
        call_command("build_pack", "board", "--quarter", quarter_key(quarter))


# The schedule ----------------------------------------------------------------------------------


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("moment", "ended"),
    [
        (london(2026, 10, 1, 0, 0), "2026-07-01"),  # the first minute of Q4
        (london(2026, 10, 2, 6, 15), "2026-07-01"),
        (london(2026, 11, 15, 12, 0), "2026-07-01"),  # the middle of Q4: still Q3's pack
        (london(2026, 9, 30, 23, 45), "2026-04-01"),  # Q3 not over yet: Q2's pack
    ],
)
def test_the_schedule_asks_once_for_the_pack_of_the_quarter_before_its_moment(
    world, settings, monkeypatch, django_capture_on_commit_callbacks, moment, ended
):
    settings.REPORTING_PACKS_ON_SCHEDULE = True
    sent = []
    monkeypatch.setattr("reporting.tasks.build_pack.delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        first = run_scheduler(at=moment)
        again = run_scheduler(at=moment)

    scheduled = Pack.objects.filter(scheduled=True)
    assert sorted((p.organisation.name, p.period_start.isoformat()) for p in scheduled) == [
        ("Elsewhere Care Ltd", ended),
        ("Oakfield Care Group", ended),
    ]
    assert all(p.requested_by is None and p.kind == "board" for p in scheduled)
    assert sorted(sent) == sorted(p.pk for p in scheduled)  # each sent to the worker once
    label = period_containing(Cadence.QUARTERLY, datetime.fromisoformat(ended).date()).label
    assert f"board assurance pack for Oakfield Care Group, {label}" in str(first)
    assert "board assurance pack" not in str(again)


def test_a_build_under_way_at_the_quarter_end_stands_for_the_scheduled_one(
    world, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.REPORTING_PACKS_ON_SCHEDULE = True
    monkeypatch.setattr("reporting.tasks.build_pack.delay", lambda pk: None)
    asked, _ = services.pack_request(
        actor=world.user(Role.QUALITY_LEAD),
        organisation=world.org,
        kind="board",
        period=parse_quarter("2026-Q3"),
        enqueue=False,
    )

    with django_capture_on_commit_callbacks(execute=True):
        run_scheduler(at=london(2026, 10, 2, 6, 15))
        run_scheduler(at=london(2026, 10, 2, 6, 30))

    ours = Pack.objects.filter(organisation=world.org, period_start=date(2026, 7, 1))
    assert list(ours.values_list("pk", "scheduled")) == [(asked.pk, True)]


def test_the_schedule_asks_for_nothing_when_packs_are_not_built_on_schedule(world, settings):
    settings.REPORTING_PACKS_ON_SCHEDULE = False

    run_scheduler(at=london(2026, 10, 2, 6, 15))

    assert not Pack.objects.filter(scheduled=True).exists()


# Pages -----------------------------------------------------------------------------------------


def test_the_pack_list_shows_the_quarters_and_a_download_for_a_built_one(
    world, quarter, built, login
):
    response = login(world.user(Role.BOARD_MEMBER)).get(reverse("reporting:pack_list"))

    page = text(response)
    assert response.status_code == 200
    assert quarter.label in page
    assert f"{quarter.next().label} Quarter still running" in page
    assert f'href="{reverse("reporting:pack_download", args=[built.pk])}"' in (
        response.content.decode()
    )
    assert f"Download PDF: board pack {quarter.label}" in page
    assert "Build a board pack" not in page  # a board member reads packs; leaders build them


def test_the_pack_page_offers_the_download_and_lists_who_downloaded_it(world, built, login):
    client = login(world.user(Role.QUALITY_LEAD))
    client.get(reverse("reporting:pack_download", args=[built.pk]))

    page = text(client.get(reverse("reporting:pack_detail", args=[built.pk])))

    assert f"Ready: {built.pages} pages" in page
    assert "Download the PDF" in page
    assert f"PDF fingerprint (sha256) {built.sha256}" in page
    assert "Who downloaded it" in page
    assert str(world.user(Role.QUALITY_LEAD)) in page


def test_only_those_who_read_packs_see_board_packs_in_the_menu(world, client):
    client.force_login(world.user(Role.TEAM_LEADER))
    assert "Board packs" not in text(client.get(reverse("home")))

    client.force_login(world.user(Role.BOARD_MEMBER))
    assert "Board packs" in text(client.get(reverse("home")))


def test_a_quality_lead_at_one_service_is_neither_shown_nor_let_into_board_packs(world, client):
    """Packs cover the whole organisation: a role held at one service does not reach them."""
    client.force_login(person_with_role(Role.QUALITY_LEAD, service=world.service_a))

    assert client.get(reverse("reporting:pack_list")).status_code == 403
    assert "Board packs" not in text(client.get(reverse("home")))
