"""History helpers: every governed write carries the acting user and a namespaced reason.

Queryset `.update()` and bulk writes skip django-simple-history. Code that must change many
governed rows at once calls `bulk_update_with_history` here, which writes the history rows too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from simple_history.utils import bulk_create_with_history as _bulk_create_with_history
from simple_history.utils import bulk_update_with_history as _bulk_update_with_history

#: Plain words for the reasons the product writes. Unknown codes fall back to a readable form.
REASON_WORDS: dict[str, str] = {
    "caregov.organisation.created": "Organisation set up",
    "caregov.organisation.getting_started_done": "Getting started checklist finished",
    "caregov.organisation.first_admin": "First organisation admin, set up with the organisation",
    "caregov.service.created": "Service added",
    "caregov.service.updated": "Service details changed",
    "caregov.service.phase_changed": "Implementation phase changed",
    "caregov.person.invited": "Person invited",
    "caregov.person.updated": "Person's details changed",
    "caregov.person.deactivated": "Login deactivated",
    "caregov.person.reactivated": "Login reactivated",
    "caregov.person.password_set": "Password set",
    "caregov.person.reminders_chosen": "Reminder emails chosen",
    "caregov.membership.given": "Role given",
    "caregov.membership.removed": "Role removed",
    "caregov.demo.seeded": "Created by the demo data loader",
}


def reason_words(code: str | None) -> str:
    if not code:
        return "Changed"
    if code in REASON_WORDS:
        return REASON_WORDS[code]
    tail = code.split(".")[1:] or [code]
    return " ".join(tail).replace("_", " ").capitalize()


def save_with_reason(obj: models.Model, *, actor, reason: str, **save_kwargs) -> models.Model:
    obj._history_user = actor
    obj._change_reason = reason
    obj.save(**save_kwargs)
    return obj


def delete_with_reason(obj: models.Model, *, actor, reason: str) -> None:
    obj._history_user = actor
    obj._change_reason = reason
    obj.delete()


def bulk_update_with_history(
    objs: list[models.Model], model: type[models.Model], fields: list[str], *, actor, reason: str
) -> int:
    return _bulk_update_with_history(
        objs, model, fields, default_user=actor, default_change_reason=reason
    )


def bulk_create_with_history(
    objs: list[models.Model], model: type[models.Model], *, actor, reason: str, at=None
) -> list[models.Model]:
    return _bulk_create_with_history(
        objs,
        model,
        default_user=actor,
        default_change_reason=reason,
        default_date=at,
    )


@dataclass
class Change:
    field: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    when: Any
    who: str
    what: str
    kind: str
    changes: list[Change]


def _display(record, field_name: str, value) -> str:
    field = record.instance_type._meta.get_field(field_name)
    if value in (None, ""):
        return "(empty)"
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        related = field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related else f"(removed #{value})"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "j M Y, H:i")
    if isinstance(value, date):
        return date_format(value, "j M Y")
    return str(value)


def history_entries(
    obj: models.Model, *, hidden: frozenset[str] = frozenset()
) -> list[HistoryEntry]:
    """The object's history, newest first, in plain words with each field's before and after."""
    records = list(
        obj.history.select_related("history_user").order_by("history_date", "history_id")
    )
    entries: list[HistoryEntry] = []
    previous = None
    for record in records:
        changes: list[Change] = []
        if previous is not None:
            delta = record.diff_against(previous)
            for change in delta.changes:
                if change.field in hidden:
                    continue
                label = record.instance_type._meta.get_field(change.field).verbose_name
                changes.append(
                    Change(
                        field=str(label).capitalize(),
                        before=_display(record, change.field, change.old),
                        after=_display(record, change.field, change.new),
                    )
                )
        kind = {"+": "Created", "~": "Changed", "-": "Deleted"}[record.history_type]
        who = str(record.history_user) if record.history_user else "caregov (automatic)"
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=who,
                what=reason_words(record.history_change_reason)
                if record.history_change_reason
                else kind,
                kind=kind,
                changes=changes,
            )
        )
        previous = record
    entries.reverse()
    return entries
