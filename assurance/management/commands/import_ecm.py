"""python manage.py import_ecm FILE --service CODE [--period 2026-10] [--as EMAIL] [--profile NAME]"""

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from assurance.models import ImportProfile
from assurance.services import MappingNeeded, import_file, pending_discard
from caregov.cadence import parse_month
from caregov.models import Service, User


class Command(BaseCommand):
    help = "Check and import an ECM export (CSV) for a service. A file with any problem imports nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--service", required=True, help="The service's code, like WILLOW.")
        parser.add_argument(
            "--period",
            help="The month the export covers, like 2026-10. Read from the file if left out.",
        )
        parser.add_argument(
            "--as",
            dest="as_email",
            help="Import as this person (default: the service's registered manager).",
        )
        parser.add_argument("--tolerance-minutes", type=int, default=120)
        parser.add_argument(
            "--profile",
            help="Read the file through this import profile (a supplier's own columns). Left "
            "out, a file in caregov's columns is read as it is, and any other through the "
            "profile saved for its header.",
        )

    def handle(
        self,
        *args,
        file: Path,
        service: str,
        period,
        as_email,
        tolerance_minutes,
        profile=None,
        **options,
    ):
        if not file.is_file():
            raise CommandError(f"No file at {file}.")
        target = Service.objects.filter(code__iexact=service).first()
        if target is None:
            raise CommandError(f"No service with code {service}.")
        try:
            month = parse_month(period) if period else None
        except (ValueError, TypeError):
            raise CommandError(f"--period {period} is not a month like 2026-10.") from None
        actor = (
            User.objects.filter(email__iexact=as_email).first()
            if as_email
            else target.registered_manager
        )
        if actor is None:
            raise CommandError(
                "Say who is importing with --as EMAIL (the service has no registered manager)."
            )
        chosen = None
        if profile:
            chosen = ImportProfile.objects.filter(
                organisation=target.organisation, name__iexact=profile.strip()
            ).first()
            if chosen is None:
                known = ", ".join(
                    ImportProfile.objects.filter(organisation=target.organisation).values_list(
                        "name", flat=True
                    )
                )
                raise CommandError(
                    f"No import profile called {profile} at {target.organisation}. "
                    + (f"Profiles: {known}." if known else "There are no profiles yet.")
                )
        try:
            record, queued = import_file(
                actor=actor,
                service=target,
                path=file,
                period=month,
                tolerance_minutes=tolerance_minutes,
                profile=chosen,
            )
        except MappingNeeded as waiting:
            pending_discard(waiting.pending)
            raise CommandError(
                "This file is not in caregov's columns and no import profile reads its header. "
                "Name one with --profile NAME, or map it on the Import an ECM export page."
            ) from None
        except PermissionDenied as error:
            raise CommandError(f"Refused: {error}") from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if not queued:
            self.stdout.write(
                f"Already imported for {target.name}, {record.period_label} (import {record.pk}). Nothing changed."
            )
            return
        if record.profile_id:
            self.stdout.write(f"Read through import profile {record.profile}.")
        if record.status != record.Status.IMPORTED:
            for problem in record.problems:
                self.stderr.write(f"row {problem['row']}: {problem['message']}")
            count, more = record.problem_count, record.problem_count - len(record.problems)
            if more > 0:
                self.stderr.write(
                    f"… and {more:,} more problem{pluralize(more)}; {count:,} in all."
                )
            raise CommandError(
                f"Nothing imported: {count:,} problem{pluralize(count)} in "
                f"{record.rows_read:,} row{pluralize(record.rows_read)}."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {record.rows_read} rows for {target.name}, {record.period_label}."
            )
        )
        for measure, figure in record.figures.items():
            shown = "no records to count" if figure["value"] is None else f"{figure['value']}%"
            self.stdout.write(
                f"  {measure}: {shown} ({figure['numerator']} of {figure['denominator']})"
            )
