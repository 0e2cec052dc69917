"""The quick way in for a supplier's export read through a profile (PostgreSQL only).

As `ecm_plain` does for caregov's own shape, a block of lines is checked against one regular
expression, built for the profile: each of the file's columns in its place, a mapped column in
the plain shape of its field (a DD/MM/YYYY time in the export's month, one of the profile's yes
and no words, a whole number...), a column left out anything without quote marks or line
breaks. Each checked block then goes to the database in one of two ways:

- Times written as text (ISO, day first, month first): the block's lines are put in caregov's
  order as they stream (the file's cells as written, a fixed value, or nothing; the yes and no
  words as t and f; the columns left out dropped) and COPYed straight into assurance_ecmrecord,
  as the plain path does. The database reads the times in the Europe/London zone, day or month
  first as the profile says.
- Excel's serial days, which the database cannot read as times: the blocks as the file has
  them are COPYed into a temporary table with the fields' types, and one INSERT ... SELECT
  applies the mapping (Excel days added to 30 Dec 1899).

Nothing is written to disk again: the mapping is applied a block at a time on the way in.

This path only ever says yes or "not mine": a line the expression does not take, a value the
database refuses (a 31 September), a file that is not UTF-8, a due time outside the month or a
reference on two rows: everything is rolled back to a savepoint and the careful reader reads the
file from the start through the same mapping, reporting every problem with its row and column.
The expression accepts less than the careful reader does, never more, and the values are the
same.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import lru_cache
from itertools import islice

import psycopg
from django.db import DatabaseError, connection, transaction

from assurance.ecm import COLUMNS, MAX_ROW_CHARS, Outcome, uk_time
from assurance.ecm_plain import (
    _DAY,
    _TEXT,
    _TIME,
    NotPlain,
    _blocks,
    copy_query,
    has_duplicates,
    set_time_zone,
)
from assurance.mapping import DAYS, MOMENTS, OPTIONAL, TEXTS, answers, normalise
from assurance.models import EcmRecord
from caregov.cadence import LONDON, Period

_D = "[0-9]"
_YEAR = f"(?:19|20){_D}{_D}"
_MM = "(?:0[1-9]|1[0-2])"
_DD = f"(?:0[1-9]|[12]{_D}|3[01])"
_OFFSET = f"(?:Z|[+-](?:0{_D}|1[0-4]):[0-5]{_D})"
#: A column the profile leaves out: anything but a quote mark inside, a comma or a line break.
_LEFT_OUT = '(?:[^",\\r\\n]*|"[^"\\r\\n]*")'
_LENGTH = f"{_D}{{1,9}}"
#: PostgreSQL's DateStyle for reading each format's dates (the expression fixes their shape).
DATE_STYLE = {"iso": "ISO, YMD", "dmy": "ISO, DMY", "mdy": "ISO, MDY", "excel": "ISO, YMD"}


def _days_of(year: int, month: int) -> str:
    last = calendar.monthrange(year, month)[1]
    return {28: "0[1-9]|1[0-9]|2[0-8]", 29: "0[1-9]|[12][0-9]", 30: "0[1-9]|[12][0-9]|30"}.get(
        last, "0[1-9]|[12][0-9]|3[01]"
    )


def _moment(date_format: str, month: date | None) -> str:
    """A date and time in the plain shape; with `period`, a due time in that month (UK time, so
    the day written is its UK day; an ISO time with an offset is checked by the database)."""
    time = f" {_TIME}"
    if date_format == "excel":
        return f"{_D}{{5}}(?:\\.{_D}{{1,9}})?"
    if date_format == "iso":
        day = f"{month:%Y-%m}-{_DD}" if month else _DAY
        return f"{day}[ T]{_TIME}{_OFFSET}?"
    if month is None:
        first, second = (_DD, _MM) if date_format == "dmy" else (_MM, _DD)
        return f"{first}/{second}/{_YEAR}{time}"
    days = f"(?:{_days_of(month.year, month.month)})"
    if date_format == "dmy":
        return f"{days}/{month:%m}/{month:%Y}{time}"
    return f"{month:%m}/{days}/{month:%Y}{time}"


def _day(date_format: str) -> str:
    if date_format == "excel":
        return f"{_D}{{5}}"
    if date_format == "iso":
        return _DAY
    first, second = (_DD, _MM) if date_format == "dmy" else (_MM, _DD)
    return f"{first}/{second}/{_YEAR}"


@lru_cache(maxsize=64)
def _line_pattern(key: str, month: date) -> re.Pattern:
    import json

    mapping = json.loads(key)
    # No row is longer than the careful reader takes: each column left out is bounded.
    left_out = _LEFT_OUT.replace("*", f"{{0,{MAX_ROW_CHARS // (2 * len(mapping['header']))}}}")
    fmt = mapping.get("date_format", "iso")
    by_column = {
        how["column"]: field for field, how in mapping["fields"].items() if "column" in how
    }
    said = answers(mapping)
    words = "|".join(re.escape(w) for w in sorted(said, key=len, reverse=True))
    cells = []
    for column in mapping["header"]:
        field = by_column.get(column)
        if field is None:
            cell = left_out
        elif field in TEXTS:
            cell = _TEXT
        elif field in MOMENTS:
            cell = _moment(fmt, month if field == "due_time" else None)
        elif field in DAYS:
            cell = _day(fmt)
        elif field == "outcome_recorded":
            cell = f"(?ai:{words})"
        else:
            cell = _LENGTH
        if field in OPTIONAL:
            cell = f"(?:{cell})?"
        cells.append(cell)
    line = ",".join(cells) + "\n"
    return re.compile(f"(?:{line})*")


def block_pattern(mapping: dict, period: Period) -> re.Pattern:
    """Any number of whole lines in the plain shape of a file read through `mapping`."""
    import json

    key = json.dumps(
        {k: mapping.get(k) for k in ("header", "fields", "date_format", "yes", "no")},
        sort_keys=True,
    )
    return _line_pattern(key, period.start)


#: Memory for this session's temporary tables. PostgreSQL's default (8 MB) holds a few tens
#: of thousands of rows, so a large file's table would go to disk and back; the memory is only
#: taken as the table grows.
TEMPORARY_TABLE_MEMORY = "256MB"


def room_for_temporary_tables(cursor) -> None:
    """Give the session's temporary tables TEMPORARY_TABLE_MEMORY, where it can still be given:
    PostgreSQL fixes it at the session's first temporary table, so a connection that has had one
    keeps what it had (the import is as right, if slower)."""
    try:
        with transaction.atomic():
            cursor.execute("SELECT set_config('temp_buffers', %s, false)", [TEMPORARY_TABLE_MEMORY])
    except DatabaseError:
        pass


def _column_type(field: str | None, date_format: str) -> str:
    if field in MOMENTS:
        return "numeric" if date_format == "excel" else "timestamptz"
    if field in DAYS:
        return "integer" if date_format == "excel" else "date"
    if field == "narrative_length":
        return "integer"
    return "text"


def build_insert(mapping: dict, header: list[str], table: str, import_id: int, period: Period):
    """The INSERT ... SELECT from the typed temporary table into assurance_ecmrecord, and its
    parameters. Only an Excel or ISO due time (whose UK day the expression cannot see) is
    checked here against the month: rows outside it are left out and the counts differ."""
    fmt = mapping.get("date_format", "iso")
    said = answers(mapping)
    select: list[str] = []
    params: list = [import_id]
    where: list[str] = []
    where_params: list = []
    for field in COLUMNS:
        how = mapping["fields"].get(field, {"absent": True})
        if "column" in how:
            o = f"t.c{header.index(how['column'])}"
        elif "value" in how:
            o = "%s"
            params.append(str(how["value"]).strip())
        else:
            o = "NULL"
        if field in TEXTS:
            select.append(f"coalesce({o}::text, '')")
        elif field in MOMENTS:
            if fmt == "excel" and "column" in how:
                expr = f"(timestamp '1899-12-30' + round({o} * 86400) * interval '1 second')"
                expr += "::timestamptz"
            else:
                expr = f"{o}::timestamptz"
            select.append(expr)
            if field == "due_time" and fmt in ("excel", "iso"):
                where.append(f"{expr} >= %s AND {expr} < %s")
                where_params += [
                    uk_time(datetime.combine(period.start, datetime.min.time())),
                    uk_time(datetime.combine(period.next().start, datetime.min.time())),
                ]
        elif field in DAYS:
            if fmt == "excel" and "column" in how:
                select.append(f"(date '1899-12-30' + {o})")
            else:
                select.append(f"{o}::date")
        elif field == "outcome_recorded":
            select.append(f"lower({o}::text) = ANY(%s)")
            params.append(sorted(w for w, a in said.items() if a == "yes"))
        else:
            select.append(f"{o}::integer")
    columns = (
        "ecm_import_id, row_number, reference, record_type, due_at, recorded_at, author_role, "
        "outcome_recorded, last_review_on, review_due_on, narrative_length"
    )
    # Only our own names and expressions are written into the SQL; values are parameters.
    sql = (
        f"INSERT INTO {EcmRecord._meta.db_table} ({columns}) "  # noqa: S608
        f"SELECT %s, t.n, {', '.join(select)} FROM {table} AS t"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, [*params, *where_params]


def _header(stream) -> list[str] | None:
    line = stream.readline(1 << 16)
    stream.seek(0)
    try:
        text = line.decode("utf-8-sig")
        return [normalise(c) for c in next(csv.reader(io.StringIO(text)))]
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return None


class _Order:
    """Whether every reference sorts after the one before it, as exports listed by reference do:
    then none is on two rows and the database need not look (as in `ecm_plain`). Known only
    when the references can be cut from the lines without reading the CSV: unquoted, in the
    first column or in a block with no quote marks."""

    def __init__(self, column: int | None):
        self.column = column
        self.ordered = column is not None
        self._last = None

    def see(self, text: str) -> None:
        if not self.ordered:
            return
        lines = text.split("\n")
        lines.pop()
        if self.column == 0:
            if text.startswith('"') or '\n"' in text:
                self.ordered = False
                return
            references = [line.partition(",")[0] for line in lines]
        elif '"' not in text:
            k = self.column
            references = [line.split(",", k + 1)[k] for line in lines]
        else:
            self.ordered = False
            return
        if not references:
            return
        last, self._last = self._last, references[-1]
        if last is not None and not last < references[0]:
            self.ordered = False
            return
        self.ordered = all(map(str.__lt__, references, islice(references, 1, None)))


def copy_in(
    cursor, table: str, names: str, stream, pattern, progress, order: _Order
) -> tuple[int, int]:
    """COPY the checked blocks of the file into `table`; gives (rows, bytes read). Raises
    NotPlain at the first block the expression does not take."""
    bytes_read = rows = 0
    with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
        for text, size in _blocks(stream):
            if not bytes_read:
                text = text[text.index("\n") + 1 :] if "\n" in text else ""
            if not pattern.fullmatch(text):
                raise NotPlain
            copy.write(text)
            order.see(text)
            rows += text.count("\n")
            bytes_read += size
            progress(bytes_read, rows)
    return rows, bytes_read


def insert(cursor, sql: str, params: list) -> int:
    """Run the INSERT ... SELECT; gives the rows it stored."""
    cursor.execute(sql, params)
    return cursor.rowcount


def _csv_text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


_ROW = object()  # where a line's row number goes


class CaregovLines:
    """Each checked line of a mapped file as a line of the plain path's COPY (`copy_query`): the
    import's id, the row number, then caregov's nine fields in caregov's order, each the file's
    cell as written (the database reads the times in the profile's DateStyle), a fixed value, or
    empty for a field not in the export; the yes and no words as t and f.

    A block with no quote marks is cut at its commas and newlines into one list of cells, and
    each of caregov's fields taken from it as a slice (every width-th cell from its column's):
    the lines are put together by list operations, not line by line in Python."""

    def __init__(self, mapping: dict, header: list[str], import_id: int):
        said = answers(mapping)
        self.truth = {word: "t" if answer == "yes" else "f" for word, answer in said.items()}
        self.width = len(header)
        self.outcome = None  # the file's column holding the yes and no words, if any
        # Alternately a constant text and a column of the file (or _ROW), ending in a constant.
        parts: list = [f"{int(import_id)},", _ROW]
        constant = ""
        for field in COLUMNS:
            how = mapping["fields"].get(field, {"absent": True})
            constant += ","
            if "column" in how:
                index = header.index(how["column"])
                if field == "outcome_recorded":
                    self.outcome = index
                parts += [constant, index]
                constant = ""
            elif "value" in how:
                value = str(how["value"]).strip()
                if field == "outcome_recorded":
                    value = self.truth.get(value.lower(), "f")
                constant += _csv_text(value)
        parts.append(constant + "\n")
        self.parts = parts

    def block(self, text: str, first_row: int) -> tuple[str, int]:
        """The block in caregov's lines, and how many lines it held."""
        quoted = '"' in text
        if quoted:
            # The expression lets no quote mark inside a quoted cell, so every other piece
            # between quote marks is a cell's inside: its commas are hidden while the lines
            # are cut, and the quoted cells go to the COPY as the file quotes them.
            if "\x00" in text:
                raise NotPlain
            pieces = text.split('"')
            pieces[1::2] = [inside.replace(",", "\x00") for inside in pieces[1::2]]
            text = '"'.join(pieces)
        cells = text.replace("\n", ",").split(",")
        rows, width = len(cells) // self.width, self.width
        if rows * width != len(cells) - 1:
            raise NotPlain
        # A thousand lines at a time: the lists stay in the processor's cache.
        lines = []
        for start in range(0, rows, 1000):
            count = min(1000, rows - start)
            some = cells[start * width : (start + count) * width]
            lines.append(self._lines(some, count, first_row + start))
        caregov = "".join(lines)
        return caregov.replace("\x00", ",") if quoted else caregov, rows

    def _lines(self, cells: list[str], rows: int, first_row: int) -> str:
        step, width = len(self.parts), self.width
        out: list = [None] * (rows * step)
        for i, part in enumerate(self.parts):
            if isinstance(part, str):
                out[i::step] = [part] * rows
            elif part is _ROW:
                out[i::step] = map(str, range(first_row, first_row + rows))
            elif part == self.outcome:
                out[i::step] = map(self.truth.__getitem__, map(str.lower, cells[part::width]))
            else:
                out[i::step] = cells[part::width]
        return "".join(out)


def copy_direct(cursor, stream, pattern, lines: CaregovLines, progress, order: _Order):
    """COPY the checked blocks of the file, in caregov's lines, straight into assurance_ecmrecord
    as the plain path does; gives (rows, bytes read). Raises NotPlain at the first block the
    expression does not take."""
    bytes_read = rows = 0
    with cursor.cursor.copy(copy_query()) as copy:
        for text, size in _blocks(stream):
            if not bytes_read:
                text = text[text.index("\n") + 1 :] if "\n" in text else ""
            if not pattern.fullmatch(text):
                raise NotPlain
            block, count = lines.block(text, rows + 2)
            copy.write(block)
            order.see(text)
            rows += count
            bytes_read += size
            progress(bytes_read, rows)
    return rows, bytes_read


def _outside_month(import_id: int, period: Period) -> bool:
    """Whether a due time stored for the import falls outside its month in UK time (an ISO time
    with an offset can be written on the month's days and still fall outside it)."""
    start = uk_time(datetime.combine(period.start, datetime.min.time()))
    end = uk_time(datetime.combine(period.next().start, datetime.min.time()))
    rows = EcmRecord.objects.filter(ecm_import_id=import_id)
    return rows.filter(due_at__lt=start).exists() or rows.filter(due_at__gte=end).exists()


def _load_direct(cursor, stream, mapping, header, import_id, period, progress) -> int:
    """The way for every date format but Excel's: caregov's lines COPYed straight in."""
    reference = mapping["fields"].get("record_reference", {}).get("column")
    order = _Order(header.index(reference) if reference in header else None)
    lines = CaregovLines(mapping, header, import_id)
    copied, bytes_read = copy_direct(
        cursor, stream, block_pattern(mapping, period), lines, progress, order
    )
    if not copied:
        raise NotPlain
    if mapping.get("date_format") == "iso" and _outside_month(import_id, period):
        raise NotPlain
    if not order.ordered and has_duplicates(import_id):
        raise NotPlain
    progress(bytes_read, copied)
    return copied


def load(
    stream: Iterable[bytes],
    *,
    import_id: int,
    period: Period,
    progress: Callable[[int, int], None],
    mapping: dict,
) -> Outcome | None:
    """Load a plain mapped file's rows for `import_id` and give the outcome, or None (nothing
    loaded) when the file has to go the careful way. Runs inside the caller's transaction."""
    header = _header(stream)
    if header is None or header != mapping.get("header"):
        return None
    fmt = mapping.get("date_format", "iso")
    for field in MOMENTS + DAYS:
        if "value" in mapping["fields"].get(field, {}):
            return None  # a fixed date is rare: the careful reader reads it as it is written
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            zone = set_time_zone(cursor, LONDON.key)
            cursor.execute(
                "SELECT current_setting('DateStyle'), set_config('DateStyle', %s, true)",
                [DATE_STYLE[fmt]],
            )
            style = cursor.fetchone()[0]
            if fmt == "excel":
                rows = _load_typed(cursor, stream, mapping, header, import_id, period, progress)
            else:
                rows = _load_direct(cursor, stream, mapping, header, import_id, period, progress)
            cursor.execute("SELECT set_config('DateStyle', %s, true)", [style])
            set_time_zone(cursor, zone)
    except (NotPlain, psycopg.Error, DatabaseError, re.error, KeyError):
        return None
    return Outcome(rows_read=rows, period=period)


def _load_typed(cursor, stream, mapping, header, import_id, period, progress) -> int:
    """The way for Excel's serial days, which the database cannot read as times: the checked
    blocks COPYed into a temporary table with the fields' types, then one INSERT ... SELECT."""
    fmt = mapping.get("date_format", "iso")
    by_column = {h["column"]: f for f, h in mapping["fields"].items() if "column" in h}
    table = f"ecm_mapped_{int(import_id)}"
    columns = ", ".join(
        f"c{i} {_column_type(by_column.get(name), fmt)}" for i, name in enumerate(header)
    )
    names = ", ".join(f"c{i}" for i in range(len(header)))
    room_for_temporary_tables(cursor)
    cursor.execute(
        f"CREATE TEMPORARY TABLE {table} "
        f"(n integer GENERATED BY DEFAULT AS IDENTITY (START WITH 2), {columns}) "
        "ON COMMIT DROP"
    )
    reference = mapping["fields"].get("record_reference", {}).get("column")
    order = _Order(header.index(reference) if reference in header else None)
    pattern = block_pattern(mapping, period)
    copied, bytes_read = copy_in(cursor, table, names, stream, pattern, progress, order)
    sql, params = build_insert(mapping, header, table, import_id, period)
    inserted = insert(cursor, sql, params)
    if not copied or inserted != copied:
        raise NotPlain
    if not order.ordered and has_duplicates(import_id):
        raise NotPlain
    cursor.execute(f"DROP TABLE {table}")
    progress(bytes_read, inserted)
    return inserted
