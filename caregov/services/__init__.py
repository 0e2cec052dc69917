"""Writes. Each function is atomic, takes the acting person and writes history with a reason."""

from caregov.services.mfa import (
    passkey_add,
    recovery_codes_renew,
    second_factor_check,
    second_factor_reset,
    second_factor_roles_set,
    totp_set_up,
)
from caregov.services.notices import notices_mark_read, reminders_choose
from caregov.services.organisation import (
    getting_started_finish,
    membership_give,
    membership_remove,
    organisation_create,
    person_deactivate,
    person_invite,
    person_reactivate,
    person_update,
    service_create,
    service_update,
)

__all__ = [
    "getting_started_finish",
    "membership_give",
    "membership_remove",
    "notices_mark_read",
    "organisation_create",
    "passkey_add",
    "person_deactivate",
    "person_invite",
    "person_reactivate",
    "person_update",
    "recovery_codes_renew",
    "reminders_choose",
    "second_factor_check",
    "second_factor_reset",
    "second_factor_roles_set",
    "service_create",
    "service_update",
    "totp_set_up",
]
