"""python manage.py build_pack board --quarter 2026-Q3 [--out pack.pdf] [--organisation NAME]"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from caregov.cadence import parse_quarter
from caregov.models import Organisation
from reporting import building, services
from reporting.models import Pack


class Command(BaseCommand):
    help = (
        "Build a pack now, the way the worker does: freeze its snapshot, draw its charts, lay out "
        "the PDF and store it with its sha256 (listed on the Board packs page)."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", help="The pack to build, e.g. board.")
        parser.add_argument("--quarter", required=True, help="The quarter, like 2026-Q3.")
        parser.add_argument("--out", help="Also copy the PDF to this file.")
        parser.add_argument(
            "--organisation", help="The organisation's name (needed when there are several)."
        )

    def handle(self, *args, kind, quarter, out=None, organisation=None, **options):
        try:
            period = parse_quarter(quarter)
        except ValueError:
            raise CommandError(f"{quarter!r} is not a quarter: write it like 2026-Q3.") from None
        organisation = self._organisation(organisation)
        try:
            pack, created = services.pack_request(
                actor=None, organisation=organisation, kind=kind, period=period, enqueue=False
            )
        except services.PackRefused as refusal:
            raise CommandError(str(refusal)) from None
        if not created:
            raise CommandError(
                f"The {pack} is already being built (build {pack.pk}); wait for it, or see "
                "Board packs."
            )
        pack = building.pack_build(pack.pk)
        if pack.status != Pack.Status.BUILT:
            raise CommandError(f"The build failed: {pack.error}")
        path = building.pack_file(pack)
        self.stdout.write(
            f"Built the {pack}: {pack.pages} pages, {pack.size_bytes:,} bytes, sha256 {pack.sha256}"
        )
        self.stdout.write(f"Stored as {path}")
        if out:
            shutil.copyfile(path, Path(out))
            self.stdout.write(f"Copied to {out}")

    def _organisation(self, name: str | None) -> Organisation:
        organisations = Organisation.objects.all()
        if name:
            organisations = organisations.filter(name__iexact=name)
        found = list(organisations[:2])
        if not found:
            raise CommandError(
                f"No organisation called {name!r}." if name else "No organisation yet."
            )
        if len(found) > 1:
            raise CommandError("There are several organisations: name one with --organisation.")
        return found[0]
