"""Migration 0008: imports stored before it name their files by absolute paths; afterwards each
names its file relative to MEDIA_ROOT, and one still waiting for the worker can still run."""

import importlib
import io
from pathlib import Path

import pytest
from django.apps import apps

from assurance import services
from assurance.ecm import export_rows
from assurance.models import EcmImport, EcmRecord
from caregov.access import Role
from tests.assurance.builders import month, rows

migration = importlib.import_module("assurance.migrations.0008_ecm_import_paths_relative")
OCTOBER = month(2026, 10)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def manager(world):
    return world.user(Role.REGISTERED_MANAGER)


def queued(manager, service, count=3) -> EcmImport:
    record, _ = services.import_queue(
        actor=manager,
        service=service,
        period=OCTOBER,
        upload=io.BytesIO(export_rows(rows(count)).encode()),
        file_name="export.csv",
    )
    return record


def stored_as(record: EcmImport, path: Path) -> None:
    EcmImport.objects.filter(pk=record.pk).update(stored_path=str(path))


def test_an_absolute_path_under_media_root_becomes_relative(world, manager, settings):
    record = queued(manager, world.service_a)
    name = record.stored_path
    stored_as(record, settings.MEDIA_ROOT / name)
    migration.paths_relative(apps, None)
    record.refresh_from_db()
    assert record.stored_path == name
    assert services.import_run(record).status == EcmImport.Status.IMPORTED


def test_an_import_waiting_in_the_old_upload_folder_moves_under_media_root_and_runs(
    world, manager, settings, tmp_path
):
    # Before, uploads waited in ECM_IMPORT_DIR (var/ecm-imports), beside MEDIA_ROOT, not in it.
    record = queued(manager, world.service_a, count=5)
    old_folder = tmp_path / "var" / "ecm-imports"
    old_folder.mkdir(parents=True)
    old = old_folder / Path(record.stored_path).name
    (settings.MEDIA_ROOT / record.stored_path).rename(old)
    stored_as(record, old)
    migration.paths_relative(apps, None)
    record.refresh_from_db()
    assert record.stored_path == f"ecm-imports/{old.name}"
    assert not old.exists()
    record = services.import_run(record)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert EcmRecord.objects.filter(ecm_import=record).count() == 5


def test_a_finished_import_whose_copy_was_removed_keeps_the_path_it_recorded(world, manager):
    record = services.import_run(queued(manager, world.service_a))
    assert record.status == EcmImport.Status.IMPORTED
    stored_as(record, Path("/app/var/ecm-imports/import-1-0123456789ab.csv"))
    migration.paths_relative(apps, None)
    record.refresh_from_db()
    assert record.stored_path == "/app/var/ecm-imports/import-1-0123456789ab.csv"


def test_going_back_names_the_files_by_absolute_paths_under_media_root(world, manager, settings):
    record = queued(manager, world.service_a)
    name = record.stored_path
    migration.paths_absolute(apps, None)
    record.refresh_from_db()
    assert record.stored_path == str(Path(settings.MEDIA_ROOT).resolve() / name)
    migration.paths_relative(apps, None)
    record.refresh_from_db()
    assert record.stored_path == name
