"""The example's declaration: what its pages show and who may use them."""

from caregov.records import Column, RecordKind
from tests.recordkit.models import DeviceCheck
from tests.recordkit.services import device_check_change, device_check_record

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
        Column("Working", lambda check: "Yes" if check.working else "No"),
    ),
    details=(Column("What was found", "note"),),
    filters=("service", "working"),
    ordering=("-checked_on", "-pk"),
    plural="Device checks",
    singular="device check",
)
