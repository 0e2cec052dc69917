"""Builders for data assurance tests: exports as CSV text, imports and submitted audits."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta

from django.test import TestCase

from assurance import services
from assurance.ecm import export_rows
from assurance.measures import CHECKED
from caregov.cadence import Cadence, period_containing


def month(year: int, number: int):
    return period_containing(Cadence.MONTHLY, date(year, number, 1))


def rows(
    count: int,
    *,
    start: date = date(2026, 10, 1),
    recorded: int | None = None,
    late: int = 0,
    with_outcome: int | None = None,
    reviews_due: int = 0,
    reviews_on_time: int = 0,
    prefix: str = "R",
) -> list[dict]:
    """`count` records due in the month of `start`; the first `recorded` are recorded (all by
    default), of which the first `late` three hours late; the first `with_outcome` recorded ones
    have an outcome; the first `reviews_due` have a review due, the first `reviews_on_time` of
    those reviewed by then."""
    recorded = count if recorded is None else recorded
    with_outcome = recorded if with_outcome is None else with_outcome
    out = []
    for i in range(count):
        due = datetime.combine(start + timedelta(days=i % 28), datetime.min.time()) + timedelta(
            hours=8
        )
        is_recorded = i < recorded
        recorded_at = due + timedelta(hours=3 if i < late else 0, minutes=30)
        review_due = start + timedelta(days=20) if i < reviews_due else None
        last_review = review_due - timedelta(days=2) if review_due and i < reviews_on_time else None
        out.append(
            {
                "record_reference": f"{prefix}{i + 1:05d}",
                "record_type": "Daily note",
                "due_time": due.strftime("%Y-%m-%d %H:%M"),
                "recorded_time": recorded_at.strftime("%Y-%m-%d %H:%M") if is_recorded else "",
                "author_role": "Care worker",
                "outcome_recorded": "yes" if is_recorded and i < with_outcome else "no",
                "last_review_date": last_review.isoformat() if last_review else "",
                "review_due_date": review_due.isoformat() if review_due else "",
                "narrative_length": "240",
            }
        )
    return out


def import_rows(actor, service, data: list[dict] | str, period=None, name="export.csv"):
    text = data if isinstance(data, str) else export_rows(data)
    record, queued = services.import_queue(
        actor=actor,
        service=service,
        period=period,
        upload=io.BytesIO(text.encode("utf-8")),
        file_name=name,
    )
    if queued:
        record = services.import_run(record)
    return record


def submitted_audit(actor, service, period, answers: dict[str, list[str]], at=None):
    """An audit of records R00001.. where answers[measure][i] is record i's answer."""
    count = len(next(iter(answers.values())))
    references = "\n".join(f"R{i + 1:05d}" for i in range(count))
    audit, _ = services.audit_start(
        actor=actor,
        service=service,
        period=period,
        idempotency_key=uuid.uuid4(),
        references=references,
    )
    for record in audit.records.order_by("position"):
        i = record.position - 1
        given = {}
        for measure in CHECKED:
            answer = answers.get(measure, ["met"] * count)[i]
            given[measure] = (answer, "Missing detail" if answer == "not_met" else "")
        services.audit_record_save(actor=actor, record=record, answers=given, at=at)
    audit, _ = submit(actor=actor, audit=audit, submission_key=uuid.uuid4(), at=at)
    return audit


def submit(**kwargs):
    """`services.audit_submit`, then what follows its commit: the worker (eager in tests)
    rewrites the month's figures. The test's own transaction never commits, so the callbacks
    the submission left for its commit are run here."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.audit_submit(**kwargs)


def row(
    reference: str,
    due: str,
    recorded: str = "",
    *,
    outcome: str = "yes",
    last_review: str = "",
    review_due: str = "",
    record_type: str = "Daily note",
    author_role: str = "Care worker",
    narrative: str = "240",
) -> dict:
    """One export row written out by hand: times as '2026-10-14 08:30' (UK time)."""
    return {
        "record_reference": reference,
        "record_type": record_type,
        "due_time": due,
        "recorded_time": recorded,
        "author_role": author_role,
        "outcome_recorded": outcome,
        "last_review_date": last_review,
        "review_due_date": review_due,
        "narrative_length": narrative,
    }


def import_bytes(
    actor, service, data: bytes, period=None, name="export.csv", tolerance_minutes: int = 120
):
    """Queue and run an import of raw bytes: returns (import, queued) as import_queue does."""
    record, queued = services.import_queue(
        actor=actor,
        service=service,
        period=period,
        upload=io.BytesIO(data),
        file_name=name,
        tolerance_minutes=tolerance_minutes,
    )
    if queued:
        record = services.import_run(record)
    return record, queued


def started_audit(actor, service, period, references: list[str] | str):
    """A draft audit of the given references."""
    text = references if isinstance(references, str) else "\n".join(references)
    audit, _ = services.audit_start(
        actor=actor,
        service=service,
        period=period,
        idempotency_key=uuid.uuid4(),
        references=text,
    )
    return audit


def all_met(note: str = "") -> dict[str, tuple[str, str]]:
    """Answers for one record: every checked measure met."""
    return dict.fromkeys(CHECKED, ("met", note))
