"""Services and people from a spreadsheet: read a CSV, check every row, plan what would change.

Nothing here writes. `read_csv` turns the uploaded bytes into rows (or problems), `services_plan`
and `people_plan` compare the rows with the organisation as it stands and say what confirming
would create, change, give, remove and offer to deactivate, and `services_apply` and
`people_apply` write a plan through the organisation's services in one transaction. A plan is
worked out again from the same rows on confirm, so what is written is what the page showed, or the
page is shown again. Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from caregov import services
from caregov.access import ORGANISATION_ONLY_ROLES, SERVICE_ONLY_ROLES, Role
from caregov.models import Membership, Organisation, Service, User
from caregov.uploads import SNIFF_BYTES, formula_start, not_text

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
#: Problems listed on the page; the rest are counted.
MAX_PROBLEMS_SHOWN = 500
#: Characters of a value quoted back in a message.
MAX_QUOTED = 60

SERVICE_COLUMNS = [
    "name",
    "code",
    "type",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "phase",
]
SERVICE_OPTIONAL = {"address_line_2", "phase"}
SERVICE_EXAMPLE = [
    "Willow House",
    "WILLOW",
    "Care home",
    "12 Willow Lane",
    "",
    "Leeds",
    "LS1 4AB",
    "Planning",
]
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

_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
#: A UK postcode: outward code (area, district) and inward code (sector, unit).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
#: How long each text column may be, as the database holds it.
_LENGTHS = {
    "name": 150,
    "address_line_1": 150,
    "address_line_2": 150,
    "town": 80,
    "full_name": 150,
    "job_title": 120,
    "email": 254,
}
#: The service fields a file sets, by column, and how the page names them.
_SERVICE_FIELDS = {
    "name": ("name", "Name"),
    "type": ("service_type", "Type"),
    "address_line_1": ("address_line_1", "Address line 1"),
    "address_line_2": ("address_line_2", "Address line 2"),
    "town": ("town", "Town or city"),
    "postcode": ("postcode", "Postcode"),
    "phase": ("phase", "Implementation phase"),
}


@dataclass
class Problem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if not self.row:
            return self.message
        if not self.column:
            return f"Row {self.row}: {self.message}"
        return f"Row {self.row}, column {self.column}: {self.message}"


@dataclass
class Reading:
    """A file read into rows (each a dict of column to stripped text, with its row number)."""

    rows: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: The file as a whole cannot be read (its encoding, size or header): no rows are given.
    fatal: bool = False

    def add(self, row: int, column: str, message: str) -> None:
        self.problems.append(Problem(row, column, message))

    @property
    def clean(self) -> bool:
        return not self.problems

    def refuse(self, row: int, column: str, message: str) -> Reading:
        self.problems = [Problem(row, column, message)]
        self.rows = []
        self.fatal = True
        return self

    def with_plan_problems(self, problems: list[Problem]) -> list[Problem]:
        """Every problem of the file, by row: this reading's and those the plan found in its
        rows, leaving out the plan's about a cell this reading has already refused."""
        refused = {(p.row, p.column) for p in self.problems}
        more = [p for p in problems if (p.row, p.column) not in refused]
        return sorted(self.problems + more, key=lambda p: p.row)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def shown(text: str) -> str:
    text = text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1] + "…"
    if not text.isprintable():
        text = "".join(
            c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
        )
    return f"'{text}'"


def template_csv(columns: list[str], example: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow(example)
    return out.getvalue()


def read_csv(content: bytes, *, columns: list[str], optional: set[str]) -> Reading:
    """Every row of the file, with the problems of its cells (a formula, extra cells); or the one
    problem that stops the file being read at all (too large, not UTF-8 text, a header without
    the columns, too many rows), when the reading is `fatal` and holds no rows."""
    reading = Reading()
    if len(content) > MAX_BYTES:
        return reading.refuse(
            0,
            "",
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it into "
            "smaller files and upload each.",
        )
    refusal = not_text(content[: SNIFF_BYTES * 2], what="the CSV file")
    if refusal:
        return reading.refuse(0, "", refusal)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return reading.refuse(
            content[: error.start].count(b"\n") + 1,
            "",
            "this row holds a character that is not UTF-8. Save the file as CSV UTF-8 "
            "(in a spreadsheet: Save as, then CSV UTF-8) and upload it again.",
        )
    if "\x00" in text:
        return reading.refuse(
            text[: text.index("\x00")].count("\n") + 1,
            "",
            "this row holds a NUL character (byte 0). Save the file as CSV UTF-8 "
            "and upload it again.",
        )
    records = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(records, None)
    except csv.Error as error:
        return reading.refuse(1, "", f"the header cannot be read as CSV ({error}).")
    if not header or not any(cell.strip() for cell in header):
        return reading.refuse(
            1,
            "",
            f"the first row must name the columns: {', '.join(columns)}. "
            "Download the template to start from.",
        )
    names = [cell.strip().lower() for cell in header]
    _check_header(names, columns, optional, reading)
    if not reading.clean:
        reading.fatal = True
        return reading
    row_number = 1
    try:
        for cells in records:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(reading.rows) >= MAX_ROWS:
                return reading.refuse(
                    0,
                    "",
                    f"The file has more than {MAX_ROWS:,} rows. Split it into "
                    f"files of at most {MAX_ROWS:,} rows and upload each.",
                )
            if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
                reading.add(
                    row_number,
                    "",
                    f"this row has {len(cells)} cells but the header "
                    f"names {len(names)} columns. Take out the extra cells.",
                )
                continue
            row = {"row": row_number}
            for name, cell in zip(names, cells, strict=False):
                value = cell.strip()
                start = formula_start(value)
                if start:
                    reading.add(
                        row_number,
                        name,
                        f"starts with '{start}', which a spreadsheet "
                        "would run as a formula. Remove it.",
                    )
                row[name] = value
            for name in columns:
                row.setdefault(name, "")
            reading.rows.append(row)
    except csv.Error as error:
        return reading.refuse(
            row_number, "", f"this row cannot be read as CSV ({error}). Check its quotation marks."
        )
    if not reading.rows and reading.clean:
        return reading.refuse(
            0, "", "The file has no rows under its header. Add a row for each entry."
        )
    return reading


def _check_header(names: list[str], columns: list[str], optional: set[str], reading: Reading):
    seen = set()
    for name in names:
        if name in seen:
            reading.add(1, name, "this column is named twice. Keep one.")
        seen.add(name)
    unknown = [n for n in names if n not in columns]
    if unknown:
        reading.add(
            1,
            ", ".join(shown(n) if n else "(blank)" for n in unknown),
            f"caregov does not know {'this column' if len(unknown) == 1 else 'these columns'}. "
            f"The columns are: {', '.join(columns)}.",
        )
    missing = [c for c in columns if c not in seen and c not in optional]
    if missing:
        reading.add(
            1,
            ", ".join(missing),
            "the header must name "
            f"{'this column' if len(missing) == 1 else 'these columns'}. "
            "Download the template to see them.",
        )


def _choice(text: str, choices) -> str | None:
    """The value of a choice given as its value or its label, in any case."""
    wanted = " ".join(text.replace("_", " ").split()).lower()
    for value, label in choices:
        if wanted in (value.replace("_", " ").lower(), str(label).lower()):
            return value
    return None


def _labels(choices) -> str:
    return ", ".join(str(label) for _, label in choices)


def _check_lengths(row: dict, reading: Reading) -> None:
    for name, limit in _LENGTHS.items():
        if name in row and len(row[name]) > limit:
            reading.add(
                row["row"],
                name,
                f"is {len(row[name])} characters long. Shorten it to {limit} or fewer.",
            )


# Services -------------------------------------------------------------------------------------


@dataclass
class ServicesPlan:
    creates: list[dict] = field(default_factory=list)
    #: Each: service id, code, name, and {field: [label, was, becomes]} for what changes.
    updates: list[dict] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        data = {"creates": self.creates, "updates": self.updates}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @property
    def changes_anything(self) -> bool:
        return bool(self.creates or self.updates)


def read_services(content: bytes) -> Reading:
    return read_csv(content, columns=SERVICE_COLUMNS, optional=SERVICE_OPTIONAL)


def services_plan(*, organisation: Organisation, rows: list[dict]) -> ServicesPlan:
    """What the rows would create and change among the organisation's services, or every problem
    with them. A row whose code is an existing service's changes that service; services missing
    from the file are left as they are."""
    reading = Reading()
    existing = {s.code.upper(): s for s in Service.objects.filter(organisation=organisation)}
    codes_seen: dict[str, int] = {}
    wanted = []
    for row in rows:
        n = row["row"]
        values = {}
        for column in ("name", "code", "type", "address_line_1", "town", "postcode"):
            if not row[column]:
                reading.add(n, column, f"is empty. Enter the service's {_describe(column)}.")
        _check_lengths(row, reading)
        code = row["code"].upper()
        if code:
            if not _CODE.match(code):
                reading.add(
                    n,
                    "code",
                    f"{shown(row['code'])} is not a code caregov can use. Use up "
                    "to 20 letters, digits, hyphens or underscores, like WILLOW.",
                )
            elif code in codes_seen:
                reading.add(
                    n,
                    "code",
                    f"{code} is also on row {codes_seen[code]}. Give each "
                    "service its own code, or keep one of the rows.",
                )
            else:
                codes_seen[code] = n
        if row["type"]:
            values["service_type"] = _choice(row["type"], Service.Type.choices)
            if values["service_type"] is None:
                reading.add(
                    n,
                    "type",
                    f"{shown(row['type'])} is not a type of service. Use one "
                    f"of: {_labels(Service.Type.choices)}.",
                )
        if row["phase"]:
            values["phase"] = _choice(row["phase"], Service.Phase.choices)
            if values["phase"] is None:
                reading.add(
                    n,
                    "phase",
                    f"{shown(row['phase'])} is not a phase. Use one of: "
                    f"{_labels(Service.Phase.choices)}, or leave it empty.",
                )
        if row["postcode"]:
            postcode = " ".join(row["postcode"].upper().split())
            match = _POSTCODE.match(postcode)
            if match:
                values["postcode"] = f"{match.group(1)} {match.group(2)}"
            else:
                reading.add(
                    n,
                    "postcode",
                    f"{shown(row['postcode'])} is not a UK postcode. Enter it like LS1 4AB.",
                )
        for column in ("name", "address_line_1", "address_line_2", "town"):
            values[column] = row[column]
        wanted.append((code, values))
    plan = ServicesPlan(problems=reading.problems)
    if plan.problems:
        return plan
    for code, values in wanted:
        service = existing.get(code)
        if service is None:
            plan.creates.append(
                {
                    "code": code,
                    "name": values["name"],
                    "service_type": values["service_type"],
                    "address_line_1": values["address_line_1"],
                    "address_line_2": values["address_line_2"],
                    "town": values["town"],
                    "postcode": values["postcode"],
                    "phase": values.get("phase") or Service.Phase.PLANNING,
                }
            )
            continue
        changes = {}
        for column, (name, label) in _SERVICE_FIELDS.items():
            target = values.get(name)
            if column == "phase" and not target:
                continue  # An empty phase leaves the service's phase as it is.
            was = getattr(service, name)
            if target != was:
                changes[name] = [
                    label,
                    _shown_value(service, name, was),
                    _shown_value(service, name, target),
                    target,
                ]
        if changes:
            plan.updates.append(
                {"service": service.pk, "code": code, "name": service.name, "changes": changes}
            )
        else:
            plan.unchanged.append(code)
    return plan


def _describe(column: str) -> str:
    return {"type": "type", "address_line_1": "first address line", "town": "town or city"}.get(
        column, column
    )


def _shown_value(service: Service, name: str, value: str) -> str:
    choices = {"service_type": Service.Type, "phase": Service.Phase}.get(name)
    if choices is not None and value:
        return str(choices(value).label)
    return value or "(empty)"


@transaction.atomic
def services_apply(*, actor: User, organisation: Organisation, plan: ServicesPlan) -> None:
    """Create and change the services the plan names, through the service layer's own writes (so
    each has its history reason). One transaction: any refusal leaves everything as it was."""
    for values in plan.creates:
        services.service_create(actor=actor, organisation=organisation, **values)
    for update in plan.updates:
        service = Service.objects.get(pk=update["service"], organisation=organisation)
        fields = {name: change[3] for name, change in update["changes"].items()}
        services.service_update(actor=actor, service=service, **fields)


# People ---------------------------------------------------------------------------------------


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
        _check_lengths(row, reading)
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
            reading.add(n, "role", f"is empty. Enter one of: {_labels(Role.choices)}.")
        else:
            role = _choice(row["role"], Role.choices)
            if role is None:
                reading.add(
                    n,
                    "role",
                    f"{shown(row['role'])} is not a role in caregov. Use one of:"
                    f" {_labels(Role.choices)}.",
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


def describe_services_plan(plan: ServicesPlan) -> dict:
    """The services to add, with their type and phase in words, for the preview page."""
    return {
        "creates": [
            {
                **c,
                "type_label": Service.Type(c["service_type"]).label,
                "phase_label": Service.Phase(c["phase"]).label,
            }
            for c in plan.creates
        ]
    }
