"""python manage.py load_import_profiles --organisation SLUG [--as EMAIL]

Saves caregov's three example import profiles (assurance/profiles/*.json) for an organisation,
leaving any it already has of the same name or header as they are."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from assurance.examples import as_fields, example_profiles
from assurance.mapping import header_key, normalise
from assurance.models import ImportProfile
from assurance.services import profile_save
from caregov.access import has_capability
from caregov.models import Organisation, User


class Command(BaseCommand):
    help = "Save the example ECM import profiles for an organisation."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", required=True, help="The organisation's slug.")
        parser.add_argument(
            "--as",
            dest="as_email",
            help="Save as this person (default: someone who may import ECM exports there).",
        )

    def handle(self, *args, organisation: str, as_email=None, **options):
        org = Organisation.objects.filter(slug=organisation).first()
        if org is None:
            raise CommandError(f"No organisation with slug {organisation}.")
        people = User.objects.filter(organisation=org, is_active=True)
        if as_email:
            people = people.filter(email__iexact=as_email)
        actor = next((p for p in people.order_by("pk") if has_capability(p, "ecm.import")), None)
        if actor is None:
            raise CommandError("Say who saves the profiles with --as EMAIL (a data quality lead).")
        for example in example_profiles():
            header = [normalise(c) for c in example["columns"]]
            existing = ImportProfile.objects.filter(organisation=org).filter(
                name__iexact=example["name"]
            ) | ImportProfile.objects.filter(organisation=org, header_key=header_key(header))
            if existing.exists():
                self.stdout.write(f"Kept {existing.first().name}: already there.")
                continue
            try:
                profile_save(
                    actor=actor,
                    organisation=org,
                    name=example["name"],
                    names=example["columns"],
                    fields=as_fields(example),
                    date_format=example["date_format"],
                    yes=example["yes"],
                    no=example["no"],
                )
            except (PermissionDenied, ValidationError) as error:
                raise CommandError(f"{example['name']}: {error}") from None
            self.stdout.write(self.style.SUCCESS(f"Saved {example['name']}."))
