"""The quick way in for a supplier's export read through a profile (PostgreSQL only).

The file goes to the database as it is: PostgreSQL's CSV reader COPYs its columns, as text, into
a temporary table that numbers the rows as a spreadsheet does (the header is row 1; a quoted
line break stays in its row). One INSERT ... SELECT then applies the mapping: per field a regular
expression says the text is in the plain shape, and an expression turns it into caregov's value
(a DD/MM/YYYY time rebuilt as ISO text and read in the Europe/London zone, Excel days added to
30 Dec 1899, the profile's yes and no words, a fixed value, or nothing). The file is never
rewritten in Python.

As with `ecm_plain`, this path only ever says yes or "not mine": a row whose text is not plain
(the rows inserted are fewer than the rows copied), a value the database refuses, a blank line,
a row with another number of cells, bytes that are not UTF-8, a due time outside the month or a
reference on two rows: everything is rolled back to a savepoint and the careful reader reads the
file from the start through the same mapping, reporting every problem with its row and column.
The expressions accept less than the careful reader does, never more, and give the same values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import datetime

import psycopg
from django.db import DatabaseError, connection, transaction

from assurance.ecm import _INVISIBLE, COLUMNS, MAX_ROW_CHARS, Outcome, read_chunks, uk_time
from assurance.ecm_plain import NotPlain, has_duplicates, set_time_zone
from assurance.mapping import DAYS, MOMENTS, OPTIONAL, TEXTS, answers, normalise
from assurance.models import EcmRecord
from caregov.cadence import LONDON, Period

_D = "[0-9]"
_TIME = f"(?:[01]{_D}|2[0-3]):[0-5]{_D}(?::[0-5]{_D})?"
_YEAR = f"(?:19|20){_D}{_D}"
_MM = "(?:0[1-9]|1[0-2])"
_DD = f"(?:0[1-9]|[12]{_D}|3[01])"
#: Python's str.strip() removes these; so a plain text neither starts nor ends with one.
_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_FORMULA = "=+\\-@\uff1d\uff0b\uff0d\uff20"
#: An ISO date and time, for files written that way (PostgreSQL's regular expressions are slower
#: than the plain checks below, so the other formats are checked by position and by what is left
#: once the digits are taken out).
ISO_MOMENT = f"^{_YEAR}-{_MM}-{_DD}[ T]{_TIME}(?:Z|[+-](?:0{_D}|1[0-4]):[0-5]{_D})?$"
ISO_DAY = f"^{_YEAR}-{_MM}-{_DD}$"
#: A plain text cell neither starts with these (a space, a formula start, an invisible character
#: that might hide one, a quote mark) nor ends with a space or a quote mark.
BAD_FIRST = _SPACES + "=+-@\uff1d\uff0b\uff0d\uff20" + _INVISIBLE + '"'
BAD_LAST = _SPACES + '"'
_DIGITS = "'0123456789'"


def _undigited(o: str) -> str:
    return f"translate({o}, {_DIGITS}, '')"


def _text_plain(o: str) -> tuple[str, list]:
    # ascii() is the first character's code point (0 for an empty text); a quoted line break
    # inside a cell is stored alike by both readers.
    return (
        f"(ascii({o}) <> ALL(%s) AND right({o}, 1) <> ALL(%s))",
        [[0, *map(ord, BAD_FIRST)], list(BAD_LAST)],
    )


def _moment_plain(o: str, date_format: str) -> tuple[str, list]:
    """SQL that is true only for a date and time the careful reader reads the same way."""
    if date_format == "iso":
        return f"({o} ~ %s)", [ISO_MOMENT]
    if date_format == "excel":
        return (
            f"({_undigited(o)} IN ('', '.') AND ((strpos({o}, '.') = 0 AND length({o}) = 5) "
            f"OR (strpos({o}, '.') = 6 AND length({o}) BETWEEN 7 AND 15)))",
            [],
        )
    # DD/MM/YYYY HH:MM or with :SS (or MM/DD/...). Only digits and the separators, and each
    # separator only where it belongs (as many of each as the shape has), so the rest are
    # digits; a year of this century or the last; not 24:00 nor a 60th second, which the
    # database would take (a minute over 59 and an impossible day it refuses). LIKE and btrim
    # are far cheaper here than a regular expression or translate(). (%% is % in the query.)
    return (
        f"(btrim({o}, '0123456789/: ') = '' "
        f"AND (({o} LIKE '__/__/____ __:__' AND {o} NOT LIKE '%%:%%:%%') "
        f"OR ({o} LIKE '__/__/____ __:__:__' AND {o} NOT LIKE '%%:%%:%%:%%' "
        f"AND {o} NOT LIKE '%%:6_')) "
        f"AND {o} NOT LIKE '%%/%%/%%/%%' AND {o} NOT LIKE '%% %% %%' "
        f"AND ({o} LIKE '______19%%' OR {o} LIKE '______20%%') AND {o} NOT LIKE '___________24%%')",
        [],
    )


def _day_plain(o: str, date_format: str) -> tuple[str, list]:
    if date_format == "iso":
        return f"({o} ~ %s)", [ISO_DAY]
    if date_format == "excel":
        return f"(length({o}) = 5 AND btrim({o}, {_DIGITS}) = '')", []
    return (
        f"({o} LIKE '__/__/____' AND btrim({o}, '0123456789/') = '' "
        f"AND {o} NOT LIKE '%%/%%/%%/%%' AND ({o} LIKE '______19%%' OR {o} LIKE '______20%%'))",
        [],
    )


def _due_in_month(o: str, expr: str, date_format: str, period: Period) -> tuple[str, list]:
    """SQL true when the due time falls in the export's month (its UK day, as the careful reader
    takes it). A UK time written without an offset is on the day it says."""
    if date_format == "dmy":
        return f"substr({o}, 4, 7) = %s", [f"{period.start:%m/%Y}"]
    if date_format == "mdy":
        return f"(left({o}, 2) = %s AND substr({o}, 7, 4) = %s)", [
            f"{period.start:%m}",
            f"{period.start:%Y}",
        ]
    start = uk_time(datetime.combine(period.start, datetime.min.time()))
    end = uk_time(datetime.combine(period.next().start, datetime.min.time()))
    return f"({expr} >= %s AND {expr} < %s)", [start, end]


def _moment(operand: str, date_format: str) -> str:
    """SQL for the moment a plain text `operand` names (UK time unless it has an offset)."""
    if date_format == "dmy":
        iso = f"substr({operand},7,4)||'-'||substr({operand},4,2)||'-'||substr({operand},1,2)"
        return f"({iso}||substr({operand},11))::timestamptz"
    if date_format == "mdy":
        iso = f"substr({operand},7,4)||'-'||substr({operand},1,2)||'-'||substr({operand},4,2)"
        return f"({iso}||substr({operand},11))::timestamptz"
    if date_format == "excel":
        return (
            f"(timestamp '1899-12-30' + round({operand}::numeric * 86400) * interval '1 second')"
            "::timestamptz"
        )
    return f"{operand}::timestamptz"


def _day(operand: str, date_format: str) -> str:
    if date_format == "dmy":
        return (
            f"(substr({operand},7,4)||'-'||substr({operand},4,2)||'-'||substr({operand},1,2))::date"
        )
    if date_format == "mdy":
        return (
            f"(substr({operand},7,4)||'-'||substr({operand},1,2)||'-'||substr({operand},4,2))::date"
        )
    if date_format == "excel":
        return f"(date '1899-12-30' + {operand}::integer)"
    return f"{operand}::date"


def build_insert(mapping: dict, header: list[str], table: str, import_id: int, period: Period):
    """The INSERT ... SELECT that applies `mapping` to the temporary table's columns, and its
    parameters. Rows not in the plain shape are left out (the caller compares the counts)."""
    fmt = mapping.get("date_format", "iso")
    fixed: list[str] = []

    def operand(field: str) -> str:
        how = mapping["fields"].get(field, {"absent": True})
        if "column" in how:
            return f"t.c{header.index(how['column'])}"
        if "value" in how:
            fixed.append(str(how["value"]).strip())
            return f"f.f{len(fixed) - 1}"
        return "NULL::text"

    said = answers(mapping)
    select: list[str] = []
    select_params: list = []
    where: list[str] = []
    where_params: list = []
    for field in COLUMNS:
        o = operand(field)
        optional = field in OPTIONAL
        if field in TEXTS:
            select.append(f"coalesce({o}, '')")
            check = _text_plain(o)
        elif field in MOMENTS:
            expr = _moment(o, fmt)
            if optional:
                select.append(f"CASE WHEN coalesce({o}, '') = '' THEN NULL ELSE {expr} END")
            else:
                select.append(expr)
                month, month_params = _due_in_month(o, expr, fmt, period)
                where.append(month)
                where_params += month_params
            check = _moment_plain(o, fmt)
        elif field in DAYS:
            select.append(f"CASE WHEN coalesce({o}, '') = '' THEN NULL ELSE {_day(o, fmt)} END")
            check = _day_plain(o, fmt)
        elif field == "outcome_recorded":
            select.append(f"lower({o}) = ANY(%s)")
            select_params.append(sorted(w for w, a in said.items() if a == "yes"))
            check = (f"lower({o}) = ANY(%s)", [sorted(said)])
        else:  # narrative_length
            select.append(f"{o}::integer")
            check = (f"(length({o}) BETWEEN 1 AND 9 AND btrim({o}, {_DIGITS}) = '')", [])
        sql, params = check
        if optional:
            where.append(f"({o} IS NULL OR {o} = '' OR {sql})")
        else:
            where.append(f"coalesce({sql}, false)")
        where_params += params
    # Every column of the file, mapped or not: no quote mark inside (so both readers split the
    # rows alike); and the columns left out are not near the longest row the careful reader
    # takes (the mapped ones are bounded by their shapes and the database's columns).
    every = ", ".join(f"t.c{i}" for i in range(len(header)))
    where.append(f"strpos(concat({every}), '\"') = 0")
    used = {
        mapping["fields"][f]["column"] for f in COLUMNS if "column" in mapping["fields"].get(f, {})
    }
    left_out = ", ".join(f"t.c{i}" for i, name in enumerate(header) if name not in used)
    if left_out:
        where.append(f"length(concat({left_out})) < {MAX_ROW_CHARS // 2}")
    constants = ", ".join(f"%s::text AS f{i}" for i in range(len(fixed))) or "1 AS none"
    columns = (
        "ecm_import_id, row_number, reference, record_type, due_at, recorded_at, author_role, "
        "outcome_recorded, last_review_on, review_due_on, narrative_length"
    )
    # Only our own names and expressions are written into the SQL; values are parameters.
    sql = (
        f"INSERT INTO {EcmRecord._meta.db_table} ({columns}) "  # noqa: S608
        f"SELECT %s, t.n, {', '.join(select)} FROM {table} AS t "
        f"CROSS JOIN (SELECT {constants}) AS f WHERE {' AND '.join(where)}"
    )
    return sql, [import_id, *select_params, *fixed, *where_params]


def _header(stream) -> list[str] | None:
    line = stream.readline(MAX_ROW_CHARS)
    stream.seek(0)
    try:
        text = line.decode("utf-8-sig")
        return [normalise(c) for c in next(csv.reader(io.StringIO(text)))]
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return None


def copy_in(cursor, table: str, names: str, stream, progress) -> tuple[int, int]:
    """COPY the file's columns as text into `table`; gives (rows copied, bytes read)."""
    bytes_read = 0
    with cursor.cursor.copy(
        f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)"
    ) as copy:
        for chunk in read_chunks(stream):
            copy.write(chunk)
            bytes_read += len(chunk)
            progress(bytes_read, 0)
    return cursor.cursor.rowcount, bytes_read


def insert(cursor, sql: str, params: list) -> int:
    """Run the INSERT ... SELECT; gives the rows it stored."""
    cursor.execute(sql, params)
    return cursor.rowcount


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
    table = f"ecm_mapped_{int(import_id)}"
    columns = ", ".join(f"c{i} text" for i in range(len(header)))
    names = ", ".join(f"c{i}" for i in range(len(header)))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            zone = set_time_zone(cursor, LONDON.key)
            cursor.execute(
                f"CREATE TEMPORARY TABLE {table} "
                f"(n integer GENERATED BY DEFAULT AS IDENTITY (START WITH 2), {columns}) "
                "ON COMMIT DROP"
            )
            copied, bytes_read = copy_in(cursor, table, names, stream, progress)
            sql, params = build_insert(mapping, header, table, import_id, period)
            inserted = insert(cursor, sql, params)
            set_time_zone(cursor, zone)
            if not copied or inserted != copied or has_duplicates(import_id):
                raise NotPlain
            cursor.execute(f"DROP TABLE {table}")
    except (NotPlain, psycopg.Error, DatabaseError):
        return None
    progress(bytes_read, inserted)
    return Outcome(rows_read=inserted, period=period)
