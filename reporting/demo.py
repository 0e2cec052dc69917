"""The demo provider's packs: last quarter's board pack is asked for as the schedule would, and
built by the worker `make run` starts."""

from __future__ import annotations

from django.utils import timezone

from reporting import building, services
from reporting.models import Pack, PackDownload


def ask_for_packs(organisation, **_) -> None:
    services.build_due_packs(at=timezone.now(), organisations=[organisation])


def delete_packs(organisation) -> None:
    packs = Pack.objects.filter(organisation=organisation)
    PackDownload.objects.filter(pack__in=packs).delete()
    for pack in packs.exclude(file_path=""):
        building.pack_path(pack.file_path).unlink(missing_ok=True)
    packs.filter(source__isnull=False).delete()
    packs.delete()
