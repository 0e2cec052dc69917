"""Build a believable demo provider: services of several types and phases, people in every role."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from caregov.access import Role
from caregov.demo_governance import build_governance_history
from caregov.history import save_with_reason
from caregov.models import Membership, Organisation, SecurityEvent, Service, User
from caregov.services.organisation import membership_give

DEMO_SLUG = "oakfield"
DOMAIN = "oakfield.example"

SERVICE_CATALOGUE = [
    ("Willow House", "WILLOW", Service.Type.CARE_HOME, "12 Mill Lane", "Harrogate", "HG1 4QT"),
    (
        "Riverside Home Care",
        "RIVER",
        Service.Type.DOMICILIARY_CARE,
        "3 Quay Street",
        "York",
        "YO1 7PN",
    ),
    ("Beech Court Nursing", "BEECH", Service.Type.NURSING_HOME, "40 Park Road", "Leeds", "LS6 2DA"),
    (
        "Hawthorn Supported Living",
        "HAWTH",
        Service.Type.SUPPORTED_LIVING,
        "7 Station Road",
        "Ripon",
        "HG4 1AB",
    ),
    (
        "Meadow View Extra Care",
        "MEADOW",
        Service.Type.EXTRA_CARE,
        "1 Meadow Way",
        "Selby",
        "YO8 4PQ",
    ),
    ("Elm Lodge", "ELM", Service.Type.CARE_HOME, "22 Church Street", "Knaresborough", "HG5 8AB"),
    (
        "Northside Home Care",
        "NORTH",
        Service.Type.DOMICILIARY_CARE,
        "Unit 4, Kings Yard",
        "Thirsk",
        "YO7 1AA",
    ),
    (
        "Ashgrove Nursing Home",
        "ASH",
        Service.Type.NURSING_HOME,
        "9 Grove Avenue",
        "Wetherby",
        "LS22 6PP",
    ),
    (
        "Larch Supported Living",
        "LARCH",
        Service.Type.SUPPORTED_LIVING,
        "15 Larch Close",
        "Tadcaster",
        "LS24 9AA",
    ),
    (
        "Oak Gardens Extra Care",
        "OAKG",
        Service.Type.EXTRA_CARE,
        "2 Oak Gardens",
        "Malton",
        "YO17 7AA",
    ),
]
FIRST = [
    "Amira",
    "Ben",
    "Chloe",
    "Dev",
    "Ellie",
    "Femi",
    "Grace",
    "Harry",
    "Isla",
    "Jamal",
    "Kate",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tom",
    "Uma",
    "Vik",
    "Wendy",
    "Yusuf",
    "Zara",
]
LAST = [
    "Ahmed",
    "Bennett",
    "Clarke",
    "Davies",
    "Evans",
    "Fletcher",
    "Green",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Morgan",
    "Nowak",
    "Okafor",
    "Patel",
    "Roberts",
    "Singh",
    "Taylor",
    "Walsh",
    "Wright",
]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: Role
    service_index: int | None  # None: the whole organisation
    title: str


DEMO_LOGINS = [
    DemoLogin(f"admin@{DOMAIN}", Role.ORG_ADMIN, None, "Systems administrator"),
    DemoLogin(f"board@{DOMAIN}", Role.BOARD_MEMBER, None, "Non-executive director"),
    DemoLogin(f"senior@{DOMAIN}", Role.SENIOR_LEADER, None, "Chief executive"),
    DemoLogin(f"operations@{DOMAIN}", Role.OPERATIONS_DIRECTOR, None, "Operations director"),
    DemoLogin(f"quality@{DOMAIN}", Role.QUALITY_LEAD, None, "Head of quality"),
    DemoLogin(f"dataquality@{DOMAIN}", Role.DATA_QUALITY_LEAD, None, "Data quality lead"),
    DemoLogin(f"project@{DOMAIN}", Role.PROJECT_LEAD, None, "Digital project lead"),
    DemoLogin(f"manager@{DOMAIN}", Role.REGISTERED_MANAGER, 0, "Registered manager"),
    DemoLogin(f"teamleader@{DOMAIN}", Role.TEAM_LEADER, 0, "Team leader"),
    DemoLogin(f"champion@{DOMAIN}", Role.DIGITAL_CHAMPION, 0, "Senior carer"),
    DemoLogin(f"carestaff@{DOMAIN}", Role.CARE_STAFF, 0, "Care assistant"),
    DemoLogin("commissioner@council.example", Role.COMMISSIONER, 0, "Contracts officer"),
]


class Command(BaseCommand):
    help = "Load the demo provider (safe to re-run: does nothing when it is already loaded)."

    def add_arguments(self, parser):
        parser.add_argument("--services", type=int, default=8, help="How many services (2 to 10).")
        parser.add_argument("--months", type=int, default=18, help="Months of history to build.")
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed: same seed, same provider."
        )
        parser.add_argument("--reset", action="store_true", help="Delete the demo provider first.")

    def handle(self, *args, services: int, months: int, seed: int, reset: bool, **options):
        if not 2 <= services <= len(SERVICE_CATALOGUE):
            raise CommandError(f"--services must be between 2 and {len(SERVICE_CATALOGUE)}.")
        if months < 1:
            raise CommandError("--months must be at least 1.")
        existing = Organisation.objects.filter(slug=DEMO_SLUG).first()
        if existing and not reset:
            self.stdout.write("The demo provider is already loaded (use --reset to rebuild it).")
            self._print_logins()
            return
        with transaction.atomic():
            if existing:
                delete_demo(existing)
            build_demo(services=services, months=months, seed=seed)
        self.stdout.write(
            self.style.SUCCESS(f"Demo provider loaded: {services} services, {months} months.")
        )
        self._print_logins()

    def _print_logins(self):
        self.stdout.write(f"\nDemo logins (password: {settings.DEMO_PASSWORD})")
        for login in DEMO_LOGINS:
            where = (
                "whole organisation"
                if login.service_index is None
                else SERVICE_CATALOGUE[login.service_index][0]
            )
            if login.role == Role.COMMISSIONER:
                where = f"{where} and {SERVICE_CATALOGUE[1][0]} only"
            self.stdout.write(f"  {login.email:<32} {login.role.label} ({where})")


def delete_demo(organisation: Organisation) -> None:
    from caregov.models import Action, Decision, Escalation, Meeting, ReviewCycle, TriggerSetting
    from caregov.registry import demo_builders

    people = User.objects.filter(organisation=organisation)
    for builder in demo_builders.all():
        if builder.delete:
            builder.delete(organisation)
    Action.objects.filter(organisation=organisation).delete()
    Decision.objects.filter(meeting__organisation=organisation).delete()
    Meeting.objects.filter(organisation=organisation).delete()
    Escalation.objects.filter(organisation=organisation).delete()
    ReviewCycle.objects.filter(organisation=organisation).delete()
    TriggerSetting.objects.filter(organisation=organisation).delete()
    SecurityEvent.objects.filter(organisation=organisation).delete()
    Membership.objects.filter(organisation=organisation).delete()
    Service.objects.filter(organisation=organisation).delete()
    people.delete()
    organisation.delete()


def build_demo(*, services: int, months: int, seed: int) -> Organisation:
    from caregov.registry import demo_builders

    rng = random.Random(seed)
    now = timezone.now()
    start = now - timedelta(days=months * 30 + 14)
    reason = "caregov.demo.seeded"
    organisation = Organisation(name="Oakfield Care Group", slug=DEMO_SLUG, created_at=start)
    organisation._history_date = start
    save_with_reason(organisation, actor=None, reason=reason)

    names = iter(rng.sample([f"{f} {last}" for f in FIRST for last in LAST], 200))
    # Hashing is deliberately slow; every demo login shares one password, so hash it once.
    password_hash = make_password(settings.DEMO_PASSWORD)

    def person(email: str, title: str) -> User:
        user = User(email=email, full_name=next(names), job_title=title, organisation=organisation)
        user.password = password_hash
        user.date_joined = start
        user._history_date = start
        return save_with_reason(user, actor=None, reason=reason)

    created: list[Service] = []
    for name, code, kind, street, town, postcode in SERVICE_CATALOGUE[:services]:
        service = Service(
            organisation=organisation,
            name=name,
            code=code,
            service_type=kind,
            address_line_1=street,
            town=town,
            postcode=postcode,
            phase=Service.Phase.PLANNING,
            phase_changed_on=start.date(),
            created_at=start,
        )
        service._history_date = start
        save_with_reason(service, actor=None, reason=reason)
        created.append(service)

    logins = {login.email: person(login.email, login.title) for login in DEMO_LOGINS}
    admin = logins[f"admin@{DOMAIN}"]
    for login in DEMO_LOGINS:
        service = None if login.service_index is None else created[login.service_index]
        membership_give(
            actor=admin,
            user=logins[login.email],
            role=login.role,
            service=service,
            created_at=start,
        )
    # The commissioner commissions the first two services, and nothing else.
    membership_give(
        actor=admin,
        user=logins["commissioner@council.example"],
        role=Role.COMMISSIONER,
        service=created[1],
        created_at=start,
    )

    people = {
        "quality_lead": logins[f"quality@{DOMAIN}"],
        "board": logins[f"board@{DOMAIN}"],
        "services": {},
    }
    for index, service in enumerate(created):
        manager = (
            logins[f"manager@{DOMAIN}"]
            if index == 0
            else person(f"manager.{service.code.lower()}@{DOMAIN}", "Registered manager")
        )
        team_leader = logins[f"teamleader@{DOMAIN}"]
        if index:
            membership_give(
                actor=admin, user=manager, role=Role.REGISTERED_MANAGER, service=service
            )
            for role, title in (
                (Role.TEAM_LEADER, "Team leader"),
                (Role.DIGITAL_CHAMPION, "Senior carer"),
                (Role.CARE_STAFF, "Care assistant"),
            ):
                member = person(
                    f"{role.value.replace('_', '')}.{service.code.lower()}@{DOMAIN}", title
                )
                membership_give(
                    actor=admin, user=member, role=role, service=service, created_at=start
                )
                if role == Role.TEAM_LEADER:
                    team_leader = member
        people["services"][service.pk] = {"manager": manager, "team_leader": team_leader}
        service.registered_manager = manager
        service._history_date = start + timedelta(days=1)
        save_with_reason(service, actor=admin, reason="caregov.service.updated")
        _walk_phases(service, rng=rng, start=start, now=now, index=index, actor=admin)
    # Apps' records first (ECM exports and audits), so the replayed scheduler raises their
    # escalations on the days they would have fired; then the work inside the replayed cycles.
    app_rng = random.Random(rng.getrandbits(64))
    for builder in demo_builders.all():
        if builder.before_replay:
            builder.before_replay(
                organisation,
                rng=app_rng,
                start=timezone.localdate(start),
                end=timezone.localdate(now),
                people=people,
            )
    build_governance_history(
        organisation,
        start=timezone.localdate(start),
        today=timezone.localdate(now),
        rng=rng,
        story_service=created[0],
    )
    for builder in demo_builders.all():
        if builder.after_replay:
            builder.after_replay(
                organisation, rng=app_rng, today=timezone.localdate(now), people=people
            )
    # The demo provider has run caregov for months: its getting started is long done (the
    # quarter's board pack it has just asked for is built by the worker a minute later).
    organisation.getting_started_done_at = now
    save_with_reason(organisation, actor=None, reason=reason)
    return organisation


def _walk_phases(
    service: Service, *, rng: random.Random, start, now, index: int, actor: User
) -> None:
    """Move services through planning, rollout and stabilised at believable dates."""
    span = (now - start).days
    # Roughly: most services stabilised, a couple still in rollout, one still planning.
    target = [
        Service.Phase.STABILISED,
        Service.Phase.ROLLOUT,
        Service.Phase.STABILISED,
        Service.Phase.ROLLOUT,
        Service.Phase.PLANNING,
    ][index % 5]
    if target == Service.Phase.PLANNING:
        return
    rollout_day = rng.randint(span // 10, span // 3)
    steps = [(Service.Phase.ROLLOUT, rollout_day)]
    if target == Service.Phase.STABILISED:
        steps.append(
            (
                Service.Phase.STABILISED,
                rng.randint(rollout_day + 90, max(rollout_day + 91, span - 30)),
            )
        )
    for phase, day in steps:
        when = start + timedelta(days=min(day, span - 1))
        service.phase = phase
        service.phase_changed_on = timezone.localdate(when)
        service._history_date = when
        save_with_reason(service, actor=actor, reason="caregov.service.phase_changed")
