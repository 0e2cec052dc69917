"""Writes. Each function is atomic, takes the acting person and writes history with a reason."""

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
    "person_deactivate",
    "person_invite",
    "person_reactivate",
    "person_update",
    "service_create",
    "service_update",
]
