"""python manage.py create_organisation "Name" --admin you@example.org [--full-name ...] [--invite]"""

from __future__ import annotations

import getpass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from caregov.models import User
from caregov.services.organisation import organisation_create, organisation_create_problems


def _problems_text(error: ValidationError | dict) -> str:
    messages = error.message_dict if isinstance(error, ValidationError) else error
    return " ".join(m for field in messages.values() for m in field)


class Command(BaseCommand):
    help = (
        "Start a provider on caregov without the demo: make the organisation and its first "
        "organisation admin, who signs in with the password you type here or, with --invite, "
        "sets one from an emailed link."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help='The organisation\'s name, like "Oakfield Care Group".')
        parser.add_argument("--admin", required=True, help="The first admin's email address.")
        parser.add_argument("--full-name", help="The first admin's full name (asked if left out).")
        parser.add_argument(
            "--invite",
            action="store_true",
            help="Email the admin a link to set their own password instead of typing one here.",
        )

    def handle(self, *args, name, admin, full_name=None, invite=False, **options):
        if full_name is None:
            full_name = input("The admin's full name: ")
        problems = organisation_create_problems(
            name=name, admin_email=admin, admin_full_name=full_name
        )
        if problems:
            raise CommandError(_problems_text(problems) + " Nothing was created.")
        password = None
        if not invite:
            password = getpass.getpass(f"Password for {admin.strip().lower()}: ")
            again = getpass.getpass("The same password again: ")
            if password != again:
                raise CommandError("The two passwords are not the same. Nothing was created.")
            try:
                validate_password(password, user=User(email=admin, full_name=full_name))
            except ValidationError as error:
                raise CommandError(" ".join(error.messages) + " Nothing was created.") from None
        try:
            user = organisation_create(
                name=name,
                admin_email=admin,
                admin_full_name=full_name,
                password=password,
                invite=invite,
                base_url=settings.SITE_URL,
            )
        except ValidationError as error:
            raise CommandError(_problems_text(error) + " Nothing was created.") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{user.organisation} is on caregov (slug {user.organisation.slug})."
            )
        )
        if invite:
            self.stdout.write(
                f"An invitation went to {user.email}: its link sets their password "
                f"(it works once and expires in 3 days). Links point at {settings.SITE_URL}."
            )
        else:
            self.stdout.write(
                f"{user.full_name} ({user.email}) is its organisation admin: sign in at "
                f"{settings.SITE_URL.rstrip('/')}/login/ and set up a second factor."
            )
        self.stdout.write("Next: add your services and invite your people.")
