"""Writes. Each function is atomic, takes the acting person and writes history with a reason."""

from caregov.services.notices import notices_mark_read, reminders_choose
from caregov.services.organisation import (
    membership_give,
    membership_remove,
    person_deactivate,
    person_invite,
    person_reactivate,
    person_update,
    service_create,
    service_update,
)

__all__ = [
    "membership_give",
    "membership_remove",
    "notices_mark_read",
    "person_deactivate",
    "person_invite",
    "person_reactivate",
    "person_update",
    "reminders_choose",
    "service_create",
    "service_update",
]
