"""Eighteen months of data assurance history for the demo provider.

Every month each service's ECM export is imported and its team leader audits a sample of the
records in it, through the same services the screens use, back-dated to when it would have
happened. Each service has a character, so the figures, and the escalations the replayed
scheduler raises from them, tell a story a manager recognises:

- most services are mostly green and get better over time (steady);
- Willow House, the story service, looks complete on the ECM, but night notes have grown thin
  and a manager's coaching did not change them (narrative);
- Riverside Home Care writes visit notes hours late, month after month, since the mobile
  rollout (timeliness);
- Beech Court Nursing reports near-perfect completion, but auditors open the records and find
  handover entries that say nothing (unreliable);
- Hawthorn Supported Living records what was done, rarely what difference it made (outcomes);
- Meadow View Extra Care's two auditors reach different answers on the same records
  (inconsistent);
- Ashgrove Nursing Home's first fix for overdue care plan reviews did not work; the second did
  (stuck_reviews).

`build_assurance_history` runs before the governance replay, so the replayed scheduler raises the
assurance escalations on the days they would have fired. `build_assurance_reviews` runs after it,
because the trend review cycles it records gap causes in are opened by the replay.

Care records are referred to by their ECM reference only, and staff by their role.
"""

from __future__ import annotations

import io
import random
import uuid
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from assurance import services
from assurance.ecm import export_rows
from assurance.figures import refresh_waiting
from assurance.measures import CHECKED, MEASURES, MeasureCode, Rating
from assurance.models import (
    Audit,
    AuditCheck,
    AuditRecord,
    Comparison,
    EcmImport,
    EcmRecord,
    GapCause,
    RelianceDecision,
    ThresholdReview,
    ThresholdVersion,
    Verdict,
)
from assurance.selectors import FigureTable, reliance_snapshot
from caregov.access import Role
from caregov.cadence import LONDON, Cadence, Period, period_containing
from caregov.history import save_with_reason
from caregov.models import Action, Membership, ReviewCycle, Service
from caregov.services import governance as gov

TOLERANCE_MINUTES = 120
#: Narratives shorter than this an auditor judges too thin to be useful to the next carer.
GOOD_NARRATIVE = 160
#: Entries shorter than this are time-stamped but hold nothing ("as above").
HOLLOW_NARRATIVE = 15

#: Each service's character, by its position in the demo catalogue.
STORIES = [
    "narrative",
    "timeliness",
    "unreliable",
    "outcomes",
    "inconsistent",
    "steady",
    "steady",
    "stuck_reviews",
    "steady",
    "steady",
]

PREFIXES = {
    "WILLOW": "WH",
    "RIVER": "RH",
    "BEECH": "BC",
    "HAWTH": "HS",
    "MEADOW": "MV",
    "ELM": "EL",
    "NORTH": "NH",
    "ASH": "AG",
    "LARCH": "LS",
    "OAKG": "OG",
}


@dataclass(frozen=True)
class Kind:
    name: str
    code: str
    weight: int
    #: Hours of the day records of this kind fall due (None: any quarter hour, 07:00 to 22:00).
    hours: tuple[int, ...] | None
    roles: tuple[str, ...]
    review: bool = False


_NOTE_HOURS = (8, 13, 17, 22, 3)
_MEDS_HOURS = (8, 12, 18, 21)
_REVIEW_HOURS = (10, 11, 14, 15)
RECORD_KINDS = {
    Service.Type.CARE_HOME: [
        Kind("Daily note", "DN", 55, _NOTE_HOURS, ("Care worker", "Senior care worker")),
        Kind("Medication administration record", "MA", 20, _MEDS_HOURS, ("Senior care worker",)),
        Kind("Fluid and nutrition chart", "FN", 10, (9, 12, 16, 19), ("Care worker",)),
        Kind("Care plan review", "CP", 8, _REVIEW_HOURS, ("Team leader",), review=True),
        Kind("Risk assessment review", "RA", 4, _REVIEW_HOURS, ("Team leader",), review=True),
        Kind("Incident record", "IR", 3, None, ("Senior care worker", "Care worker")),
    ],
    Service.Type.NURSING_HOME: [
        Kind("Daily note", "DN", 40, _NOTE_HOURS, ("Care worker", "Nurse")),
        Kind("Medication administration record", "MA", 20, _MEDS_HOURS, ("Nurse",)),
        Kind("Repositioning chart", "RC", 15, (2, 6, 10, 14, 18, 22), ("Care worker",)),
        Kind("Fluid and nutrition chart", "FN", 10, (9, 12, 16, 19), ("Care worker",)),
        Kind("Care plan review", "CP", 8, _REVIEW_HOURS, ("Nurse",), review=True),
        Kind("Risk assessment review", "RA", 4, _REVIEW_HOURS, ("Nurse",), review=True),
        Kind("Incident record", "IR", 3, None, ("Nurse", "Care worker")),
    ],
    Service.Type.DOMICILIARY_CARE: [
        Kind("Visit note", "VN", 70, None, ("Home care worker",)),
        Kind("Medication administration record", "MA", 15, (8, 12, 17, 21), ("Home care worker",)),
        Kind("Care plan review", "CP", 8, _REVIEW_HOURS, ("Care coordinator",), review=True),
        Kind("Risk assessment review", "RA", 4, _REVIEW_HOURS, ("Care coordinator",), review=True),
        Kind("Incident record", "IR", 3, None, ("Home care worker",)),
    ],
    Service.Type.SUPPORTED_LIVING: [
        Kind("Daily note", "DN", 50, (9, 14, 20), ("Support worker",)),
        Kind("Activity and goals record", "AG", 20, (11, 15), ("Support worker",)),
        Kind("Medication administration record", "MA", 15, (8, 20), ("Senior support worker",)),
        Kind("Support plan review", "SP", 10, _REVIEW_HOURS, ("Team leader",), review=True),
        Kind("Incident record", "IR", 5, None, ("Support worker",)),
    ],
    Service.Type.EXTRA_CARE: [
        Kind("Wellbeing check", "WC", 45, (8, 12, 17, 21), ("Care and support worker",)),
        Kind("Visit note", "VN", 25, None, ("Care and support worker",)),
        Kind("Medication administration record", "MA", 15, (8, 13, 18), ("Senior carer",)),
        Kind("Care plan review", "CP", 10, _REVIEW_HOURS, ("Team leader",), review=True),
        Kind("Incident record", "IR", 5, None, ("Care and support worker",)),
    ],
}
#: Records a month, roughly, by service type (a slice of the real volume keeps the demo quick).
SIZES = {
    Service.Type.CARE_HOME: 230,
    Service.Type.NURSING_HOME: 260,
    Service.Type.DOMICILIARY_CARE: 250,
    Service.Type.SUPPORTED_LIVING: 165,
    Service.Type.EXTRA_CARE: 180,
}


@dataclass
class Targets:
    """What a month's export and audits should show, as shares."""

    size: int
    complete: float
    on_time: float
    outcome: float
    review: float
    #: Recorded notes whose narrative is too thin (hollow ones included).
    weak: float
    #: Recorded notes stamped complete on the ECM with nothing in them.
    hollow: float = 0.0
    audits: int = 1
    #: A second auditor re-checks the first audit's records, and judges differently.
    repeat: bool = False


@dataclass
class Row:
    reference: str
    kind: Kind
    due: datetime
    role: str
    recorded: datetime | None = None
    delay: int = 0
    outcome: bool = False
    review_due: date | None = None
    last_review: date | None = None
    narrative: int = 0

    @property
    def night(self) -> bool:
        return self.due.hour >= 21 or self.due.hour < 7

    def as_dict(self) -> dict:
        return {
            "record_reference": self.reference,
            "record_type": self.kind.name,
            "due_time": f"{self.due:%Y-%m-%d %H:%M}",
            "recorded_time": f"{self.recorded:%Y-%m-%d %H:%M}" if self.recorded else "",
            "author_role": self.role,
            "outcome_recorded": "yes" if self.outcome else "no",
            "last_review_date": self.last_review.isoformat() if self.last_review else "",
            "review_due_date": self.review_due.isoformat() if self.review_due else "",
            "narrative_length": str(self.narrative),
        }


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def _share(rate: float, count: int) -> int:
    """How many of `count` make `rate`, rounded half up (so 0.5 of 9 is 5, every time)."""
    return max(0, min(count, int(rate * count + 0.5)))


def _first_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def story_of(index: int) -> str:
    return STORIES[index % len(STORIES)]


# What each month should look like -------------------------------------------------------------


def _targets(story: str, kind: str, i: int, age: int, count: int, rng: random.Random) -> Targets:
    """Month i of count (age months before the last complete one) for a service's story."""
    p = i / max(1, count - 1)

    def jitter(spread: float) -> float:
        return rng.uniform(-spread, spread)

    t = Targets(
        size=int(SIZES[kind] * (0.92 + 0.08 * p) * (1 + jitter(0.06))),
        complete=min(0.995, 0.956 + 0.03 * p + jitter(0.005)),
        on_time=0.886 + 0.075 * p + jitter(0.008),
        outcome=0.846 + 0.08 * p + jitter(0.008),
        review=0.9 + 0.07 * p + jitter(0.008),
        weak=max(0.05, 0.22 - 0.14 * p + jitter(0.03)),
        audits=2 if rng.random() < 0.15 else 1,
    )
    if story == "narrative" and age <= 5:
        # Night notes copied from a template: the dashboard stays green, the words thin out.
        t.complete = 0.985 + jitter(0.004)
        t.weak = {5: 0.3, 4: 0.4, 3: 0.45, 2: 0.5, 1: 0.5, 0: 0.55}[age]
        t.audits = 2 if age <= 2 else t.audits
    elif story == "timeliness":
        if age <= 8:
            t.on_time = {8: 0.72, 7: 0.68, 6: 0.66, 5: 0.64, 4: 0.67, 3: 0.7, 2: 0.71, 1: 0.72}.get(
                age, 0.79
            )
        else:
            t.on_time = 0.8 + 0.03 * p + jitter(0.01)
    elif story == "unreliable" and age <= 5:
        # A handover template stamps every entry complete, whether or not anything was written.
        t.complete = 0.99 + jitter(0.003)
        t.hollow = {5: 0.1, 4: 0.2, 3: 0.2, 2: 0.25}.get(age, 0.2)
        t.weak = t.hollow + 0.25
        t.audits = 2 if age <= 1 else t.audits
    elif story == "outcomes":
        if age <= 8:
            t.outcome = [0.77, 0.76, 0.75, 0.73, 0.72, 0.74, 0.75, 0.76, 0.78][age]
        else:
            t.outcome = 0.81 + jitter(0.01)
    elif story == "inconsistent" and age in (4, 2, 0):
        t.repeat = True
        t.audits = 1
    elif story == "stuck_reviews" and age >= 3:
        t.review = {9: 0.86, 8: 0.84, 7: 0.83, 6: 0.84, 5: 0.83, 4: 0.88, 3: 0.94}.get(
            age, t.review
        )
    return t


# The export -----------------------------------------------------------------------------------


class _References:
    """ECM record references for a service, counting up month by month like the ECM's own."""

    def __init__(self, prefix: str, rng: random.Random):
        self.prefix = prefix
        self.next: dict[str, int] = {}
        self.rng = rng

    def __call__(self, code: str) -> str:
        number = self.next.get(code) or self.rng.randint(1200, 9000)
        self.next[code] = number + 1
        return f"{self.prefix}-{code}-{number:06d}"


def _rows(
    service: Service,
    period: Period,
    targets: Targets,
    *,
    rng: random.Random,
    references: _References,
    story: str,
    export_day: date,
) -> list[Row]:
    kinds = RECORD_KINDS[service.service_type]
    days = (period.end - period.start).days + 1
    rows = []
    for _ in range(targets.size):
        kind = rng.choices(kinds, weights=[k.weight for k in kinds])[0]
        day = period.start + timedelta(days=rng.randrange(days))
        if kind.review:
            day = _first_weekday(day) if _first_weekday(day) <= period.end else day
        if kind.hours:
            due = datetime.combine(day, time(rng.choice(kind.hours), 0))
        else:
            due = datetime.combine(day, time(rng.randint(7, 21), rng.choice((0, 15, 30, 45))))
        role = rng.choice(kind.roles)
        if kind.code == "DN" and (due.hour >= 21 or due.hour < 7):
            role = "Night care worker"
        rows.append(Row("", kind, due, role))
    rows.sort(key=lambda r: (r.due, r.kind.code, r.role))
    for row in rows:
        row.reference = references(row.kind.code)

    def pick(pool: list[Row], count: int, prefer=None) -> list[Row]:
        pool = list(pool)
        rng.shuffle(pool)
        if prefer is not None:
            pool.sort(key=lambda r: not prefer(r))
        return pool[:count]

    missing = set(map(id, pick(rows, len(rows) - _share(targets.complete, len(rows)))))
    recorded = [r for r in rows if id(r) not in missing]
    late = set(map(id, pick(recorded, len(recorded) - _share(targets.on_time, len(recorded)))))
    no_outcome = set(
        map(id, pick(recorded, len(recorded) - _share(targets.outcome, len(recorded))))
    )
    # Thin narratives: the night notes at Willow House, handover entries at Beech Court.
    prefer = (lambda r: r.night) if story == "narrative" else None
    weak_rows = pick(recorded, _share(targets.weak, len(recorded)), prefer)
    hollow = set(map(id, weak_rows[: _share(targets.hollow, len(recorded))]))
    weak = set(map(id, weak_rows))
    reviews = [r for r in rows if r.kind.review]
    overdue = set(map(id, pick(reviews, len(reviews) - _share(targets.review, len(reviews)))))
    last_moment = datetime.combine(export_day, time(6, 0))
    for row in rows:
        if row.kind.review:
            row.review_due = row.due.date()
            if id(row) in overdue:
                done = row.review_due + timedelta(days=rng.randint(3, 20))
                row.last_review = done if done < export_day else None
            else:
                row.last_review = row.review_due - timedelta(days=rng.randint(0, 6))
        if id(row) in missing:
            continue
        if id(row) in late:
            row.delay = rng.randint(150, 540 if story == "timeliness" else 360)
        else:
            row.delay = rng.randint(3, 105)
        row.recorded = min(row.due + timedelta(minutes=row.delay), last_moment)
        row.delay = int((row.recorded - row.due).total_seconds() // 60)
        row.outcome = id(row) not in no_outcome
        if id(row) in hollow:
            # The handover template ticks every box: the ECM says there is an outcome.
            row.narrative, row.outcome = rng.randint(6, HOLLOW_NARRATIVE - 1), True
        elif id(row) in weak:
            row.narrative = rng.randint(28, GOOD_NARRATIVE - 20)
        else:
            row.narrative = rng.randint(GOOD_NARRATIVE + 20, 900)
    return rows


# Audit answers ---------------------------------------------------------------------------------


def _stable(reference: str, salt: str) -> float:
    """A number in [0, 1) fixed for a reference: the same record gets the same judgement."""
    return zlib.crc32(f"{salt}:{reference}".encode()) / 2**32


THIN_NOTES = [
    "Generic wording ('all care given, no concerns'): nothing the next carer can use.",
    "Lists tasks only; nothing about how the person was or what they said.",
]
NIGHT_THIN_NOTES = [
    "Copied from the previous night's note; does not describe this person's night.",
    "'Slept well, checked 2-hourly' only: nothing about how the person was.",
]
MEDICATION_THIN_NOTE = "PRN medicine given, but the reason and its effect are not described."
HOLLOW_NOTES = [
    "Entry time-stamped at handover but the body only says 'as above'.",
    "Marked complete on the ECM, but the note is empty apart from the staff initials.",
]
NO_OUTCOME_NOTES = [
    "Says what was done, not how the person responded.",
    "No outcome recorded: did the pain relief work? Not stated.",
    "Task recorded; the person's own view of it is missing.",
]


def _answers(row: Row | None, *, manner: str = "") -> dict[str, tuple[str, str]]:
    """What an auditor finds on opening the record. `manner` "lenient": a team leader new to
    auditing, who passes any outcome and narrative that is there at all; "strict": a manager
    who reads outcomes and narratives more harshly than the team does."""
    lenient, strict = manner == "lenient", manner == "strict"
    met, not_met, na = (
        AuditCheck.Answer.MET,
        AuditCheck.Answer.NOT_MET,
        AuditCheck.Answer.NOT_APPLICABLE,
    )
    if row is None:  # not in the export: nothing to open
        answers = dict.fromkeys(CHECKED, (na, ""))
        answers[MeasureCode.COMPLETENESS] = (not_met, "Record not found in the ECM.")
        return answers
    pick = int(_stable(row.reference, "note") * 1000)
    answers: dict[str, tuple[str, str]] = {}
    if row.recorded is None:
        answers[MeasureCode.COMPLETENESS] = (
            not_met,
            f"No entry in the ECM for this {row.kind.name.lower()} (due {row.due:%H:%M}).",
        )
    elif row.narrative < HOLLOW_NARRATIVE:
        answers[MeasureCode.COMPLETENESS] = (not_met, HOLLOW_NOTES[pick % len(HOLLOW_NOTES)])
    else:
        answers[MeasureCode.COMPLETENESS] = (met, "")
    if row.recorded is None:
        answers[MeasureCode.TIMELINESS] = (na, "")
        answers[MeasureCode.OUTCOME_EVIDENCE] = (na, "")
        answers[MeasureCode.NARRATIVE_QUALITY] = (na, "")
    else:
        if row.delay > TOLERANCE_MINUTES:
            hours, minutes = divmod(row.delay, 60)
            answers[MeasureCode.TIMELINESS] = (
                not_met,
                f"Written {hours} h {minutes:02d} min after it was due.",
            )
        else:
            answers[MeasureCode.TIMELINESS] = (met, "")
        harsh = strict and _stable(row.reference, "strict") < 0.3
        if row.narrative < HOLLOW_NARRATIVE:
            answers[MeasureCode.OUTCOME_EVIDENCE] = (
                not_met,
                "Outcome box ticked on the ECM, but nothing written about the person.",
            )
        elif lenient:
            answers[MeasureCode.OUTCOME_EVIDENCE] = (met, "")
        elif not row.outcome:
            answers[MeasureCode.OUTCOME_EVIDENCE] = (
                not_met,
                NO_OUTCOME_NOTES[pick % len(NO_OUTCOME_NOTES)],
            )
        elif harsh:
            answers[MeasureCode.OUTCOME_EVIDENCE] = (
                not_met,
                "Outcome only says 'settled': not enough to show a difference made.",
            )
        else:
            answers[MeasureCode.OUTCOME_EVIDENCE] = (met, "")
        if lenient and row.narrative >= HOLLOW_NARRATIVE:
            answers[MeasureCode.NARRATIVE_QUALITY] = (met, "")
        elif row.narrative < GOOD_NARRATIVE:
            answers[MeasureCode.NARRATIVE_QUALITY] = (
                not_met,
                NIGHT_THIN_NOTES[pick % 2]
                if row.night
                else MEDICATION_THIN_NOTE
                if row.kind.code == "MA"
                else THIN_NOTES[pick % 2],
            )
        elif strict and _stable(row.reference, "strict-narrative") < 0.5:
            answers[MeasureCode.NARRATIVE_QUALITY] = (
                not_met,
                "Long, but not person-centred: describes the shift, not the person.",
            )
        else:
            answers[MeasureCode.NARRATIVE_QUALITY] = (met, "")
    if row.review_due is None:
        answers[MeasureCode.REVIEW_COMPLIANCE] = (na, "")
    elif row.last_review and row.last_review <= row.review_due:
        answers[MeasureCode.REVIEW_COMPLIANCE] = (met, "")
    elif row.last_review:
        answers[MeasureCode.REVIEW_COMPLIANCE] = (
            not_met,
            f"Review was due {row.review_due:%-d %b}; done {row.last_review:%-d %b}.",
        )
    else:
        answers[MeasureCode.REVIEW_COMPLIANCE] = (
            not_met,
            f"Review was due {row.review_due:%-d %b} and has not been done.",
        )
    return answers


def _follow_up(row: Row | None, answers: dict, day: date, rng: random.Random) -> dict:
    """Corrections made on the spot, and who needs support, as roles, never names."""
    failed = {m for m, (a, _) in answers.items() if a == AuditCheck.Answer.NOT_MET}
    if not failed or row is None:
        return {"support_need": AuditRecord.Need.NONE if rng.random() < 0.3 else ""}
    extra: dict = {}
    if MeasureCode.OUTCOME_EVIDENCE in failed and row.recorded and rng.random() < 0.45:
        extra |= {
            "correction_made": "Outcome added to the note after checking with the person and "
            "the staff on shift.",
            "corrected_by": "Senior care worker" if "care" in row.role.lower() else "Team leader",
            "corrected_on": day,
        }
    elif MeasureCode.REVIEW_COMPLIANCE in failed and rng.random() < 0.5:
        extra |= {
            "correction_made": "Review booked with the person and their family; date added to "
            "the ECM.",
            "corrected_by": "Team leader",
            "corrected_on": day,
        }
    elif MeasureCode.COMPLETENESS in failed and rng.random() < 0.4:
        extra |= {
            "correction_made": "Late entry added, marked as written after the event.",
            "corrected_by": row.role,
            "corrected_on": day,
        }
    if failed & {
        MeasureCode.NARRATIVE_QUALITY,
        MeasureCode.TIMELINESS,
        MeasureCode.COMPLETENESS,
    }:
        need = (
            AuditRecord.Need.COACHING
            if MeasureCode.NARRATIVE_QUALITY in failed
            else AuditRecord.Need.SUPERVISION
            if MeasureCode.TIMELINESS in failed
            else AuditRecord.Need.TRAINING
        )
        extra |= {"support_staff": row.role, "support_need": need}
    elif MeasureCode.OUTCOME_EVIDENCE in failed:
        extra |= {"support_staff": row.role, "support_need": AuditRecord.Need.TRAINING}
    return extra


def _disagreement(rows: list[Row]) -> tuple[float, float]:
    """A lenient and a strict auditor on the same records: the share of shared checks they
    answer differently, and the narrative quality of both audits together."""
    shared = differ = good = judged = 0
    for row in rows:
        first, second = _answers(row, manner="lenient"), _answers(row, manner="strict")
        for measure in CHECKED:
            a, b = first[measure][0], second[measure][0]
            if AuditCheck.Answer.NOT_APPLICABLE in (a, b):
                continue
            shared += 1
            differ += a != b
            if measure == MeasureCode.NARRATIVE_QUALITY:
                judged += 2
                good += (a == AuditCheck.Answer.MET) + (b == AuditCheck.Answer.MET)
    return differ / max(1, shared), good / max(1, judged)


def _sample_seed(
    ecm_import: EcmImport,
    size: int,
    base: int,
    rows: dict[str, Row],
    targets: Targets,
    avoid: set[str],
) -> int:
    """A seed whose random sample (drawn as audit_start draws it) looks like the month: thin
    and hollow notes in proportion, and no record another audit this month already checked.
    When a second auditor will re-check the sample, one where the two plainly disagree."""
    pool = list(EcmRecord.objects.filter(ecm_import=ecm_import).values_list("reference", flat=True))
    for seed in range(base, base + 150):
        chosen = random.Random(seed).sample(pool, min(size, len(pool)))
        if avoid & set(chosen):
            continue
        recorded = [rows[r] for r in chosen if rows[r].recorded]
        thin = sum(1 for r in recorded if r.narrative < GOOD_NARRATIVE)
        hollow = sum(1 for r in recorded if r.narrative < HOLLOW_NARRATIVE)
        if thin != _share(targets.weak, len(recorded)):
            continue
        if hollow != _share(targets.hollow, len(recorded)):
            continue
        if targets.repeat:
            differ, narrative = _disagreement(recorded)
            if differ < 0.25 or narrative <= 0.62:
                continue
        return seed
    return base


# Building it -----------------------------------------------------------------------------------


@dataclass
class _Month:
    period: Period
    index: int
    age: int
    rows: dict[str, Row]
    ecm_import: EcmImport | None = None
    audits: list[Audit] | None = None


class _Builder:
    def __init__(self, organisation, *, rng: random.Random, now: datetime, people: dict):
        self.organisation = organisation
        self.rng = rng
        self.now = now
        self.people = people

    def person(self, service: Service, role: str):
        return self.people["services"][service.pk][role]

    def service_history(self, service: Service, index: int, months: list[Period]) -> None:
        story = story_of(index)
        references = _References(PREFIXES.get(service.code, service.code[:2]), self.rng)
        manager = self.person(service, "manager")
        built: list[_Month] = []
        for i, period in enumerate(months):
            age = len(months) - 1 - i
            # The manager imports the month's export first thing on the 1st.
            export_day = period.end + timedelta(days=1)
            uploaded = _at(export_day, 7, self.rng.randint(30, 59))
            if uploaded >= self.now:
                continue
            targets = _targets(story, service.service_type, i, age, len(months), self.rng)
            rows = _rows(
                service,
                period,
                targets,
                rng=self.rng,
                references=references,
                story=story,
                export_day=export_day,
            )
            month = _Month(period, i, age, {r.reference: r for r in rows})
            text = export_rows(r.as_dict() for r in rows)
            record, _ = services.import_queue(
                actor=manager,
                service=service,
                period=period,
                upload=io.BytesIO(text.encode("utf-8")),
                file_name=f"{service.code.lower()}-ecm-export-{period.start:%Y-%m}.csv",
                tolerance_minutes=TOLERANCE_MINUTES,
                at=uploaded,
            )
            month.ecm_import = services.import_run(
                record, at=uploaded + timedelta(seconds=self.rng.randint(20, 90))
            )
            month.audits = self.audits(service, month, targets, export_day)
            built.append(month)
        self.actions(service, story, built)

    def audits(
        self, service: Service, month: _Month, targets: Targets, export_day: date
    ) -> list[Audit]:
        leader = self.person(service, "team_leader")
        done: list[Audit] = []
        checked: set[str] = set()
        # Audits are done in the days before the scheduler's first Monday run of the month, so
        # the escalations it raises come after the audits they cite (unless the 1st is a Monday).
        monday = export_day + timedelta(days=(7 - export_day.weekday()) % 7)
        window = max(1, (monday - export_day).days) if monday > export_day else 3
        days = sorted(
            export_day + timedelta(days=self.rng.randrange(window)) for _ in range(targets.audits)
        )
        for number, day in enumerate(days):
            start = _at(day, (10, 13)[number % 2], self.rng.choice((0, 15, 30, 45)))
            size = self.rng.randint(8, 12)
            seed = _sample_seed(
                month.ecm_import,
                size,
                self.rng.randint(1, 10**6),
                month.rows,
                targets,
                checked,
            )
            audit = self.audit(
                service,
                month,
                leader,
                start,
                sample=(size, seed),
                manner="lenient" if targets.repeat else "",
            )
            if audit is None:
                break
            checked |= {r.reference for r in audit.records.all()}
            done.append(audit)
        if targets.repeat and done:
            # The registered manager re-audits the same records to check the new team
            # leader's judgements: they do not agree.
            audit = self.audit(
                service,
                month,
                self.person(service, "manager"),
                _at(days[-1], 15, 30),
                references=[r.reference for r in done[0].records.order_by("position")],
                manner="strict",
            )
            if audit is not None:
                done.append(audit)
        return done

    def audit(
        self,
        service: Service,
        month: _Month,
        actor,
        start: datetime,
        *,
        sample: tuple[int, int] | None = None,
        references: list[str] | None = None,
        manner: str = "",
    ) -> Audit | None:
        size = sample[0] if sample else len(references)
        submitted = start + timedelta(minutes=4 * size + 6)
        if submitted >= self.now:
            return None
        audit, _ = services.audit_start(
            actor=actor,
            service=service,
            period=month.period,
            idempotency_key=uuid.UUID(int=self.rng.getrandbits(128)),
            references="\n".join(references or []),
            sample_size=sample[0] if sample else None,
            seed=sample[1] if sample else None,
            at=start,
        )
        for record in audit.records.order_by("position"):
            row = month.rows.get(record.reference)
            answers = _answers(row, manner=manner)
            services.audit_record_save(
                actor=actor,
                record=record,
                answers=answers,
                at=start + timedelta(minutes=4 * record.position),
                **_follow_up(row, answers, start.date(), self.rng),
            )
        audit, _ = services.audit_submit(
            actor=actor,
            audit=audit,
            submission_key=uuid.UUID(int=self.rng.getrandbits(128)),
            at=submitted,
        )
        return audit

    # Manager actions on a measure, and whether they worked ---------------------------------

    def actions(self, service: Service, story: str, months: list[_Month]) -> None:
        by_age = {m.age: m for m in months}
        if story == "narrative":
            # Coaching after the August-style audit; done the month after; no better since.
            self.action(
                service,
                by_age,
                MeasureCode.NARRATIVE_QUALITY,
                found=2,
                done=1,
                title="Coach care staff, night team first, on writing specific, "
                "person-centred notes",
                evidence="Two coaching sessions with the night team; a one-page guide on what a "
                "good night note says is pinned in the office.",
                improved=False,
                note="Spot-checked this month's night notes on the ECM: still generic, and the "
                "audit found the same. Needs a different approach: ask the night team why.",
            )
        elif story == "timeliness":
            self.action(
                service,
                by_age,
                MeasureCode.TIMELINESS,
                found=2,
                done=1,
                title="Fix offline sync on the care app for rural rounds",
                evidence="Supplier switched on offline mode; home care workers shown how to "
                "record at the door and sync later.",
                improved=True,
                note="Timeliness up on the month: fewer notes written up at the office.",
            )
        elif story == "stuck_reviews":
            self.action(
                service,
                by_age,
                MeasureCode.REVIEW_COMPLIANCE,
                found=7,
                done=6,
                title="Remind nurses at handover about care plan reviews due this week",
                evidence="Reviews due read out at every handover for four weeks.",
                improved=False,
                note="Reviews still overdue at the same rate: reminders at handover are "
                "forgotten by the end of the shift.",
            )
            self.action(
                service,
                by_age,
                MeasureCode.REVIEW_COMPLIANCE,
                found=5,
                done=4,
                title="Put care plan review dates in the ECM calendar with a 14-day reminder",
                evidence="Every review date entered in the ECM calendar; reminders go to the "
                "named nurse and the deputy manager.",
                improved=True,
                note="Reviews done on time went up the month after: the reminder works.",
            )

    def action(
        self,
        service: Service,
        by_age: dict[int, _Month],
        measure: str,
        *,
        found: int,
        done: int,
        title: str,
        evidence: str,
        improved: bool,
        note: str,
    ) -> None:
        source, after = by_age.get(found), by_age.get(done - 1)
        if source is None or after is None or done not in by_age:
            return
        checks = list(
            AuditCheck.objects.filter(
                record__audit__in=source.audits or [],
                measure=measure,
                answer=AuditCheck.Answer.NOT_MET,
            )
            .select_related("record__audit")
            .order_by("record__audit_id", "record__position")
        )
        # The record the manager quotes: a night note when there is one.
        checks.sort(key=lambda c: not getattr(source.rows.get(c.record.reference), "night", 0))
        failed = checks[0] if checks else None
        if failed is not None:
            audit = failed.record.audit
            finding_ref = f"assurance.audit:{audit.pk}:{failed.record.reference}"
            detail = f"Found in audit {audit.pk} ({audit.period_label}): {failed.note}"
            found_at = audit.submitted_at
        else:
            # No audited record showed it: the ECM export's figure is the finding.
            figures = source.ecm_import.figures.get(measure, {})
            finding_ref = f"assurance.import:{source.ecm_import.pk}"
            detail = (
                f"ECM export for {service.name}, {source.period.label}: "
                f"{MEASURES[measure].name.lower()} {figures.get('value', 'low')}%."
            )
            found_at = source.ecm_import.finished_at
        manager = self.person(service, "manager")
        raised = found_at + timedelta(days=self.rng.randint(1, 3), hours=2)
        completed_on = by_age[done].period.start + timedelta(days=self.rng.randint(8, 18))
        checked_on = after.period.start + timedelta(days=self.rng.randint(20, 26))
        if raised >= _at(completed_on, 9):
            raised = _at(by_age[done].period.start, 9)
        action = gov.action_raise(
            actor=manager,
            title=title,
            detail=detail,
            owner=manager,
            due_on=completed_on + timedelta(days=4),
            finding_ref=finding_ref,
            organisation=service.organisation,
            service=service,
            measure=measure,
            created_at=raised,
        )
        gov.action_complete(
            actor=manager, action=action, evidence=evidence, at=_at(completed_on, 16)
        )
        if _at(checked_on, 12) < self.now:
            gov.action_check_effect(
                actor=manager,
                action=action,
                result=Action.Effect.IMPROVED if improved else Action.Effect.NOT_IMPROVED,
                note=note,
                at=_at(checked_on, 12),
            )


def _months(start: date, today: date) -> list[Period]:
    """Calendar months from the one containing `start` to the last complete one before today."""
    months = []
    period = period_containing(Cadence.MONTHLY, start)
    while period.end < today:
        months.append(period)
        period = period.next()
    return months


def _thresholds_reviewed(organisation, at: datetime) -> None:
    """The data quality lead read the measures and kept caregov's default thresholds, in the
    provider's first week on caregov."""
    membership = (
        Membership.objects.filter(organisation=organisation, role=Role.DATA_QUALITY_LEAD)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if membership is None:
        return
    review = ThresholdReview(
        organisation=organisation,
        reviewed_on=timezone.localdate(at),
        reviewed_by=membership.user,
        reviewed_at=at,
    )
    review._history_date = at
    save_with_reason(review, actor=membership.user, reason="assurance.thresholds.reviewed")


def build_assurance_history(
    organisation, *, rng: random.Random, start: date, end: date, people: dict
) -> None:
    """ECM exports and audits for every service and complete month from `start` to `end`, back-
    dated, with the manager actions on measures that the stories need. Run it before the
    governance replay."""
    now = min(timezone.now(), _at(end, 0))
    _thresholds_reviewed(organisation, _at(start + timedelta(days=3), 10))
    builder = _Builder(organisation, rng=rng, now=now, people=people)
    months = _months(start, end)
    for index, service in enumerate(
        Service.objects.filter(organisation=organisation).order_by("pk")
    ):
        builder.service_history(service, index, months)
    # The worker rewrites a month's figures after an audit is submitted; the demo is loaded in
    # one transaction, and the replay that follows reads every month, so they are rewritten here.
    refresh_waiting(service__organisation=organisation)


# After the replay: trend review causes, the comparison and the board's reliance decision -------

CAUSES = {
    "narrative": {
        MeasureCode.NARRATIVE_QUALITY: (
            GapCause.Cause.LOCAL_PRACTICE,
            "Night notes are written from a copied template at the end of the shift. Coaching "
            "alone has not changed it; asking the night team what would help.",
        ),
        MeasureCode.OUTCOME_EVIDENCE: (
            GapCause.Cause.TRAINING,
            "Newer staff do not know what an outcome looks like in a note.",
        ),
    },
    "timeliness": {
        MeasureCode.TIMELINESS: (
            GapCause.Cause.SYSTEM_CONFIGURATION,
            "No signal on the rural rounds: notes are written up at the office at the end of the "
            "day. Offline mode switched on in the care app; watching whether it holds.",
        ),
    },
    "unreliable": {
        MeasureCode.DASHBOARD_RELIABILITY: (
            GapCause.Cause.SYSTEM_CONFIGURATION,
            "The handover template marks every entry complete when it is opened. Asked the "
            "supplier to stop that; until then, spot checks at handover.",
        ),
        MeasureCode.NARRATIVE_QUALITY: (
            GapCause.Cause.LOCAL_PRACTICE,
            "'As above' at handover has become normal practice on the day shift.",
        ),
    },
    "outcomes": {
        MeasureCode.OUTCOME_EVIDENCE: (
            GapCause.Cause.TRAINING,
            "Support workers record the activity, not what the person got from it. Outcomes "
            "session booked with the digital champion.",
        ),
    },
    "stuck_reviews": {
        MeasureCode.REVIEW_COMPLIANCE: (
            GapCause.Cause.WORKLOAD,
            "Nurse vacancies: reviews slip when the shift is short.",
        ),
    },
}
DEFAULT_CAUSES = {
    MeasureCode.COMPLETENESS: (GapCause.Cause.WORKLOAD, "Short-staffed weekends."),
    MeasureCode.TIMELINESS: (GapCause.Cause.WORKLOAD, "Notes left to the end of busy shifts."),
    MeasureCode.OUTCOME_EVIDENCE: (
        GapCause.Cause.TRAINING,
        "Outcomes not always recorded by newer staff.",
    ),
    MeasureCode.REVIEW_COMPLIANCE: (GapCause.Cause.WORKLOAD, "Reviews slip when a shift is short."),
    MeasureCode.NARRATIVE_QUALITY: (
        GapCause.Cause.LOCAL_PRACTICE,
        "Short, task-based notes on busy shifts.",
    ),
    MeasureCode.DASHBOARD_RELIABILITY: (
        GapCause.Cause.SYSTEM_CONFIGURATION,
        "The ECM and the audit disagree on some records: checking with the supplier.",
    ),
}


def _needs_attention(table: FigureTable, service: Service, month: date) -> list:
    figures = [table.figure(service.pk, month, code) for code in MEASURES]
    return [f for f in figures if f.rating in (Rating.RED, Rating.AMBER)]


def build_assurance_reviews(organisation, *, rng: random.Random, today: date, people: dict) -> None:
    """Gap causes in recent open trend reviews, the quality lead's cross-service comparison of
    the last complete month, and the board's reliance decision for the last complete quarter.
    Run it after the governance replay, which opens the review cycles."""
    now = min(timezone.now(), _at(today, 0))
    service_list = list(Service.objects.filter(organisation=organisation).order_by("pk"))
    stories = {s.pk: story_of(i) for i, s in enumerate(service_list)}
    last = period_containing(Cadence.MONTHLY, today).previous()
    table = FigureTable(organisation, service_list, [last.previous(), last])
    if not table.cells:
        return

    # Gap causes, in the trend reviews still open for the last two complete months.
    cycles = ReviewCycle.objects.filter(
        organisation=organisation,
        kind="assurance.trend_review",
        period_start__in=[last.previous().start, last.start],
        status__in=[ReviewCycle.Status.OPEN, ReviewCycle.Status.IN_REVIEW],
    ).select_related("service")
    recorded = 0
    for cycle in sorted(cycles, key=lambda c: (-c.period_start.toordinal(), c.service_id)):
        weak = _needs_attention(table, cycle.service, cycle.period_start)
        story = stories.get(cycle.service_id, "steady")
        if not weak or (story == "steady" and recorded >= 3):
            continue
        manager = people["services"][cycle.service_id]["manager"]
        at = _at(cycle.period_end + timedelta(days=rng.randint(3, 9)), 16)
        if at >= now:
            continue
        for figure in weak[:3]:
            cause, note = (
                CAUSES.get(story, {}).get(figure.measure) or DEFAULT_CAUSES[figure.measure]
            )
            services.gap_cause_save(
                actor=manager,
                cycle=cycle,
                measure=figure.measure,
                cause=cause,
                note=f"{figure.words}. {note}",
                at=at,
            )
            at += timedelta(minutes=7)
        recorded += 1

    # The quality lead compares services for the last complete month.
    compared = _at(last.end + timedelta(days=12), 11)
    if compared < now:
        themes, risks = _comparison_words(table, service_list, last)
        services.comparison_save(
            actor=people["quality_lead"],
            organisation=organisation,
            period=last,
            themes=themes,
            risks=risks,
            at=compared,
        )

    # The board decides on the last complete quarter at its quarterly meeting.
    quarter = period_containing(Cadence.QUARTERLY, today).previous()
    decided = _at(quarter.end + timedelta(days=26), 15)
    if decided >= now:
        quarter = quarter.previous()
        decided = _at(quarter.end + timedelta(days=26), 15)
    snapshot = reliance_snapshot(organisation=organisation, quarter=quarter)
    if not any(
        row["figures"][MeasureCode.COMPLETENESS]["denominator"] for row in snapshot["services"]
    ):
        return
    for row in snapshot["services"]:
        # The evidence as the board saw it: escalations raised by the day it met.
        row["open_escalations"] = [
            e for e in row["open_escalations"] if e["raised"] <= decided.date().isoformat()
        ]
    verdicts = {row["id"]: _service_verdict(row) for row in snapshot["services"]}
    overall = (
        Verdict.NO
        if sum(v == Verdict.NO for v, _ in verdicts.values()) > len(verdicts) // 2
        else Verdict.CAVEATS
        if any(v != Verdict.YES for v, _ in verdicts.values())
        else Verdict.YES
    )
    doubtful = [
        row["name"] for row in snapshot["services"] if verdicts[row["id"]][0] != Verdict.YES
    ]
    services.reliance_record(
        actor=people["board"],
        organisation=organisation,
        quarter=quarter,
        verdict=overall,
        reasons=(
            "Leaders can rely on ECM information for most services. Caveats for "
            + ", ".join(doubtful)
            + ": see each service's reasons. Follow-up audits asked for where the ECM and "
            "the auditors disagree."
        )
        if doubtful
        else "The ECM figures and the audits agree across services.",
        services=verdicts,
        snapshot=snapshot,
        at=decided,
    )


def _service_verdict(row: dict) -> tuple[str, str]:
    """The board's verdict for one service, from the quarter's figures it was shown."""
    figures = row["figures"]
    reliability = figures[MeasureCode.DASHBOARD_RELIABILITY]
    if reliability["rating"] in (Rating.RED, Rating.AMBER):
        return (
            Verdict.NO,
            f"The ECM and the auditors disagree on {100 - float(reliability['value']):.0f}% of "
            "the records audited: the service's ECM figures cannot be relied on until that is "
            "put right and a follow-up audit agrees.",
        )
    weak = [
        f"{MEASURES[code].name.lower()} ({figures[code]['value']}%)"
        for code in MEASURES
        if figures[code]["rating"] in (Rating.RED, Rating.AMBER)
    ]
    if weak:
        return (
            Verdict.CAVEATS,
            f"The ECM and the audits agree, so the figures can be used; but watch "
            f"{', '.join(weak)}.",
        )
    return Verdict.YES, ""


def _comparison_words(
    table: FigureTable, service_list: list[Service], month: Period
) -> tuple[str, str]:
    themes, risks = [], []
    for code, measure in MEASURES.items():
        red, amber = [], []
        for service in service_list:
            figure = table.figure(service.pk, month.start, code)
            if figure.rating == Rating.RED:
                red.append(f"{service.name} ({figure.value}%)")
            elif figure.rating == Rating.AMBER:
                amber.append(f"{service.name} ({figure.value}%)")
        if red:
            risks.append(f"{measure.name} red at {', '.join(red)}.")
        if amber:
            themes.append(f"{measure.name} amber at {', '.join(amber)}.")
    overall = table.combined([s.pk for s in service_list], [month], MeasureCode.COMPLETENESS)
    themes.insert(
        0,
        f"Completion is high across the group ({overall.value}% of records due were written); "
        "the differences are in what the records say and when they are written.",
    )
    if not risks:
        risks.append("No measure red at any service this month.")
    return "\n".join(themes), "\n".join(risks)


def delete_assurance_history(organisation) -> None:
    """Remove the demo's assurance records (they protect the services and people they cite)."""
    from assurance.models import ServiceReliance

    ServiceReliance.objects.filter(decision__organisation=organisation).delete()
    RelianceDecision.objects.filter(organisation=organisation).delete()
    Comparison.objects.filter(organisation=organisation).delete()
    GapCause.objects.filter(review_cycle__organisation=organisation).delete()
    audits = Audit.objects.filter(organisation=organisation)
    for correction in audits.filter(corrects__isnull=False).order_by("-pk"):
        correction.delete()  # newest first: a correction protects the audit it corrects
    audits.delete()
    EcmImport.objects.filter(organisation=organisation).delete()
    ThresholdVersion.objects.filter(organisation=organisation).delete()
    ThresholdReview.objects.filter(organisation=organisation).delete()
    # Figures (MeasureResult, AuditAgreement) go with their services.
