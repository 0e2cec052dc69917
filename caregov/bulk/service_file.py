"""A services file: what its rows would add and change among the organisation's services."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from django.db import transaction

from caregov import services
from caregov.bulk.reading import Problem, Reading, check_lengths, choice, labels, read_csv, shown
from caregov.models import Organisation, Service, User

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
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
#: A UK postcode: outward code (area, district) and inward code (sector, unit).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
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
        check_lengths(row, reading)
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
            values["service_type"] = choice(row["type"], Service.Type.choices)
            if values["service_type"] is None:
                reading.add(
                    n,
                    "type",
                    f"{shown(row['type'])} is not a type of service. Use one "
                    f"of: {labels(Service.Type.choices)}.",
                )
        if row["phase"]:
            values["phase"] = choice(row["phase"], Service.Phase.choices)
            if values["phase"] is None:
                reading.add(
                    n,
                    "phase",
                    f"{shown(row['phase'])} is not a phase. Use one of: "
                    f"{labels(Service.Phase.choices)}, or leave it empty.",
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
