"""Every governed model keeps its history, and nothing writes around it."""

import ast
from pathlib import Path

from django.apps import apps

from caregov import records
from caregov.history import reason_words

#: The product's apps, and any app that declares a record kind (the kit's example among them).
OUR_APPS = {"caregov", "workflows", "assurance", "champions", "roadmap", "reporting"} | {
    kind.model._meta.app_label for kind in records.kinds()
}
#: Append-only logs: they are history themselves and are never edited.
NOT_GOVERNED = {"caregov.SecurityEvent", "caregov.Reminder", "reporting.PackDownload"}
#: Facts as another system reported them, and figures derived from governed records: rewritten in
#: bulk from their sources, never edited by a person.
DERIVED = {"assurance.EcmRecord", "assurance.MeasureResult", "assurance.AuditAgreement"}
#: Credentials: the security events record each change to them; a history would keep old keys.
CREDENTIALS = {"caregov.Passkey", "otp_static.StaticToken", "otp_static.StaticDevice"}
#: Work waiting for the worker, removed once done: a marker, not a record anyone governs.
WORK_QUEUES = {"assurance.FigureRefresh"}
ROOT = Path(__file__).resolve().parents[2]
#: The only module allowed to bulk-write governed models, because it writes history too.
HISTORY_HELPER = ROOT / "caregov" / "history.py"


def _governed_models():
    for model in apps.get_models():
        label = model._meta.label
        if (
            model._meta.app_label not in OUR_APPS
            or label in NOT_GOVERNED | DERIVED | WORK_QUEUES | CREDENTIALS
        ):
            continue
        if model.__name__.startswith("Historical"):
            continue
        yield model


def test_every_governed_model_has_history():
    missing = [m._meta.label for m in _governed_models() if not hasattr(m, "history")]
    assert missing == []


def test_every_history_records_the_acting_user_and_a_reason():
    for model in _governed_models():
        historical = model.history.model
        fields = {f.name for f in historical._meta.get_fields()}
        assert {"history_user", "history_change_reason", "history_date"} <= fields, model


BULK_METHODS = {"update", "bulk_create", "bulk_update"}
QUERYSET_METHODS = {"objects", "filter", "exclude", "all", "select_for_update", "select_related"}


DERIVED_NAMES = {label.split(".")[1] for label in DERIVED | NOT_GOVERNED | CREDENTIALS}


def _root_name(node) -> str | None:
    while isinstance(node, ast.Attribute | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _queryset_bulk_writes(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in BULK_METHODS
        ):
            receiver = node.func.value
            if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute):
                receiver = receiver.func
            if _root_name(receiver) in DERIVED_NAMES:
                continue
            if isinstance(receiver, ast.Attribute) and receiver.attr in QUERYSET_METHODS:
                yield f"{path.relative_to(ROOT)}:{node.lineno}"


def test_no_queryset_update_or_bulk_write_outside_the_history_helper():
    offenders = []
    for app in OUR_APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or path == HISTORY_HELPER:
                continue
            offenders.extend(_queryset_bulk_writes(path))
    assert offenders == [], "Use caregov.history.bulk_update_with_history: " + ", ".join(offenders)


def test_reasons_read_as_plain_words():
    assert reason_words("caregov.service.phase_changed") == "Implementation phase changed"
    assert reason_words("assurance.audit.submitted") == "Audit submitted"
