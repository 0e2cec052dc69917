"""Reading an ECM export: check every row, load the good file in one transaction, or nothing.

The file is read as a stream of lines, so memory does not grow with its length. Each row is
checked as it is read; while the file is still clean its rows go straight to the database (COPY on
PostgreSQL, batched inserts elsewhere). After the first problem nothing more is written, the rest
of the file is still checked so that every problem is reported, and the transaction is rolled back.
Duplicate references are found by the database once the rows are in, so no reference set is held
in memory. The format is described in docs/ecm-export.md.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connection

from assurance.models import EcmRecord
from caregov.cadence import LONDON, Period

COLUMNS = [
    "record_reference",
    "record_type",
    "due_time",
    "recorded_time",
    "author_role",
    "outcome_recorded",
    "last_review_date",
    "review_due_date",
    "narrative_length",
]
#: Cells starting with these run as formulas when the file is opened in a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@")
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
MAX_PROBLEMS_KEPT = 1000
BATCH = 5000


@dataclass
class Problem:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Outcome:
    rows_read: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    period: Period | None = None

    def add(self, row: int, column: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(Problem(row, column, message))

    @property
    def clean(self) -> bool:
        return self.problem_count == 0


def _lines(stream: Iterable[bytes], outcome: Outcome, progress: Callable[[int, int], None]):
    """Decode each physical line on its own, so a wrong encoding is reported with its row."""
    read = 0
    for number, raw in enumerate(stream, start=1):
        read += len(raw)
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            outcome.add(
                number,
                "",
                f"Row {number} is not UTF-8 text (byte {error.start + 1} cannot be read). "
                "Export the file again as CSV UTF-8.",
            )
            text = raw.decode("utf-8", errors="replace")
        if number % BATCH == 0:
            progress(read, outcome.rows_read)
        yield text
    progress(read, outcome.rows_read)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(UTC)


class RowChecker:
    """Turns one CSV row into database values, noting every problem with its row number."""

    def __init__(self, header: list[str], outcome: Outcome, period: Period | None):
        self.index = {name: header.index(name) for name in COLUMNS}
        self.width = len(header)
        self.outcome = outcome
        self.period = period

    def check(self, row_number: int, cells: list[str]) -> tuple | None:
        add = self.outcome.add
        if len(cells) != self.width:
            add(
                row_number,
                "",
                f"Row {row_number} has {len(cells)} cells; every row needs {self.width}.",
            )
            return None
        problems_before = self.outcome.problem_count
        for name, i in self.index.items():
            if cells[i].startswith(FORMULA_STARTS):
                add(
                    row_number,
                    name,
                    f"{name} starts with '{cells[i][0]}', which a spreadsheet would run as a "
                    "formula. Remove it.",
                )
        if self.outcome.problem_count > problems_before:
            return None
        get = {name: cells[i].strip() for name, i in self.index.items()}

        reference = get["record_reference"]
        if not reference:
            add(row_number, "record_reference", "record_reference is empty.")
        elif len(reference) > 64:
            add(row_number, "record_reference", "record_reference is longer than 64 characters.")
        record_type = get["record_type"]
        if not record_type:
            add(row_number, "record_type", "record_type is empty.")
        elif len(record_type) > 60:
            add(row_number, "record_type", "record_type is longer than 60 characters.")
        author_role = get["author_role"]
        if len(author_role) > 60:
            add(row_number, "author_role", "author_role is longer than 60 characters.")

        due_at = self._moment(row_number, "due_time", get["due_time"], required=True)
        recorded_at = self._moment(row_number, "recorded_time", get["recorded_time"])
        if due_at is not None:
            due_day = due_at.astimezone(LONDON).date()
            if self.period is None:
                from caregov.cadence import Cadence, period_containing

                self.period = self.outcome.period = period_containing(Cadence.MONTHLY, due_day)
            elif not self.period.contains(due_day):
                add(
                    row_number,
                    "due_time",
                    f"due_time {get['due_time']} is outside {self.period.label}, the month "
                    "this export is for.",
                )

        outcome_text = get["outcome_recorded"].lower()
        outcome_recorded = None
        if outcome_text in YES:
            outcome_recorded = True
        elif outcome_text in NO:
            outcome_recorded = False
        else:
            add(
                row_number,
                "outcome_recorded",
                f"outcome_recorded must be yes or no, not '{get['outcome_recorded']}'.",
            )

        last_review = self._date(row_number, "last_review_date", get["last_review_date"])
        review_due = self._date(row_number, "review_due_date", get["review_due_date"])

        narrative = get["narrative_length"]
        narrative_length = 0
        if not narrative.isdigit():
            add(
                row_number,
                "narrative_length",
                f"narrative_length must be a whole number of characters, not '{narrative}'.",
            )
        else:
            narrative_length = int(narrative)

        if self.outcome.problem_count > problems_before:
            return None
        return (
            row_number,
            reference,
            record_type,
            due_at,
            recorded_at,
            author_role,
            outcome_recorded,
            last_review,
            review_due,
            narrative_length,
        )

    def _moment(self, row_number: int, column: str, text: str, required: bool = False):
        if not text:
            if required:
                self.outcome.add(row_number, column, f"{column} is empty.")
            return None
        try:
            return _moment(text)
        except ValueError:
            self.outcome.add(
                row_number,
                column,
                f"{column} '{text}' is not a date and time like 2026-10-14 08:30.",
            )
            return None

    def _date(self, row_number: int, column: str, text: str) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.outcome.add(
                row_number, column, f"{column} '{text}' is not a date like 2026-10-14."
            )
            return None


def check_header(cells: list[str], outcome: Outcome) -> list[str] | None:
    header = [c.strip().lower() for c in cells]
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing:
        outcome.add(
            1,
            "",
            "Missing column" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing) + ".",
        )
    if extra:
        outcome.add(
            1,
            "",
            "Unexpected column" + ("s" if len(extra) > 1 else "") + ": " + ", ".join(extra) + ".",
        )
    if repeated:
        outcome.add(1, "", "Repeated column: " + ", ".join(repeated) + ".")
    return None if (missing or extra or repeated) else header


class _Writer:
    """Writes checked rows to the database: COPY on PostgreSQL, batched inserts elsewhere."""

    FIELDS = [
        "ecm_import_id",
        "row_number",
        "reference",
        "record_type",
        "due_at",
        "recorded_at",
        "author_role",
        "outcome_recorded",
        "last_review_on",
        "review_due_on",
        "narrative_length",
    ]

    def __init__(self, import_id: int):
        self.import_id = import_id
        self.batch: list[EcmRecord] = []
        self._copy_cm = None
        self._copy = None
        if connection.vendor == "postgresql":
            table = EcmRecord._meta.db_table
            columns = ", ".join(self.FIELDS)
            self._cursor_cm = connection.cursor()
            cursor = self._cursor_cm.__enter__()
            self._copy_cm = cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN")
            self._copy = self._copy_cm.__enter__()

    def write(self, values: tuple) -> None:
        if self._copy is not None:
            self._copy.write_row((self.import_id, *values))
            return
        self.batch.append(
            EcmRecord(
                ecm_import_id=self.import_id, **dict(zip(self.FIELDS[1:], values, strict=True))
            )
        )
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            EcmRecord.objects.bulk_create(self.batch)
            self.batch = []

    def close(self, ok: bool) -> None:
        if self._copy_cm is not None:
            self._copy_cm.__exit__(None, None, None)
            self._cursor_cm.__exit__(None, None, None)
            self._copy_cm = self._copy = None
        elif ok:
            self.flush()


def read_export(
    stream: Iterable[bytes],
    *,
    import_id: int,
    period: Period | None,
    progress: Callable[[int, int], None] = lambda bytes_read, rows: None,
) -> Outcome:
    """Check the whole file and, while it stays clean, write its rows for `import_id`.

    The caller runs this inside a transaction and rolls back when the outcome is not clean.
    """
    outcome = Outcome(period=period)
    reader = csv.reader(_lines(stream, outcome, progress))
    try:
        first = next(reader)
    except StopIteration:
        outcome.add(1, "", "The file is empty: it needs a header row and at least one record.")
        return outcome
    except csv.Error as error:
        outcome.add(1, "", f"The header row cannot be read as CSV: {error}.")
        return outcome
    header = check_header(first, outcome)
    if header is None:
        return outcome
    checker = RowChecker(header, outcome, period)
    writer = _Writer(import_id)
    try:
        for row_number, cells in _rows(reader, outcome):
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # blank line
            outcome.rows_read += 1
            values = checker.check(row_number, cells)
            if values is not None and outcome.clean:
                writer.write(values)
    finally:
        writer.close(ok=outcome.clean)
    if outcome.rows_read == 0 and outcome.clean:
        outcome.add(2, "", "The file has a header row but no records.")
    if outcome.clean:
        _report_duplicates(import_id, outcome)
    outcome.period = checker.period
    return outcome


def _rows(reader, outcome: Outcome) -> Iterator[tuple[int, list[str]]]:
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            outcome.add(start, "", f"Row {start} cannot be read as CSV: {error}.")
            continue
        yield start, cells


def _report_duplicates(import_id: int, outcome: Outcome) -> None:
    """Every row whose reference is also on another row, found by the database."""
    from django.db.models import Count, Min

    duplicated = (
        EcmRecord.objects.filter(ecm_import_id=import_id)
        .values("reference")
        .annotate(n=Count("pk"), first=Min("row_number"))
        .filter(n__gt=1)
    )
    firsts = {d["reference"]: d["first"] for d in duplicated}
    if not firsts:
        return
    rows = (
        EcmRecord.objects.filter(ecm_import_id=import_id, reference__in=list(firsts))
        .order_by("row_number")
        .values_list("row_number", "reference")
    )
    for row_number, reference in rows.iterator():
        if row_number != firsts[reference]:
            outcome.add(
                row_number,
                "record_reference",
                f"record_reference {reference} is already on row {firsts[reference]}.",
            )


def sniff_period(path) -> Period | None:
    """The month of the first record's due time, for an export whose month was not given."""
    from caregov.cadence import Cadence, period_containing

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = [c.strip().lower() for c in next(reader)]
            first = next(reader)
            return period_containing(
                Cadence.MONTHLY,
                _moment(first[header.index("due_time")].strip()).astimezone(LONDON).date(),
            )
        except (StopIteration, ValueError, IndexError, csv.Error):
            return None


def export_rows(rows: Iterable[dict]) -> str:
    """A CSV export from dictionaries keyed by column name: used by the demo and the tests."""
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def tolerance(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)
