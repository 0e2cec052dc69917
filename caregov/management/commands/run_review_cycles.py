"""Run the governance scheduler once, now or at a given moment (Europe/London when no offset)."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from caregov import cadence
from caregov.engine import run_scheduler


def parse_moment(text: str) -> datetime:
    try:
        return cadence.parse_moment(text)
    except ValueError as error:
        raise CommandError(f"--at must look like 2026-10-25T02:30, not {text!r}") from error


class Command(BaseCommand):
    help = (
        "Open due review cycles, evaluate triggers and escalate what is overdue (what beat runs)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--at", help="The moment to run for, like 2026-10-25T02:30 (UK time).")

    def handle(self, *args, at=None, **options):
        moment = parse_moment(at) if at else timezone.now()
        summary = run_scheduler(at=moment)
        self.stdout.write(str(summary))
