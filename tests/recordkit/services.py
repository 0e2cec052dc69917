"""The example's services: the rules of a device check, and the only way one is written."""

from django.core.exceptions import ValidationError
from django.utils import timezone

from caregov.history import save_with_reason
from caregov.records import create_once, require_capability
from tests.recordkit.models import DeviceCheck


def _check_rules(*, checked_on, working, note) -> None:
    if checked_on > timezone.localdate():
        raise ValidationError({"checked_on": "A check cannot be dated in the future."})
    if not working and not note.strip():
        raise ValidationError({"note": "Say what did not work."})


def device_check_record(
    *, actor, organisation, service, device, checked_on, working, note="", idempotency_key=None
):
    """A manager records a tablet's check; the same form sent twice makes one record."""
    _check_rules(checked_on=checked_on, working=working, note=note)
    check = DeviceCheck(
        organisation=organisation,
        service=service,
        device=device.strip(),
        checked_on=checked_on,
        working=working,
        note=note.strip(),
        recorded_by=actor,
    )
    if idempotency_key:
        check.idempotency_key = idempotency_key
    check, _ = create_once(
        check, actor=actor, capability="practice.record_gaps", reason="recordkit.check.recorded"
    )
    return check


def device_check_change(*, actor, record, device, checked_on, working, note=""):
    require_capability(actor, "practice.record_gaps", record)
    _check_rules(checked_on=checked_on, working=working, note=note)
    record.device, record.checked_on = device.strip(), checked_on
    record.working, record.note = working, note.strip()
    return save_with_reason(record, actor=actor, reason="recordkit.check.changed")
