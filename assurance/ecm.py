"""Reading an ECM export: check every row, load the good file in one transaction, or nothing.

The file is read a block at a time and split into lines, so memory does not grow with its length,
and a line is not gathered past a limit, so it does not grow with a line's length either (a row
over MAX_ROW_CHARS is a problem of its row). Rows are numbered as a spreadsheet shows them: a
quoted cell's line breaks do not count. A file that is not UTF-8 text at all (UTF-16, a workbook)
is refused before any row is read. Each row is checked as it is read, every cell of it; while the file is still clean its rows go straight to the
database (COPY on PostgreSQL, batched inserts elsewhere). After the first problem nothing more is
written, the rest of the file is still checked so that every problem is reported, and the
transaction is rolled back. Duplicate references are found by the database once the rows are in,
so no reference set is held in memory. The format is described in docs/ecm-export.md.

Speed (see docs/benchmarks-assurance.md): every row is still checked in full, but an export
repeats the same few thousand due times and dates, so each distinct text is parsed once and the
answer reused from a small cache that is emptied when it fills. On PostgreSQL the checked rows are
written as COPY text lines, many at a time, rather than converted value by value.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain

from django.db import connection

from assurance.models import EcmRecord
from caregov.cadence import LONDON, Period, uk_time
from caregov.uploads import (  # noqa: F401 (SNIFF_BYTES and not_text are read as ecm.*)
    FORMULA_CELL,
    FORMULA_STARTS,
    INVISIBLE,
    SNIFF_BYTES,
    WIDE_FORMULA_STARTS,
    not_text,
)

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
#: The columns of assurance_ecmrecord an import writes, in the order both ways write them.
RECORD_FIELDS = [
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
_INVISIBLE = INVISIBLE
#: A cell of a row joined by _SEP that starts, after spaces and invisible characters, as a formula.
_FORMULA_IN_ROW = re.compile(
    "(?:^|\x1f)[\\s" + _INVISIBLE + "]*[=+\\-@" + "".join(WIDE_FORMULA_STARTS) + "]"
)
_FORMULA_CELL = FORMULA_CELL
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
#: Problems listed; the rest are counted (Outcome.problem_count).
MAX_PROBLEMS_KEPT = 1000
#: The longest row taken, in characters, its quoted line breaks included. No export row needs
#: more than a few hundred; a longer row is refused by its number and the next row read.
MAX_ROW_CHARS = 64 * 1024
#: A line is not gathered past this many bytes (each character is at most four), so memory stays
#: bounded whatever the file's line lengths.
MAX_LINE_BYTES = 4 * MAX_ROW_CHARS
#: A header with more columns than this is refused in one message, without looking further.
MAX_COLUMNS = 200
#: Characters of a bad value, or of a column name, quoted in a problem's message.
MAX_QUOTED = 80
#: The longest problem message kept (a safety net: messages quote at most MAX_QUOTED).
MAX_MESSAGE = 1000
BATCH = 5000
#: Bytes read from the file at a time; lines are split out of each block.
READ_SIZE = 1 << 18
#: Checked rows sent to COPY in one write.
COPY_LINES = 2000
#: Distinct date and time texts remembered per column; a cache is emptied when it holds this many.
CACHE_SIZE = 4096
#: The largest narrative_length the database column holds.
MAX_NARRATIVE_LENGTH = 2**31 - 1
_ANSWERS = {**dict.fromkeys(YES, True), **dict.fromkeys(NO, False)}
#: Joins a row's cells for the quick scans below; a cell holding it only costs the careful check.
_SEP = "\x1f"
_F1, _F2, _F3, _F4 = (_SEP + start for start in FORMULA_STARTS)
_COLUMN_SET = frozenset(COLUMNS)
_UNSEEN = object()
_NULL = "\\N"


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
            self.problems.append(Problem(row, column, safe_message(message)))

    @property
    def more(self) -> int:
        """Problems counted but not listed."""
        return self.problem_count - len(self.problems)

    @property
    def clean(self) -> bool:
        return self.problem_count == 0


def safe_message(message: str) -> str:
    """A message as it can be stored anywhere: no NUL (PostgreSQL refuses \\u0000 in text and
    JSON), and no longer than MAX_MESSAGE characters."""
    if "\x00" in message:
        message = message.replace("\x00", "\\0")
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return message


def shown(text: str) -> str:
    """A value from the file as a message shows it: at most MAX_QUOTED characters, and control
    characters (a NUL, a tab, a line break) written out, so the message stays one short line."""
    if len(text) > MAX_QUOTED:
        text = text[: MAX_QUOTED - 1] + "…"
    if not text.isprintable():
        text = "".join(
            c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
            for c in text
        )
    return text


def quoted(text: str) -> str:
    return f"'{shown(text)}'"


class RowTooLong(Exception):
    """A row runs over MAX_ROW_CHARS characters (raised through csv.reader by `_Source`)."""


#: Stands in for a line too long to hold: any line longer than MAX_ROW_CHARS is refused.
_TOO_LONG = " " * (MAX_ROW_CHARS + 1)


class _Source:
    """The file's lines as text for csv.reader, one at a time, in bounded memory.

    The file is read a block at a time; each block is cut at its last line end and decoded whole
    (line by line when it is not all UTF-8, so each bad line is known). A line with no end in
    sight is not gathered: past MAX_LINE_BYTES its bytes are dropped up to the next line end and
    `_TOO_LONG` stands in for it. csv.reader asks for the lines of one row at a time, so the
    reading loop can tell what belongs to which row: it sets `row_size` to 0 after each row, and
    a row whose lines add up to more than MAX_ROW_CHARS raises RowTooLong (csv.reader passes the
    exception on and starts afresh at the next line). `undecodable` holds the positions of bytes
    that are not UTF-8 in the row being read; the loop reports and empties it.
    """

    def __init__(self, chunks: Iterator[bytes], rows_read: Callable[[], int], progress):
        self._chunks = chunks
        self._rows_read = rows_read
        self._progress = progress
        self._lines: list[str] = []
        self._next = 0
        #: For the current block, {index of a line: the first byte in it that is not UTF-8}.
        self._bad: dict[int, int] = {}
        self._first = True
        self._pending: list[bytes] = []  # what follows the last line end seen
        self._pending_size = 0
        self.bytes_read = 0
        self.row_size = 0
        self.undecodable: list[int] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        i = self._next
        lines = self._lines
        if i >= len(lines):
            lines = self._refill()
            i = 0
        self._next = i + 1
        line = lines[i]
        size = self.row_size + len(line)
        self.row_size = size
        if self._bad and i in self._bad:
            self.undecodable.append(self._bad[i])
        if size > MAX_ROW_CHARS:
            raise RowTooLong
        return line

    def _refill(self) -> list[str]:
        """The next block's lines; StopIteration at the end of the file."""
        pending = self._pending
        while True:
            chunk = next(self._chunks, None)
            if chunk is None:  # the end: a last line without a line end
                if self._pending_size < 0:  # the end of a line too long to keep
                    self._pending_size = 0
                    return self._block([_TOO_LONG], {})
                if not pending:
                    self._progress(self.bytes_read, self._rows_read())
                    raise StopIteration
                data = b"".join(pending)
                pending.clear()
                self._pending_size = 0
                self.bytes_read += len(data)
                return self._block(*self._decode(data))
            if self._pending_size < 0:  # dropping the rest of a line too long to keep
                end = chunk.find(b"\n") + 1
                if not end:
                    self.bytes_read += len(chunk)
                    continue
                self.bytes_read += end
                self._pending_size = 0
                rest = chunk[end:]
                cut = rest.rfind(b"\n") + 1
                if cut < len(rest):
                    pending.append(rest[cut:])
                    self._pending_size = len(rest) - cut
                if not cut:
                    return self._block([_TOO_LONG], {})
                self.bytes_read += cut
                lines, bad = self._decode(rest[:cut])
                return self._block([_TOO_LONG, *lines], {i + 1: at for i, at in bad.items()})
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                pending.append(chunk)
                self._pending_size += len(chunk)
                if self._pending_size > MAX_LINE_BYTES:
                    self.bytes_read += self._pending_size
                    pending.clear()
                    self._pending_size = -1
                    self._first = False
                continue
            data = b"".join([*pending, chunk[:cut]]) if pending else chunk[:cut]
            pending.clear()
            self._pending_size = len(chunk) - cut
            if cut < len(chunk):
                pending.append(chunk[cut:])
            self.bytes_read += len(data)
            return self._block(*self._decode(data))

    def _decode(self, data: bytes) -> tuple[list[str], dict[int, int]]:
        if self._first:
            self._first = False
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            lines, bad = [], {}
            for index, raw in enumerate(_split(data, b"\n")):
                try:
                    lines.append(raw.decode("utf-8"))
                except UnicodeDecodeError as error:
                    bad[index] = error.start + 1
                    lines.append(raw.decode("utf-8", errors="replace"))
            return lines, bad
        lines = text.splitlines(True)
        if len(lines) != text.count("\n") + (not text.endswith("\n")):
            # A line break other than \n (a lone \r, a form feed...) stays inside its line.
            lines = _split(text, "\n")
        return lines, {}

    def _block(self, lines: list[str], bad: dict[int, int]) -> list[str]:
        self._lines, self._bad, self._next = lines, bad, 0
        self._progress(self.bytes_read, self._rows_read())
        return lines


def read_chunks(stream: Iterable[bytes]) -> Iterator[bytes]:
    read = getattr(stream, "read", None)
    if read is not None:
        return iter(lambda: read(READ_SIZE), b"")
    return iter(stream)


def _split(data, newline):
    """Lines of bytes or text split at `newline` only, keeping it (as a binary file iterates)."""
    parts = data.split(newline)
    last = parts.pop()
    lines = [part + newline for part in parts]
    if last:
        lines.append(last)
    return lines


def _head(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first SNIFF_BYTES or so of the file, and the chunks again from the start."""
    taken: list[bytes] = []
    size = 0
    for chunk in chunks:
        taken.append(chunk)
        size += len(chunk)
        if size >= SNIFF_BYTES:
            break
    return b"".join(taken)[: SNIFF_BYTES * 2], chain(taken, chunks)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = uk_time(moment)
    return moment.astimezone(UTC)


def _utc(text: str) -> datetime:
    """A time written for COPY, back as a UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _escape(text: str) -> str:
    """A value for COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class RowChecker:
    """Turns one CSV row into database values, noting every problem with its row number.

    `check` gives the values as a tuple; `line` gives the same row as a line for COPY (text
    format) after `line_prefix` (the import's id and a tab). Both run the same checks.
    """

    def __init__(self, header: list[str], outcome: Outcome, period: Period | None):
        self.index = {name: header.index(name) for name in COLUMNS}
        self.width = len(header)
        self.outcome = outcome
        self.period = period
        self.line_prefix = ""
        #: Where each of COLUMNS is in the row, when the header has them in another order.
        self._order = None if header == COLUMNS else list(self.index.values())
        #: Per column, text -> (UTC datetime or None, the time as COPY text, its London day), or
        #: None when it cannot be read. The datetime is worked out when needed (see _utc).
        self._due_times: dict[str, tuple | None] = {}
        self._recorded_times: dict[str, tuple | None] = {}
        #: "2026-10-14" -> (the date, its one UTC offset as "+01:00"), or None when the day is not
        #: a plain one (a clock change, an offset in seconds, or not a date at all).
        self._local_days: dict[str, tuple | None] = {}
        #: Text -> (date, ISO text), or None: unreadable.
        self._days: dict[str, tuple | None] = {}

    def check(self, row_number: int, cells: list[str]) -> tuple | None:
        return self._check(row_number, cells, False)

    def line(self, row_number: int, cells: list[str]) -> str | None:
        return self._check(row_number, cells, True)

    def _check(self, row_number: int, cells: list[str], as_line: bool):
        outcome = self.outcome
        add = outcome.add
        if len(cells) != self.width:
            add(
                row_number,
                "",
                f"Row {row_number} has {len(cells):,} cells; every row needs {self.width}.",
            )
            return None
        if self._order is not None:
            cells = [cells[i] for i in self._order]
        # Values are stored stripped, so they are checked stripped: "\t=1+1" is a formula.
        cells = list(map(str.strip, cells))
        joined = _SEP.join(cells)
        problems_before = outcome.problem_count
        if (
            joined.startswith(FORMULA_STARTS)
            or _F1 in joined
            or _F2 in joined
            or _F3 in joined
            or _F4 in joined
            or "\x00" in joined
            or (not joined.isascii() and _FORMULA_IN_ROW.search(joined))
        ):
            flagged = self._unsafe_cells(row_number, cells)
            if flagged:
                # Each such cell is one problem; the row's other cells are still checked.
                def add(row, column, message, _add=outcome.add, _skip=flagged):
                    if column not in _skip:
                        _add(row, column, message)

        special = "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined
        (
            reference,
            record_type,
            due_text,
            recorded_text,
            author_role,
            outcome_text,
            last_text,
            review_text,
            narrative,
        ) = cells

        if not reference:
            add(row_number, "record_reference", "record_reference is empty.")
        elif len(reference) > 64:
            add(row_number, "record_reference", "record_reference is longer than 64 characters.")
        if not record_type:
            add(row_number, "record_type", "record_type is empty.")
        elif len(record_type) > 60:
            add(row_number, "record_type", "record_type is longer than 60 characters.")
        if len(author_role) > 60:
            add(row_number, "author_role", "author_role is longer than 60 characters.")

        if due_text:
            due = self._due_times.get(due_text, _UNSEEN)
            if due is _UNSEEN:
                due = self._read_moment(due_text, self._due_times)
            if due is None:
                add(row_number, "due_time", _not_a_moment("due_time", due_text))
        else:
            due = None
            add(row_number, "due_time", "due_time is empty.")
        recorded = None
        if recorded_text:
            recorded = self._recorded_times.get(recorded_text, _UNSEEN)
            if recorded is _UNSEEN:
                recorded = self._read_moment(recorded_text, self._recorded_times)
            if recorded is None:
                add(row_number, "recorded_time", _not_a_moment("recorded_time", recorded_text))
        if due is not None:
            due_day = due[2]
            if self.period is None:
                from caregov.cadence import Cadence, period_containing

                try:
                    self.period = outcome.period = period_containing(Cadence.MONTHLY, due_day)
                except ValueError:  # December 9999: a month with no end to hold
                    add(row_number, "due_time", _not_a_moment("due_time", due_text))
            elif not self.period.start <= due_day <= self.period.end:
                add(
                    row_number,
                    "due_time",
                    f"due_time {shown(due_text)} is outside {self.period.label}, the month "
                    "this export is for.",
                )

        answer = _ANSWERS.get(outcome_text.lower())
        if answer is None:
            add(
                row_number,
                "outcome_recorded",
                f"outcome_recorded must be yes or no, not {quoted(outcome_text)}.",
            )

        days = self._days
        last_review = None
        if last_text:
            last_review = days.get(last_text, _UNSEEN)
            if last_review is _UNSEEN:
                last_review = self._read_day(last_text)
            if last_review is None:
                add(row_number, "last_review_date", _not_a_date("last_review_date", last_text))
        review_due = None
        if review_text:
            review_due = days.get(review_text, _UNSEEN)
            if review_due is _UNSEEN:
                review_due = self._read_day(review_text)
            if review_due is None:
                add(row_number, "review_due_date", _not_a_date("review_due_date", review_text))

        narrative_length = None
        if narrative.isdigit():
            with suppress(ValueError):  # digits int() does not read, such as superscripts
                narrative_length = int(narrative)
        if narrative_length is None:
            add(
                row_number,
                "narrative_length",
                f"narrative_length must be a whole number of characters, not {quoted(narrative)}.",
            )
        elif narrative_length > MAX_NARRATIVE_LENGTH:
            add(
                row_number,
                "narrative_length",
                f"narrative_length {shown(narrative)} is too large: at most {MAX_NARRATIVE_LENGTH:,}.",
            )

        if outcome.problem_count > problems_before:
            return None
        if not as_line:
            return (
                row_number,
                reference,
                record_type,
                due[0] or _utc(due[1]),
                (recorded[0] or _utc(recorded[1])) if recorded else None,
                author_role,
                answer,
                last_review[0] if last_review else None,
                review_due[0] if review_due else None,
                narrative_length,
            )
        if special:
            reference, record_type, author_role = (
                _escape(reference),
                _escape(record_type),
                _escape(author_role),
            )
        return (
            f"{self.line_prefix}{row_number}\t{reference}\t{record_type}\t{due[1]}\t"
            f"{recorded[1] if recorded else _NULL}\t{author_role}\t{'t' if answer else 'f'}\t"
            f"{last_review[1] if last_review else _NULL}\t"
            f"{review_due[1] if review_due else _NULL}\t{narrative_length}\n"
        )

    def _unsafe_cells(self, row_number: int, cells: list[str]) -> set[str]:
        """Note each cell a spreadsheet would run as a formula, or that holds a NUL; give their
        column names (empty when the quick scan was wrong)."""
        flagged = set()
        for name, cell in zip(COLUMNS, cells, strict=True):
            formula = _FORMULA_CELL.match(cell)
            if formula:
                flagged.add(name)
                self.outcome.add(
                    row_number,
                    name,
                    f"{name} starts with '{formula.group(1)}', which a spreadsheet would run as "
                    "a formula. Remove it.",
                )
            elif "\x00" in cell:
                flagged.add(name)
                self.outcome.add(
                    row_number,
                    name,
                    f"{name} holds a NUL character (byte 0), which cannot be stored. "
                    "Export the file again as CSV UTF-8.",
                )
        return flagged

    def _read_moment(self, text: str, cache: dict) -> tuple | None:
        read = None
        if len(text) == 16 and text[10] in " T" and text[13] == ":" and text.isascii():
            # The usual 2026-10-14 08:30, UK time, on a day without a clock change: the same
            # answer as _moment's, by slicing. Anything else is read in full below.
            day = self._local_days.get(text[:10], _UNSEEN)
            if day is _UNSEEN:
                day = self._read_local_day(text[:10])
            hours, minutes = text[11:13], text[14:]
            if (
                day is not None
                and hours.isdigit()
                and minutes.isdigit()
                and hours < "24"
                and minutes < "60"
            ):
                read = (None, f"{text[:10]} {hours}:{minutes}:00{day[1]}", day[0])
        if read is None:
            try:
                moment = _moment(text)
                read = (moment, moment.isoformat(" "), moment.astimezone(LONDON).date())
            except (ValueError, OverflowError):
                pass
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[text] = read
        return read

    def _read_local_day(self, text: str) -> tuple | None:
        read = None
        if (
            text[4] == "-"
            and text[7] == "-"
            and text[:4].isdigit()
            and text[5:7].isdigit()
            and text[8:].isdigit()
        ):
            try:
                day = date(int(text[:4]), int(text[5:7]), int(text[8:]))
                offsets = {
                    datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).utcoffset()
                    for hour in range(24)
                    for minute in (0, 59)
                }
            except (ValueError, OverflowError):
                offsets = set()
            if len(offsets) == 1:
                offset = int(offsets.pop().total_seconds())
                if offset % 60 == 0:
                    sign = "-" if offset < 0 else "+"
                    hours, minutes = divmod(abs(offset) // 60, 60)
                    read = (day, f"{sign}{hours:02d}:{minutes:02d}")
        if len(self._local_days) >= CACHE_SIZE:
            self._local_days.clear()
        self._local_days[text] = read
        return read

    def _read_day(self, text: str) -> tuple | None:
        try:
            day = date.fromisoformat(text)
            read = (day, day.isoformat())
        except ValueError:
            read = None
        if len(self._days) >= CACHE_SIZE:
            self._days.clear()
        self._days[text] = read
        return read


def _not_a_moment(column: str, text: str) -> str:
    return f"{column} {quoted(text)} is not a date and time like 2026-10-14 08:30."


def _not_a_date(column: str, text: str) -> str:
    return f"{column} {quoted(text)} is not a date like 2026-10-14."


def _names(names: list[str]) -> str:
    """Column names for a message: the first five, each cut short, then how many more."""
    listed = ", ".join(shown(name) for name in names[:5])
    return listed + (f" and {len(names) - 5:,} more" if len(names) > 5 else "")


def check_header(cells: list[str], outcome: Outcome) -> list[str] | None:
    """The header's column names, or None after noting what is wrong with them. Linear in the
    number of columns, and a header of more than MAX_COLUMNS is refused in one message."""
    if len(cells) > MAX_COLUMNS:
        outcome.add(
            1,
            "",
            f"The header row has {len(cells):,} columns; an export has these {len(COLUMNS)}: "
            f"{', '.join(COLUMNS)}. Check that this is the ECM export, comma separated.",
        )
        return None
    header = [c.strip().lower() for c in cells]
    counts = Counter(header)
    missing = [c for c in COLUMNS if c not in counts]
    extra = [c for c in counts if c not in _COLUMN_SET]
    repeated = sorted(c for c, n in counts.items() if n > 1)
    if missing:
        outcome.add(
            1,
            "",
            "Missing column" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing) + ".",
        )
    if extra:
        outcome.add(
            1, "", "Unexpected column" + ("s" if len(extra) > 1 else "") + f": {_names(extra)}."
        )
    if repeated:
        outcome.add(
            1, "", "Repeated column" + ("s" if len(repeated) > 1 else "") + f": {_names(repeated)}."
        )
    return None if (missing or extra or repeated) else header


class _Writer:
    """Writes checked rows to the database: COPY on PostgreSQL, batched inserts elsewhere."""

    def __init__(self, import_id: int):
        self.import_id = import_id
        self.batch: list[EcmRecord] = []
        self.lines: list[str] = []
        self._copy_cm = None
        self._copy = None
        if connection.vendor == "postgresql":
            table = EcmRecord._meta.db_table
            columns = ", ".join(RECORD_FIELDS)
            self._cursor_cm = connection.cursor()
            cursor = self._cursor_cm.__enter__()
            self._copy_cm = cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN")
            self._copy = self._copy_cm.__enter__()

    @property
    def copying(self) -> bool:
        """True when rows go in as COPY text lines (`write_line`)."""
        return self._copy is not None

    def write(self, values: tuple) -> None:
        if self._copy is not None:
            self._copy.write_row((self.import_id, *values))
            return
        self.batch.append(
            EcmRecord(
                ecm_import_id=self.import_id, **dict(zip(RECORD_FIELDS[1:], values, strict=True))
            )
        )
        if len(self.batch) >= BATCH:
            self.flush()

    def write_line(self, line: str) -> None:
        lines = self.lines
        lines.append(line)
        if len(lines) >= COPY_LINES:
            self._copy.write("".join(lines))
            lines.clear()

    def flush(self) -> None:
        if self.batch:
            EcmRecord.objects.bulk_create(self.batch)
            self.batch = []

    def close(self, ok: bool) -> None:
        if self._copy_cm is not None:
            if ok and self.lines:
                self._copy.write("".join(self.lines))
            self.lines = []
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
    mapping: dict | None = None,
) -> Outcome:
    """Check the whole file and write its good rows for `import_id`, then look for duplicates.

    On PostgreSQL a file in the usual shape is taken the quick way (`ecm_plain`, or `ecm_mapped`
    for a file read through a profile's `mapping`); any other file, or one the quick way gives
    back, is read here from the start.

    The caller runs this inside a transaction and rolls back when the outcome is not clean.
    """
    if period is not None and connection.vendor == "postgresql" and hasattr(stream, "seek"):
        if mapping:
            from assurance import ecm_mapped

            plain = ecm_mapped.load(
                stream, import_id=import_id, period=period, progress=progress, mapping=mapping
            )
        else:
            from assurance import ecm_plain

            plain = ecm_plain.load(stream, import_id=import_id, period=period, progress=progress)
        if plain is not None:
            return plain
        stream.seek(0)
    outcome = Outcome(period=period)
    head, chunks = _head(read_chunks(stream))
    refusal = not_text(head)
    if refusal:
        outcome.add(0, "", refusal)
        return outcome
    source = _Source(chunks, lambda: outcome.rows_read, progress)
    reader = csv.reader(source)
    try:
        first = next(reader)
    except StopIteration:
        outcome.add(1, "", "The file is empty: it needs a header row and at least one record.")
        return outcome
    except csv.Error as error:
        outcome.add(1, "", f"The header row cannot be read as CSV: {error}.")
        return outcome
    except RowTooLong:
        outcome.add(1, "", _too_long(1))
        return outcome
    source.row_size = 0
    if source.undecodable:
        _not_utf8(1, source, outcome)
    reference_column = "record_reference"
    if mapping:
        from assurance.mapping import MappedRows, check_mapped_header

        names = check_mapped_header(first, mapping, outcome)
        if names is None:
            return outcome
        checker = MappedRows(mapping, names, outcome, period)
        reference_column = checker.column_of["record_reference"]
    else:
        header = check_header(first, outcome)
        if header is None:
            return outcome
        checker = RowChecker(header, outcome, period)
    writer = _Writer(import_id)
    try:
        if writer.copying:
            checker.line_prefix = f"{import_id}\t"
            _check_rows(reader, source, outcome, checker.width, checker.line, writer.write_line)
        else:
            _check_rows(reader, source, outcome, checker.width, checker.check, writer.write)
    finally:
        writer.close(ok=True)
    if outcome.rows_read == 0 and outcome.clean:
        outcome.add(2, "", "The file has a header row but no records.")
    _report_duplicates(import_id, outcome, reference_column)
    outcome.problems.sort(key=lambda p: p.row)
    outcome.period = checker.period
    return outcome


def _check_rows(reader, source: _Source, outcome: Outcome, width: int, check, write) -> None:
    """Check every row and write each good one. Rows are numbered as a spreadsheet shows them:
    the header is row 1, a row whose quoted cells hold line breaks is still one row, and a blank
    line is a row (with nothing to check)."""
    row_number = 1
    while True:
        try:
            for cells in reader:
                row_number += 1
                source.row_size = 0
                if source.undecodable:
                    _not_utf8(row_number, source, outcome)
                if len(cells) != width and (
                    not cells or (len(cells) == 1 and not cells[0].strip())
                ):
                    continue  # blank line
                outcome.rows_read += 1
                checked = check(row_number, cells)
                if checked is not None:
                    # Written even after a problem, so that duplicates anywhere in the file are
                    # found too; the caller rolls the whole file back.
                    write(checked)
            return
        except csv.Error as error:
            row_number += 1
            source.row_size = 0
            source.undecodable.clear()
            outcome.rows_read += 1
            outcome.add(row_number, "", f"Row {row_number} cannot be read as CSV: {error}.")
        except RowTooLong:
            row_number += 1
            source.row_size = 0
            source.undecodable.clear()
            outcome.rows_read += 1
            outcome.add(row_number, "", _too_long(row_number))


def _too_long(row_number: int) -> str:
    return (
        f"Row {row_number} is longer than {MAX_ROW_CHARS:,} characters, more than any export row "
        "needs, so it was not read. If a cell in it opens a quote mark, check that the quote "
        "closes."
    )


def _not_utf8(row_number: int, source: _Source, outcome: Outcome) -> None:
    outcome.add(
        row_number,
        "",
        f"Row {row_number} is not UTF-8 text (byte {source.undecodable[0]} cannot be read). "
        "Export the file again as CSV UTF-8.",
    )
    source.undecodable.clear()


def _report_duplicates(import_id: int, outcome: Outcome, column: str = "record_reference") -> None:
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
            said = "record_reference" if column == "record_reference" else f"'{column}'"
            outcome.add(
                row_number,
                column,
                f"{said} {reference} is already on row {firsts[reference]}.",
            )


def sniff_period(path, mapping: dict | None = None) -> Period | None:
    """The month of the first record's due time, for an export whose month was not given. Reads
    only the start of the file."""
    import io

    from caregov.cadence import Cadence, period_containing

    if mapping:
        from assurance.mapping import first_due

        text = first_due(path, mapping)
        try:
            moment = _moment(text) if text else None
        except (ValueError, OverflowError):
            moment = None
        if moment is None:
            return None
        return period_containing(Cadence.MONTHLY, moment.astimezone(LONDON).date())

    with open(path, "rb") as handle:
        head = handle.read(2 * MAX_LINE_BYTES + 1)
    if len(head) > 2 * MAX_LINE_BYTES:
        head = head[: head.rfind(b"\n") + 1]  # whole lines only
    if not_text(head):
        return None
    reader = csv.reader(io.StringIO(head.decode("utf-8-sig", errors="replace"), newline=""))
    try:
        header = [c.strip().lower() for c in next(reader)]
        first = next(reader)
        return period_containing(
            Cadence.MONTHLY,
            _moment(first[header.index("due_time")].strip()).astimezone(LONDON).date(),
        )
    except (StopIteration, ValueError, OverflowError, IndexError, csv.Error):
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
