"""Uploaded exports are named relative to MEDIA_ROOT, so the web server and the worker, which
mount the same storage each at its own path, find the same file (caregov.media).

Forwards, for each import naming its file by an absolute path:
- under MEDIA_ROOT: the path becomes relative to it;
- elsewhere (the former ECM_IMPORT_DIR, var/ecm-imports by default) and still waiting for the
  worker, with its file there: the file moves to MEDIA_ROOT/ecm-imports/, so the import can run;
- otherwise the import has finished and its uploaded copy was removed then: the path is only a
  record of where it was, and is left as it is (reading refuses an absolute path).
Backwards, relative names become absolute paths under MEDIA_ROOT, as the code before read them.
History rows keep the paths they recorded.
"""

import shutil
from pathlib import Path

from django.conf import settings
from django.db import migrations

WAITING = ("queued", "running")


def _root() -> Path:
    return Path(settings.MEDIA_ROOT).resolve()


def paths_relative(apps, schema_editor):
    EcmImport = apps.get_model("assurance", "EcmImport")
    root = _root()
    for pk, stored, status in EcmImport.objects.exclude(stored_path="").values_list(
        "pk", "stored_path", "status"
    ):
        path = Path(stored)
        if not path.is_absolute():
            continue
        resolved = path.resolve()
        if resolved.is_relative_to(root):
            name = resolved.relative_to(root).as_posix()
        elif status in WAITING and path.is_file():
            target = root / "ecm-imports" / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
            name = target.relative_to(root).as_posix()
        else:
            continue
        EcmImport.objects.filter(pk=pk).update(stored_path=name)


def paths_absolute(apps, schema_editor):
    EcmImport = apps.get_model("assurance", "EcmImport")
    root = _root()
    for pk, stored in EcmImport.objects.exclude(stored_path="").values_list("pk", "stored_path"):
        if not Path(stored).is_absolute():
            EcmImport.objects.filter(pk=pk).update(stored_path=str(root / stored))


class Migration(migrations.Migration):
    dependencies = [("assurance", "0007_figures_refresh_and_import_counts")]

    operations = [migrations.RunPython(paths_relative, paths_absolute, elidable=True)]
