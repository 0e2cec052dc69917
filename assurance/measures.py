"""The data assurance framework's measures: what each means, how it is scored, and how a figure is
rated red, amber or green against the thresholds in force. Pure code: no database here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models

#: The code of the trigger that fires when the ECM's dashboard and the audits disagree: the
#: selectors read its threshold through the kernel's registry by this code.
UNRELIABLE_REPORTS = "assurance.unreliable_reports"


class MeasureCode(models.TextChoices):
    COMPLETENESS = "completeness", "Record completeness"
    TIMELINESS = "timeliness", "Timeliness"
    OUTCOME_EVIDENCE = "outcome_evidence", "Outcome evidence"
    REVIEW_COMPLIANCE = "review_compliance", "Review compliance"
    NARRATIVE_QUALITY = "narrative_quality", "Narrative quality"
    DASHBOARD_RELIABILITY = "dashboard_reliability", "Dashboard reliability"


class Source(models.TextChoices):
    ECM = "ecm", "ECM export"
    AUDIT = "audit", "Record audit"
    COMPARISON = "comparison", "ECM export compared with audit"


class Rating(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


@dataclass(frozen=True)
class Measure:
    code: str
    name: str
    definition: str
    scoring: str
    #: Where the figure a measure is judged on comes from.
    source: str
    #: The question a team leader answers for each record in an audit (None: not asked).
    question: str | None
    target: Decimal
    green_from: Decimal
    amber_from: Decimal


MEASURES: dict[str, Measure] = {
    m.code: m
    for m in [
        Measure(
            MeasureCode.COMPLETENESS,
            "Record completeness",
            "Care records that were due have been written.",
            "Records with a recorded time, as a share of the records due in the ECM export for "
            "the month.",
            Source.ECM,
            "Is the record there and complete?",
            Decimal(95),
            Decimal(95),
            Decimal(85),
        ),
        Measure(
            MeasureCode.TIMELINESS,
            "Timeliness",
            "Records are written close to the time care was given, not hours later.",
            "Recorded records written no later than the tolerance (2 hours unless the import "
            "says otherwise) after their due time, as a share of the records recorded.",
            Source.ECM,
            "Was it written on time?",
            Decimal(90),
            Decimal(90),
            Decimal(75),
        ),
        Measure(
            MeasureCode.OUTCOME_EVIDENCE,
            "Outcome evidence",
            "Records say what difference the care made, not only what was done.",
            "Recorded records with an outcome recorded, as a share of the records recorded.",
            Source.ECM,
            "Does it record the outcome for the person?",
            Decimal(85),
            Decimal(85),
            Decimal(70),
        ),
        Measure(
            MeasureCode.REVIEW_COMPLIANCE,
            "Review compliance",
            "Care plans and assessments are reviewed by the date they are due.",
            "Records with a review due date whose last review was done on or before it, as a "
            "share of the records with a review due date.",
            Source.ECM,
            "Was its review done by the due date?",
            Decimal(90),
            Decimal(90),
            Decimal(80),
        ),
        Measure(
            MeasureCode.NARRATIVE_QUALITY,
            "Narrative quality",
            "The written account is specific, person-centred and useful to the next carer.",
            "Audited records whose narrative a team leader judged good enough, as a share of the "
            "audited records where the question applied.",
            Source.AUDIT,
            "Is the narrative specific and useful?",
            Decimal(80),
            Decimal(80),
            Decimal(60),
        ),
        Measure(
            MeasureCode.DASHBOARD_RELIABILITY,
            "Dashboard reliability",
            "What the ECM reports about a record matches what an auditor finds when they open it.",
            "Audited records where the ECM export and the audit agree on whether the record is "
            "complete, as a share of the audited records found in the export.",
            Source.COMPARISON,
            None,
            Decimal(90),
            Decimal(90),
            Decimal(80),
        ),
    ]
}

#: The measures a team leader checks on each record, in the order they are asked.
CHECKED = [code for code, m in MEASURES.items() if m.question]


@dataclass(frozen=True)
class Thresholds:
    target: Decimal
    green_from: Decimal
    amber_from: Decimal
    #: When these thresholds came into force (None: caregov's defaults).
    effective_from: object = None
    version_id: int | None = None

    def rate(self, value: Decimal | None) -> str | None:
        if value is None:
            return None
        if value >= self.green_from:
            return Rating.GREEN
        if value >= self.amber_from:
            return Rating.AMBER
        return Rating.RED

    def as_dict(self) -> dict:
        return {
            "target": str(self.target),
            "green_from": str(self.green_from),
            "amber_from": str(self.amber_from),
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
        }


def default_thresholds(code: str) -> Thresholds:
    m = MEASURES[code]
    return Thresholds(m.target, m.green_from, m.amber_from)


def percentage(numerator: int, denominator: int) -> Decimal | None:
    """A share as a percentage to one decimal place, rounded half up; None when nothing to count."""
    if not denominator:
        return None
    return (Decimal(100) * numerator / denominator).quantize(Decimal("0.1"), ROUND_HALF_UP)


def rating_words(rating: str | None, value: Decimal | None, thresholds: Thresholds) -> str:
    """ "Red: 71.0%, target 90%" - the word, the figure and the target together."""
    if rating is None or value is None:
        return "No data"
    return f"{Rating(rating).label}: {value}%, target {thresholds.target.normalize():f}%"
