"""The quick way in for an ECM export in the usual shape (PostgreSQL only).

Most exports are machine-written: the header in the documented order, one record per line, dates
and times in the plain `2026-10-14 08:30` form, no stray spaces, no formulas. Such a file does not
need each cell looked at in Python. A block of lines is checked against one regular expression,
each line gets its import id and row number in front, and the block goes to PostgreSQL's own CSV
reader, which turns the texts into times, dates, yes/no and numbers as it stores them (reading UK
times in the Europe/London zone) and refuses any value its column cannot hold.

This path only ever says yes or "not mine". A line the expression does not take, a value
PostgreSQL refuses (a 30 February, a reference longer than 64 characters), a file that is not
UTF-8, an empty file or a reference on two rows: everything loaded so far is rolled back to a
savepoint and the careful reader in `ecm.py` reads the file from the start, reporting every problem
with its row. So a file gets in here only if the careful reader would have taken it too, with the
same values: the expression accepts less than the careful checks do, and where PostgreSQL decides
(a time the clocks pass twice), `ecm.uk_time` decides the same way.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from itertools import islice

import psycopg
from django.db import DatabaseError, connection, transaction
from django.db.models import BigIntegerField, Count, F, Func, Value

from assurance.ecm import (
    _INVISIBLE,
    COLUMNS,
    MAX_ROW_CHARS,
    RECORD_FIELDS,
    WIDE_FORMULA_STARTS,
    Outcome,
    read_chunks,
)
from assurance.models import EcmRecord
from caregov.cadence import LONDON, Period

_HEADER = ",".join(COLUMNS) + "\n"
_DIGIT = "[0-9]"  # not \d, which takes other scripts' digits too
_TIME = f"(?:[01]{_DIGIT}|2[0-3]):[0-5]{_DIGIT}(?::[0-5]{_DIGIT})?"
#: A day of this century or the last: PostgreSQL refuses a day the month does not have.
_DAY = f"(?:19|20){_DIGIT}{_DIGIT}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]{_DIGIT}|3[01])"
# A text cell: no space at either end (the careful reader strips them), no formula start (plain
# or full width, nor an invisible character that might hide one), no quote inside, no line break
# or NUL; quoted or not. Its length is the database column's to check.
_FIRST = rf'[^\s",=+\-@\x00{"".join(WIDE_FORMULA_STARTS)}{_INVISIBLE}]'
_LAST = r'(?<=[^\s",\x00])'
_TEXT = rf'(?:{_FIRST}[^",\r\n\x00]*{_LAST}|"{_FIRST}[^"\r\n\x00]*{_LAST}")'
_ANSWER = "(?i:yes|no|y|n|true|false|1|0)"
#: Up to 999,999,999: the column holds 2**31 - 1, and longer figures go the careful way.
_LENGTH = f"{_DIGIT}{{1,9}}"


class NotPlain(Exception):
    """The file is not in the usual shape, or the database refused a value in it."""


@lru_cache(maxsize=32)
def block_pattern(year: int, month: int) -> re.Pattern:
    """Any number of whole lines in the usual shape for an export of this month."""
    last = calendar.monthrange(year, month)[1]
    days = {28: "0[1-9]|1[0-9]|2[0-8]", 29: "0[1-9]|[12][0-9]", 30: "0[1-9]|[12][0-9]|30"}
    due = f"{year:04d}-{month:02d}-(?:{days.get(last, '0[1-9]|[12][0-9]|3[01]')})[ T]{_TIME}"
    line = (
        f"{_TEXT},{_TEXT},{due},(?:{_DAY}[ T]{_TIME})?,(?:{_TEXT})?,{_ANSWER},"
        f"(?:{_DAY})?,(?:{_DAY})?,{_LENGTH}\n"
    )
    return re.compile(f"(?:{line})*")


def load(
    stream: Iterable[bytes],
    *,
    import_id: int,
    period: Period,
    progress: Callable[[int, int], None],
) -> Outcome | None:
    """Load a plain file's rows for `import_id` and give the outcome, or None (nothing loaded) when
    the file has to go the careful way. Runs inside the caller's transaction."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            zone = set_time_zone(cursor, LONDON.key)
            blocks = _copy(cursor.cursor, stream, import_id, period, progress)
            set_time_zone(cursor, zone)
            if not blocks.rows or (not blocks.ordered and has_duplicates(import_id)):
                raise NotPlain
    except (NotPlain, psycopg.Error, DatabaseError):
        return None
    return Outcome(rows_read=blocks.rows, period=period)


def set_time_zone(cursor, zone: str) -> str:
    """Read times in `zone` until the transaction ends; gives the zone that was in force."""
    cursor.execute("SELECT current_setting('TimeZone'), set_config('TimeZone', %s, true)", [zone])
    return cursor.fetchone()[0]


def copy_query() -> str:
    """The COPY the quick way writes to: CSV, an empty author_role stored as empty text."""
    return (
        f"COPY {EcmRecord._meta.db_table} ({', '.join(RECORD_FIELDS)}) FROM STDIN "
        "WITH (FORMAT csv, FORCE_NOT_NULL (author_role))"
    )


def _copy(cursor, stream, import_id: int, period: Period, progress) -> CopyBlocks:
    blocks = CopyBlocks(stream, import_id, period, progress)
    with cursor.copy(copy_query()) as copy:
        for text in blocks:
            copy.write(text)
    return blocks


class CopyBlocks:
    """The file's rows as CSV for `copy_query`, a block at a time, each line led by the import's
    id and its row number. Iterating raises NotPlain at the first block that is not plain.

    Once read: `rows`, and `ordered`, true when every reference is written without quotes and
    sorts after the one before it (exports listed by reference are), so none can be on two rows
    and the database need not look.
    """

    def __init__(self, stream, import_id: int, period: Period, progress=None):
        self.stream = stream
        self.import_id = int(import_id)
        self.pattern = block_pattern(period.start.year, period.start.month)
        self.progress = progress or (lambda bytes_read, rows: None)
        self.rows = 0
        self.ordered = True
        self._last_reference = None

    def __iter__(self) -> Iterator[str]:
        numbered = f"{self.import_id},{{}},{{}}\n".format
        row_number = 2  # the header is row 1
        bytes_read = 0
        for text, size in _blocks(self.stream):
            if not bytes_read:
                if not text.startswith(_HEADER):
                    raise NotPlain
                text = text[len(_HEADER) :]
            if not self.pattern.fullmatch(text):
                raise NotPlain
            lines = text.split("\n")
            lines.pop()  # the empty text after the block's last line end
            if self.ordered:
                self.ordered = self._in_order(text, lines)
            yield "".join(map(numbered, range(row_number, row_number + len(lines)), lines))
            row_number += len(lines)
            self.rows = row_number - 2
            bytes_read += size
            self.progress(bytes_read, self.rows)

    def _in_order(self, text: str, lines: list[str]) -> bool:
        if text.startswith('"') or '\n"' in text:
            return False
        references = [line.partition(",")[0] for line in lines]
        if not references:
            return True
        last, self._last_reference = self._last_reference, references[-1]
        if last is not None and not last < references[0]:
            return False
        return all(map(str.__lt__, references, islice(references, 1, None)))


def _blocks(stream) -> Iterator[tuple[str, int]]:
    """The file as blocks of whole lines, decoded, each line ending in a plain \\n; with the bytes
    each block took. Not UTF-8 is not plain, and nor is a line longer than the careful reader
    takes: it is not gathered, so memory stays bounded whatever the line lengths."""
    pending = b""
    first = True
    for chunk in read_chunks(stream):
        data = pending + chunk if pending else chunk
        cut = data.rfind(b"\n") + 1
        if not cut:
            if len(data) > MAX_ROW_CHARS:
                raise NotPlain
            pending = data
            continue
        pending = data[cut:]
        yield _text(data[:cut], first), cut
        first = False
    if pending:
        yield _text(pending + b"\n", first), len(pending)


def _text(data: bytes, first: bool) -> str:
    if first and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise NotPlain from None


def has_duplicates(import_id: int) -> bool:
    """Whether two rows may share a reference. Grouped by a 64-bit hash of the reference, which
    the database sorts far faster than text in its collation; two different references with one
    hash (about one file in thirty million at a million rows) only send the file the careful way,
    which compares the references themselves."""
    hashed = Func(
        F("reference"), Value(0), function="hashtextextended", output_field=BigIntegerField()
    )
    return (
        EcmRecord.objects.filter(ecm_import_id=import_id)
        .values(hashed=hashed)
        .annotate(rows=Count("id"))
        .filter(rows__gt=1)
        .exists()
    )
