"""The example's own rules: all a new record kind has to test. Who may see and change it, its
pages, its CSV and its history are the kit's, tested once (tests/caregov/test_record_kit.py,
the access matrix, the history test)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from caregov.access import Role
from tests.recordkit.services import device_check_change, device_check_record

pytestmark = pytest.mark.django_db


def _record(world, **changes):
    fields = {"organisation": world.org, "service": world.service_a, "device": " Lounge 2 "}
    fields |= {"checked_on": date(2026, 11, 20), "working": True, **changes}
    return device_check_record(actor=world.user(Role.REGISTERED_MANAGER), **fields)


def test_a_check_is_not_dated_in_the_future(world):
    with pytest.raises(ValidationError, match="cannot be dated in the future"):
        _record(world, checked_on=date(2026, 11, 25))
    assert _record(world, checked_on=date(2026, 11, 24)).device == "Lounge 2"


def test_a_device_that_does_not_work_needs_a_note_when_recorded_and_when_changed(world):
    with pytest.raises(ValidationError, match="Say what did not work"):
        _record(world, working=False, note="  ")
    check = _record(world)
    with pytest.raises(ValidationError, match="Say what did not work"):
        device_check_change(
            actor=world.user(Role.REGISTERED_MANAGER),
            record=check,
            device="Lounge 2",
            checked_on=check.checked_on,
            working=False,
        )
