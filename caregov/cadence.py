"""Calendar periods in Europe/London: weeks Monday to Sunday, fortnights, months and quarters.

A period is a run of whole local days. Its boundaries are local midnights, so a clock change
inside a period changes its length in hours, never which days it holds. Never crontab arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import models

LONDON = ZoneInfo("Europe/London")
#: Fortnights are counted from this Monday, so every fortnight starts on a Monday.
FORTNIGHT_ANCHOR = date(2024, 1, 1)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class Cadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    FORTNIGHTLY = "fortnightly", "Fortnightly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


def _short(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


@dataclass(frozen=True, order=True)
class Period:
    cadence: str
    start: date
    end: date  # the last day, inclusive

    @property
    def key(self) -> str:
        return f"{self.cadence}:{self.start.isoformat()}"

    @property
    def label(self) -> str:
        if self.cadence == Cadence.MONTHLY:
            return self.start.strftime("%B %Y")
        if self.cadence == Cadence.QUARTERLY:
            q = (self.start.month - 1) // 3 + 1
            return f"Q{q} {self.start.year} ({MONTHS[self.start.month - 1]} to {MONTHS[self.end.month - 1]})"
        if self.cadence == Cadence.WEEKLY:
            return f"Week of {_short(self.start)}"
        return f"Fortnight {_short(self.start)} to {_short(self.end)}"

    @property
    def starts_at(self) -> datetime:
        """The local midnight that opens the period, as an aware datetime."""
        return datetime.combine(self.start, time.min, tzinfo=LONDON)

    @property
    def ends_at(self) -> datetime:
        """The local midnight that closes the period (exclusive)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=LONDON)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def next(self) -> Period:
        return period_containing(self.cadence, self.end + timedelta(days=1))

    def previous(self) -> Period:
        return period_containing(self.cadence, self.start - timedelta(days=1))

    def __str__(self) -> str:
        return self.label


def local_date(moment: datetime) -> date:
    """The Europe/London calendar day of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("A moment must be timezone-aware to know its London date.")
    return moment.astimezone(LONDON).date()


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def period_containing(cadence: str, day: date) -> Period:
    if cadence == Cadence.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return Period(cadence, start, start + timedelta(days=6))
    if cadence == Cadence.FORTNIGHTLY:
        monday = day - timedelta(days=day.weekday())
        offset = ((monday - FORTNIGHT_ANCHOR).days // 7) % 2
        start = monday - timedelta(days=7 * offset)
        return Period(cadence, start, start + timedelta(days=13))
    if cadence == Cadence.MONTHLY:
        return Period(cadence, day.replace(day=1), _month_end(day.year, day.month))
    if cadence == Cadence.QUARTERLY:
        first_month = 3 * ((day.month - 1) // 3) + 1
        return Period(
            cadence, date(day.year, first_month, 1), _month_end(day.year, first_month + 2)
        )
    raise ValueError(f"Unknown cadence {cadence!r}")


def period_at(cadence: str, moment: datetime) -> Period:
    return period_containing(cadence, local_date(moment))


def period_from_key(key: str) -> Period:
    cadence, _, start = key.partition(":")
    period = period_containing(cadence, date.fromisoformat(start))
    if period.start.isoformat() != start:
        raise ValueError(f"{start} does not start a {cadence} period")
    return period


def quarter_key(period: Period) -> str:
    """The third quarter of 2026 as '2026-Q3' (what parse_quarter reads)."""
    return f"{period.start.year}-Q{(period.start.month - 1) // 3 + 1}"


def parse_quarter(text: str) -> Period:
    """'2026-Q3' to the third quarter of 2026."""
    year, _, quarter = text.upper().partition("-Q")
    q = int(quarter)
    if not 1 <= q <= 4:
        raise ValueError("A quarter is Q1 to Q4")
    return period_containing(Cadence.QUARTERLY, date(int(year), 3 * q - 2, 1))


def parse_month(text: str) -> Period:
    """'2026-10' to October 2026."""
    year, _, month = text.partition("-")
    return period_containing(Cadence.MONTHLY, date(int(year), int(month), 1))


def uk_time(naive: datetime) -> datetime:
    """A time written without an offset, read as UK time. caregov has one reading everywhere
    (the scheduler's --at, ECM exports, forms), the one PostgreSQL uses: a time the clocks pass
    twice (01:30 on the October change) is the second, GMT one; a time they skip (01:30 on the
    March change) is read with the offset before the change, so it is 02:30 BST."""
    first = naive.replace(tzinfo=LONDON)
    second = naive.replace(tzinfo=LONDON, fold=1)
    if first.utcoffset() > second.utcoffset():  # passed twice: summer time, then GMT
        return second
    return first


def parse_moment(text: str) -> datetime:
    """An ISO moment; without an offset it is UK time, read as `uk_time` reads it."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else uk_time(moment)
