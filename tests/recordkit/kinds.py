"""The example record kind: its service and its declaration."""

from django.core.exceptions import ValidationError
from django.utils import timezone

from caregov.records import Column, RecordKind, create_once, require_capability
from tests.recordkit.models import DeviceCheck


def device_check_record(
    *, actor, organisation, service, device, checked_on, working, note="", idempotency_key=None
):
    """A team records a tablet's check; the same form sent twice makes one record."""
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
    if checked_on > timezone.localdate():
        raise ValidationError({"checked_on": "A check cannot be dated in the future."})
    if not working and not check.note:
        raise ValidationError({"note": "Say what did not work."})
    return create_once(
        check, actor=actor, capability="practice.record_gaps", reason="recordkit.check.recorded"
    )[0]


def device_check_change(*, actor, record, device, checked_on, working, note=""):
    require_capability(actor, "practice.record_gaps", record)
    if not working and not note.strip():
        raise ValidationError({"note": "Say what did not work."})
    record.device, record.checked_on, record.working, record.note = (
        device,
        checked_on,
        working,
        note,
    )
    from caregov.history import save_with_reason

    return save_with_reason(record, actor=actor, reason="recordkit.check.changed")


CHECKS = RecordKind(
    app="recordkit",
    name="check",
    model=DeviceCheck,
    view="practice.view",
    record="practice.record_gaps",
    fields=("service", "device", "checked_on", "working", "note"),
    create=device_check_record,
    update=device_check_change,
    columns=(
        Column("Checked on", "checked_on"),
        Column("Device", "device", link=True),
        Column("Service", "service.name"),
        Column("Working", lambda c: "Yes" if c.working else "No"),
    ),
    details=(Column("What was found", "note"),),
    filters=("service", "working"),
    ordering=("-checked_on", "-pk"),
    plural="Device checks",
    singular="device check",
)
