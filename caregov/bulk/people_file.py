"""A people file: who its rows would invite, whose roles they would give or remove, and who in
the organisation is missing from them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from caregov import services
from caregov.access import ORGANISATION_ONLY_ROLES, SERVICE_ONLY_ROLES, Role
from caregov.bulk.reading import Problem, Reading, check_lengths, choice, labels, read_csv, shown
from caregov.models import Membership, Organisation, Service, User

PEOPLE_COLUMNS = ["email", "full_name", "role", "service_code", "job_title"]
PEOPLE_OPTIONAL = {"service_code", "job_title"}
PEOPLE_EXAMPLE = [
    "rosa.patel@example.org",
    "Rosa Patel",
    "Team leader",
    "WILLOW",
    "Day shift team leader",
]
WHOLE_ORGANISATION = "whole organisation"


@dataclass
class PeoplePlan:
    #: Each: email, full_name, job_title, memberships [[role, service id or None], ...].
    invites: list[dict] = field(default_factory=list)
    #: Each: person id, email, full_name, job_title, and what they were.
    details: list[dict] = field(default_factory=list)
    #: Each: person id, role, service id or None.
    grants: list[dict] = field(default_factory=list)
    #: Each: membership id, person id.
    removals: list[dict] = field(default_factory=list)
    #: Active people of the organisation not in the file: person ids.
    leavers: list[int] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        data = {k: v for k, v in asdict(self).items() if k not in {"problems", "unchanged"}}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @property
    def changes_anything(self) -> bool:
        return bool(self.invites or self.details or self.grants or self.removals or self.leavers)


def read_people(content: bytes) -> Reading:
    return read_csv(content, columns=PEOPLE_COLUMNS, optional=PEOPLE_OPTIONAL)


def people_plan(*, actor: User, organisation: Organisation, rows: list[dict]) -> PeoplePlan:
    """Who the rows would invite, whose roles they would give or take away, and who in the
    organisation is missing from them (offered for deactivation, never done unasked); or every
    problem with the rows. The file is the whole list of each named person's roles."""
    reading = Reading()
    service_by_code = {s.code.upper(): s for s in Service.objects.filter(organisation=organisation)}
    codes = ", ".join(sorted(service_by_code)) or "none yet"
    people: dict[str, dict] = {}
    seen: dict[tuple, int] = {}
    for row in rows:
        n = row["row"]
        check_lengths(row, reading)
        email = row["email"].lower()
        if not email:
            reading.add(n, "email", "is empty. Enter the person's email address.")
        else:
            try:
                validate_email(email)
            except ValidationError:
                reading.add(
                    n,
                    "email",
                    f"{shown(row['email'])} is not an email address. Enter "
                    "one like name@example.org.",
                )
                email = ""
        if not row["full_name"]:
            reading.add(n, "full_name", "is empty. Enter the person's full name.")
        role = None
        if not row["role"]:
            reading.add(n, "role", f"is empty. Enter one of: {labels(Role.choices)}.")
        else:
            role = choice(row["role"], Role.choices)
            if role is None:
                reading.add(
                    n,
                    "role",
                    f"{shown(row['role'])} is not a role in caregov. Use one of:"
                    f" {labels(Role.choices)}.",
                )
        where = row["service_code"]
        service = None
        scope_ok = True
        if where and " ".join(where.lower().split()) not in (WHOLE_ORGANISATION, "organisation"):
            service = service_by_code.get(where.upper())
            if service is None:
                scope_ok = False
                reading.add(
                    n,
                    "service_code",
                    f"{organisation} has no service with the code "
                    f"{shown(where)}. Use one of: {codes}; or leave it empty (or write "
                    "'whole organisation') for a role across the organisation.",
                )
        if role and scope_ok:
            label = Role(role).label
            if role in SERVICE_ONLY_ROLES and service is None:
                reading.add(
                    n,
                    "service_code",
                    f"a {label.lower()} must be linked to a named "
                    f"service. Enter its code: {codes}.",
                )
            elif role in ORGANISATION_ONLY_ROLES and service is not None:
                reading.add(
                    n,
                    "service_code",
                    f"an {label.lower()} works across the whole organisation. Leave it empty.",
                )
        if not email:
            continue
        person = people.setdefault(
            email,
            {"row": n, "full_name": row["full_name"], "job_title": row["job_title"], "roles": []},
        )
        if row["full_name"] and person["full_name"] and row["full_name"] != person["full_name"]:
            reading.add(
                n,
                "full_name",
                f"{shown(row['full_name'])} differs from row "
                f"{person['row']} ({shown(person['full_name'])}) for {email}. Use one "
                "name for a person on every row.",
            )
        if row["job_title"]:
            if person["job_title"] and row["job_title"] != person["job_title"]:
                reading.add(
                    n,
                    "job_title",
                    f"{shown(row['job_title'])} differs from another "
                    f"row for {email} ({shown(person['job_title'])}). Use one job title "
                    "for a person, or leave it empty on the other rows.",
                )
            person["job_title"] = person["job_title"] or row["job_title"]
        if role and scope_ok:
            key = (email, role, service.pk if service else None)
            if key in seen:
                reading.add(
                    n,
                    "role",
                    f"{email} as {Role(role).label.lower()} for "
                    f"{service.name if service else 'the whole organisation'} is also on "
                    f"row {seen[key]}. Keep one of the rows.",
                )
            else:
                seen[key] = n
                person["roles"].append([role, service.pk if service else None])
    users = {
        u.email.lower(): u
        for u in User.objects.filter(email__in=list(people)).prefetch_related("memberships")
    }
    for email, person in people.items():
        user = users.get(email)
        if user is None:
            continue
        if user.organisation_id != organisation.pk:
            reading.add(
                person["row"],
                "email",
                f"{email} already has a login with another "
                "organisation. caregov cannot add them here: take their rows out.",
            )
        elif not user.is_active:
            reading.add(
                person["row"],
                "email",
                f"{email}'s login is deactivated. Reactivate it "
                "from their People page first, or take their rows out of the file.",
            )
    plan = PeoplePlan(problems=sorted(reading.problems, key=lambda p: p.row))
    if plan.problems:
        return plan
    for email, person in people.items():
        user = users.get(email)
        if user is None:
            plan.invites.append(
                {
                    "email": email,
                    "full_name": person["full_name"],
                    "job_title": person["job_title"],
                    "memberships": person["roles"],
                }
            )
            continue
        changed = False
        # An empty job title leaves the person's as it is; a name is always given.
        job_title = person["job_title"] or user.job_title
        if (person["full_name"], job_title) != (user.full_name, user.job_title):
            plan.details.append(
                {
                    "person": user.pk,
                    "full_name": person["full_name"],
                    "job_title": job_title,
                    "was": [user.full_name, user.job_title],
                }
            )
            changed = True
        held = {(m.role, m.service_id): m for m in user.memberships.all()}
        wanted = {tuple(r) for r in person["roles"]}
        for role, service_id in person["roles"]:
            if (role, service_id) not in held:
                plan.grants.append({"person": user.pk, "role": role, "service": service_id})
                changed = True
        if user.pk != actor.pk:
            for key, membership in sorted(held.items(), key=lambda kv: kv[1].pk):
                if key not in wanted:
                    plan.removals.append({"membership": membership.pk, "person": user.pk})
                    changed = True
        plan.unchanged += not changed
    plan.leavers = list(
        User.objects.filter(organisation=organisation, is_active=True)
        .exclude(email__in=list(people))
        .exclude(pk=actor.pk)
        .order_by("full_name", "email")
        .values_list("pk", flat=True)
    )
    return plan


@transaction.atomic
def people_apply(
    *,
    actor: User,
    organisation: Organisation,
    plan: PeoplePlan,
    deactivate: set[int],
    base_url: str,
    request=None,
) -> None:
    """Write the plan through the people services: invitations (emailed once the transaction
    commits), details, roles given and removed, and the leavers the admin ticked. One transaction:
    any refusal leaves everything as it was and sends nothing."""
    service_by_id = {s.pk: s for s in Service.objects.filter(organisation=organisation)}
    for invite in plan.invites:
        (role, service_id), *more = invite["memberships"]
        person = services.person_invite(
            actor=actor,
            organisation=organisation,
            email=invite["email"],
            full_name=invite["full_name"],
            job_title=invite["job_title"],
            role=role,
            service=service_by_id.get(service_id),
            base_url=base_url,
        )
        for role, service_id in more:
            services.membership_give(
                actor=actor, user=person, role=role, service=service_by_id.get(service_id)
            )
    people = User.objects.filter(organisation=organisation).in_bulk(
        [d["person"] for d in plan.details]
        + [g["person"] for g in plan.grants]
        + [r["person"] for r in plan.removals]
        + [pk for pk in plan.leavers if pk in deactivate]
    )
    for detail in plan.details:
        services.person_update(
            actor=actor,
            user=people[detail["person"]],
            full_name=detail["full_name"],
            job_title=detail["job_title"],
        )
    for removal in plan.removals:
        membership = Membership.objects.get(
            pk=removal["membership"], organisation=organisation, user_id=removal["person"]
        )
        services.membership_remove(actor=actor, membership=membership)
    for grant in plan.grants:
        services.membership_give(
            actor=actor,
            user=people[grant["person"]],
            role=grant["role"],
            service=service_by_id.get(grant["service"]),
        )
    for pk in plan.leavers:
        if pk in deactivate:
            services.person_deactivate(actor=actor, user=people[pk], request=request)


def _where(service_id, services_by_id) -> str:
    return services_by_id[service_id].name if service_id else "whole organisation"


def describe_people_plan(*, organisation: Organisation, plan: PeoplePlan) -> dict:
    """The plan in words for its preview page."""
    by_id = {s.pk: s for s in Service.objects.filter(organisation=organisation)}
    people = User.objects.filter(organisation=organisation).in_bulk(
        [d["person"] for d in plan.details]
        + [g["person"] for g in plan.grants]
        + [r["person"] for r in plan.removals]
        + plan.leavers
    )
    memberships = Membership.objects.select_related("service").in_bulk(
        [r["membership"] for r in plan.removals]
    )
    leaver_roles: dict[int, list[str]] = {}
    for m in Membership.objects.filter(user_id__in=plan.leavers).select_related("service"):
        leaver_roles.setdefault(m.user_id, []).append(str(m))
    return {
        "invites": [
            {
                **invite,
                "roles": [
                    f"{Role(role).label}, {_where(sid, by_id)}"
                    for role, sid in invite["memberships"]
                ],
            }
            for invite in plan.invites
        ],
        "details": [{**d, "person": people[d["person"]]} for d in plan.details],
        "grants": [
            {
                "person": people[g["person"]],
                "role": f"{Role(g['role']).label}, {_where(g['service'], by_id)}",
            }
            for g in plan.grants
        ],
        "removals": [
            {"person": people[r["person"]], "role": str(memberships[r["membership"]])}
            for r in plan.removals
        ],
        "leavers": [
            {"person": people[pk], "roles": leaver_roles.get(pk, [])} for pk in plan.leavers
        ],
    }
