"""Reading a supplier's own export through a column mapping (an ImportProfile).

A mapping says, for each of caregov's nine fields, which of the file's columns holds it, or a
fixed value for every row, or that the export does not have it (optional fields only); how its
dates and times are written; which words mean yes and no; and which columns are left out. The
careful reader (`ecm.read_export`) turns each row into caregov's nine values here and then runs
every one of its own checks on them, so a mapped file is held to the same rules as one in
caregov's shape; each problem names the row and the FILE's column. The quick way on PostgreSQL
(`ecm_mapped`) applies the same mapping inside the database.

Columns that look like personal data (a name, an NHS number, a date of birth, an address) are
never mapped and never kept: caregov refers to care records by their ECM reference only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from assurance.ecm import (
    _FORMULA_CELL,
    COLUMNS,
    MAX_COLUMNS,
    RowChecker,
    _names,
    not_text,
    quoted,
    shown,
)

REQUIRED = ("record_reference", "record_type", "due_time", "outcome_recorded", "narrative_length")
OPTIONAL = ("recorded_time", "author_role", "last_review_date", "review_due_date")
MOMENTS = ("due_time", "recorded_time")
DAYS = ("last_review_date", "review_due_date")
TEXTS = ("record_reference", "record_type", "author_role")

#: What each field means, in the words of the DSCR minimum operational data standard.
FIELD_HELP = {
    "record_reference": "The record identifier: the ECM's own reference for the care record, "
    "unique in the export. Never a person's name or NHS number.",
    "record_type": "The kind of record: daily note, medication record, care plan review, "
    "incident record ...",
    "due_time": "The event time: when the care was due to be given and recorded.",
    "recorded_time": "The entry time: when the record was written in the ECM, which may be "
    "after the event. Empty when it was never written.",
    "author_role": "The author's role (care worker, nurse ...), never the author's name.",
    "outcome_recorded": "Whether the record says what difference the care made.",
    "last_review_date": "Last modified or reviewed: when a care plan or assessment was last "
    "reviewed.",
    "review_due_date": "When that review was due. Empty when the record has no review.",
    "narrative_length": "How many characters of narrative the record holds (not the narrative).",
}
LABELS = {
    "record_reference": "Record identifier",
    "record_type": "Record type",
    "due_time": "Event time (due)",
    "recorded_time": "Entry time (recorded)",
    "author_role": "Author role",
    "outcome_recorded": "Outcome recorded",
    "last_review_date": "Last reviewed",
    "review_due_date": "Review due",
    "narrative_length": "Narrative length",
}
EXAMPLES = {
    "iso": ("2026-10-14 08:30", "2026-10-14"),
    "dmy": ("14/10/2026 08:30", "14/10/2026"),
    "mdy": ("10/14/2026 08:30", "10/14/2026"),
    "excel": ("46309.354", "46309"),
}
DEFAULT_YES = ["yes", "y", "true", "1"]
DEFAULT_NO = ["no", "n", "false", "0"]

#: Words in a column's name that mean it holds personal data.
_PERSONAL_WORDS = {
    "name",
    "names",
    "forename",
    "forenames",
    "surname",
    "firstname",
    "lastname",
    "fullname",
    "nhs",
    "nhsno",
    "nhsnumber",
    "dob",
    "address",
    "postcode",
    "birthdate",
    "dateofbirth",
}
_PERSONAL_PHRASES = ("date of birth", "birth date", "post code")
#: A value like a 10-digit NHS number (485 777 3456, 485-777-3456, 4857773456).
NHS_NUMBER = re.compile(r"\d{3}[ -]?\d{3}[ -]?\d{4}")
_EXCEL_EPOCH = datetime(1899, 12, 30)
#: The last day Python's dates hold, as Excel days.
_EXCEL_LAST = 2958465
_MOMENT_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_DAY_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_SERIAL = re.compile(r"\d{1,7}(?:\.\d+)?")


def normalise(name: str) -> str:
    """A column name as caregov compares it: no byte-order mark, trimmed, lower case, one space."""
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


def header_key(header: list[str]) -> str:
    return hashlib.sha256("\x1f".join(header).encode("utf-8")).hexdigest()


def personal_reason(name: str, samples: list[str] = ()) -> str:
    """Why a column looks like personal data, or "" when it does not."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower()
    words = set(re.split(r"[^a-z0-9]+", spaced))
    phrase = " ".join(w for w in re.split(r"[^a-z0-9]+", spaced) if w)
    if words & _PERSONAL_WORDS or any(p in phrase for p in _PERSONAL_PHRASES):
        return "its name says it holds personal data (a name, NHS number, date of birth or address)"
    if any(NHS_NUMBER.fullmatch(value.strip()) for value in samples if value.strip()):
        return "its values look like 10-digit NHS numbers"
    return ""


@dataclass
class FileColumns:
    """The first rows of an uploaded file, for the mapping page: its header and samples."""

    names: list[str]
    header: list[str]
    #: Per column, its first values (up to `samples`, non-empty first).
    samples: list[list[str]]
    #: The first data rows as read, for the preview.
    rows: list[list[str]]
    #: Per column, why it looks like personal data, or "".
    personal: list[str]
    #: Per column, the values looked at for personal data (never shown).
    checked: list[list[str]]
    #: Whether the samples were read from a file (a saved profile's columns have none).
    sampled: bool = True


def profile_columns(profile) -> FileColumns:
    """A saved profile's columns for its mapping page: no file's values to show, and the columns
    refused as personal data when it was saved refused again, with those whose names say so."""
    personal = [
        profile.personal_columns.get(header, "") or personal_reason(name, [])
        for header, name in zip(profile.header, profile.column_names, strict=True)
    ]
    empty = [[] for _ in profile.header]
    return FileColumns(
        names=list(profile.column_names),
        header=list(profile.header),
        samples=empty,
        rows=[],
        personal=personal,
        checked=empty,
        sampled=False,
    )


def read_columns(path, *, rows: int = 10, samples: int = 3) -> FileColumns | None:
    """The header and first rows of a file, or None when it has no readable header."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    if not head or not_text(head):
        return None
    if len(head) == 1 << 20:
        head = head[: head.rfind(b"\n") + 1]
    reader = csv.reader(io.StringIO(head.decode("utf-8-sig", errors="replace"), newline=""))
    try:
        names = [c.strip() for c in next(reader)]
    except (StopIteration, csv.Error):
        return None
    if not any(names) or len(names) > MAX_COLUMNS:
        return None
    first: list[list[str]] = []
    looked: list[list[str]] = []
    try:
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(first) < rows:
                first.append(cells)
            looked.append(cells)
            if len(looked) >= 200:
                break
    except csv.Error:
        pass
    columns = [[row[i].strip() for row in looked if i < len(row)] for i in range(len(names))]
    personal = [personal_reason(name, values) for name, values in zip(names, columns, strict=True)]
    shown_samples = []
    for values, reason in zip(columns, personal, strict=True):
        kept = [] if reason else [v for v in values if v][:samples]
        shown_samples.append(kept)
    return FileColumns(
        names=names,
        header=[normalise(n) for n in names],
        samples=shown_samples,
        rows=first,
        personal=personal,
        checked=columns,
    )


def in_caregov_shape(header: list[str]) -> bool:
    """Whether a header is meant as caregov's own nine columns (at least five of them are
    there): the careful reader then names what is missing or extra, rather than asking for a
    mapping."""
    return len(set(header) & set(COLUMNS)) >= 5 or len(header) > MAX_COLUMNS


# Values ----------------------------------------------------------------------------------------


def moment_text(text: str, date_format: str) -> str | None:
    """A date and time as the file writes it, as caregov's own text (2026-10-14 08:30, UK time),
    or None when it is not one. ISO text is given back as it is: caregov's reader reads it."""
    if date_format == "iso":
        return text
    if date_format == "excel":
        if not _SERIAL.fullmatch(text):
            return None
        try:
            seconds = int((Decimal(text) * 86400).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        except InvalidOperation:
            return None
        if seconds > _EXCEL_LAST * 86400:
            return None
        return f"{_EXCEL_EPOCH + timedelta(seconds=seconds):%Y-%m-%d %H:%M:%S}"
    match = _MOMENT_SLASHED.fullmatch(text)
    if not match:
        return None
    first, second, year, hour, minute, second_of = match.groups()
    day, month = (first, second) if date_format == "dmy" else (second, first)
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return None
    tail = f":{second_of}" if second_of else ""
    return f"{year}-{int(month):02d}-{int(day):02d} {int(hour):02d}:{minute}{tail}"


def day_text(text: str, date_format: str) -> str | None:
    """A date as the file writes it, as 2026-10-14, or None when it is not one."""
    if date_format == "iso":
        return text
    if date_format == "excel":
        if not _SERIAL.fullmatch(text):
            return None
        days = int(Decimal(text).to_integral_value(rounding=ROUND_FLOOR))
        if days > _EXCEL_LAST:
            return None
        return (_EXCEL_EPOCH + timedelta(days=days)).date().isoformat()
    match = _DAY_SLASHED.fullmatch(text)
    if not match:
        return None
    first, second, year = match.groups()
    day, month = (first, second) if date_format == "dmy" else (second, first)
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def answers(mapping: dict) -> dict[str, str]:
    """The file's words (lower case) -> "yes" or "no"."""
    said = {word.strip().lower(): "no" for word in mapping.get("no", [])}
    said.update({word.strip().lower(): "yes" for word in mapping.get("yes", [])})
    return said


def _spelled(words: list[str]) -> str:
    return ", ".join(words[:6]) + (" ..." if len(words) > 6 else "")


# Reading rows ----------------------------------------------------------------------------------


class _Renamed:
    """The outcome as the careful checks see it: each problem is put under the file's column
    name, and a cell already flagged in this row gets no second problem."""

    def __init__(self, outcome, names: dict[str, str]):
        self._outcome = outcome
        self._names = names
        self.skip: set[str] = set()
        #: In this row, {caregov's text for a date: the file's own text}, so a message quotes
        #: what the file says.
        self.said: dict[str, str] = {}
        #: Problems not passed on (their cell already has one): still counted here, so the
        #: careful checks know the row is refused.
        self.suppressed = 0

    @property
    def problem_count(self) -> int:
        return self._outcome.problem_count + self.suppressed

    @property
    def period(self):
        return self._outcome.period

    @period.setter
    def period(self, value) -> None:
        self._outcome.period = value

    def add(self, row: int, column: str, message: str) -> None:
        if column in self.skip:
            self.suppressed += 1
            return
        named = self._names.get(column)
        if named is not None:
            label, name = named
            message = message.replace(column, f"{label} ({column})", 1)
            column = name
        for converted, original in self.said.items():
            message = message.replace(converted, shown(original))
        self._outcome.add(row, column, message)


def describe(name: str) -> str:
    return f"Column '{shown(name)}'"


class MappedRows:
    """Turns a row of the supplier's file into caregov's nine values and checks them as caregov's
    own reader does (`RowChecker`), with every problem under the file's column name."""

    def __init__(self, mapping: dict, names: list[str], outcome, period):
        header = [normalise(n) for n in names]
        self.width = len(names)
        self.outcome = outcome
        self.date_format = mapping.get("date_format", "iso")
        self.answers = answers(mapping)
        self.yes = list(mapping.get("yes", []))
        self.no = list(mapping.get("no", []))
        #: Per field: (index in the row or None, fixed text or None, what a message calls it).
        self.sources: list[tuple[int | None, str | None, str]] = []
        shown_names = {}
        for field in COLUMNS:
            how = mapping["fields"].get(field, {"absent": True})
            if "column" in how:
                index = header.index(how["column"])
                label = describe(names[index])
                self.sources.append((index, None, label))
                shown_names[field] = (label, names[index])
            elif "value" in how:
                label = f"The fixed value for {field}"
                self.sources.append((None, str(how["value"]), label))
                shown_names[field] = (label, "")
            else:
                self.sources.append((None, "", field))
        self.column_of = {
            field: (names[i] if i is not None else "")
            for field, (i, _, _) in zip(COLUMNS, self.sources, strict=True)
        }
        self.renamed = _Renamed(outcome, shown_names)
        self.inner = RowChecker(list(COLUMNS), self.renamed, period)

    @property
    def period(self):
        return self.inner.period

    @property
    def line_prefix(self) -> str:
        return self.inner.line_prefix

    @line_prefix.setter
    def line_prefix(self, value: str) -> None:
        self.inner.line_prefix = value

    def check(self, row_number: int, cells: list[str]):
        return self._read(row_number, cells, self.inner.check)

    def line(self, row_number: int, cells: list[str]):
        return self._read(row_number, cells, self.inner.line)

    def _add(self, row_number: int, field: str, message: str) -> None:
        self.outcome.add(row_number, self.column_of[field], message)

    def _read(self, row_number: int, cells: list[str], check):
        if len(cells) != self.width:
            self.outcome.add(
                row_number,
                "",
                f"Row {row_number} has {len(cells):,} cells; every row needs {self.width}.",
            )
            return None
        flagged: set[str] = set()
        values = []
        spoken = self.renamed.said = {}
        for field, (index, fixed, label) in zip(COLUMNS, self.sources, strict=True):
            raw = cells[index] if index is not None else fixed
            text = raw.strip()
            formula = _FORMULA_CELL.match(raw) if index is not None else None
            if formula:
                flagged.add(field)
                self._add(
                    row_number,
                    field,
                    f"{label} ({field}) starts with '{formula.group(1)}', which a spreadsheet "
                    "would run as a formula. Remove it.",
                )
            elif index is not None and "\x00" in raw:
                flagged.add(field)
                self._add(
                    row_number,
                    field,
                    f"{label} ({field}) holds a NUL character (byte 0), which cannot be stored. "
                    "Export the file again as CSV UTF-8.",
                )
            elif text and field in MOMENTS:
                converted = moment_text(text, self.date_format)
                if converted and converted != text:
                    spoken[converted] = text
                if converted is None:
                    flagged.add(field)
                    self._add(
                        row_number,
                        field,
                        f"{label} ({field}) {quoted(text)} is not a date and time like "
                        f"{EXAMPLES[self.date_format][0]}.",
                    )
                text = converted or ""
            elif text and field in DAYS:
                converted = day_text(text, self.date_format)
                if converted is None:
                    flagged.add(field)
                    self._add(
                        row_number,
                        field,
                        f"{label} ({field}) {quoted(text)} is not a date like "
                        f"{EXAMPLES[self.date_format][1]}.",
                    )
                text = converted or ""
            elif field == "outcome_recorded":
                said = self.answers.get(text.lower())
                if said is None:
                    flagged.add(field)
                    self._add(
                        row_number,
                        field,
                        f"{label} ({field}) must be {_spelled(self.yes)} (yes) or "
                        f"{_spelled(self.no)} (no), not {quoted(text)}.",
                    )
                text = said or "no"
            values.append(text)
        if flagged:
            # Still check the row's other cells, then refuse it: each cell has one problem.
            self.renamed.skip = flagged
            try:
                check(row_number, values)
            finally:
                self.renamed.skip = set()
            return None
        return check(row_number, values)


def check_mapped_header(cells: list[str], mapping: dict, outcome) -> list[str] | None:
    """The file's column names, or None after noting why the profile cannot read them."""
    profile = mapping.get("profile", "this profile")
    if len(cells) > MAX_COLUMNS:
        outcome.add(
            1,
            "",
            f"The header row has {len(cells):,} columns, more than {MAX_COLUMNS}. Check that "
            "this is the ECM export, comma separated.",
        )
        return None
    names = [c.strip() for c in cells]
    header = [normalise(c) for c in names]
    seen: dict[str, int] = {}
    for name in header:
        seen[name] = seen.get(name, 0) + 1
    problems = False
    repeated = sorted(n for n, count in seen.items() if count > 1)
    if repeated:
        outcome.add(
            1, "", "Repeated column" + ("s" if len(repeated) > 1 else "") + f": {_names(repeated)}."
        )
        problems = True
    used = {}
    for field in COLUMNS:
        how = mapping["fields"].get(field, {})
        if "column" in how:
            used[how["column"]] = field
    for column, field in used.items():
        if column not in seen:
            outcome.add(
                1,
                "",
                f"Missing column '{shown(column)}', which profile '{shown(profile)}' reads "
                f"{field} from.",
            )
            problems = True
    known = set(used) | set(mapping.get("ignored", []))
    unknown = [names[i] for i, n in enumerate(header) if n not in known]
    if unknown:
        outcome.add(
            1,
            "",
            "Unexpected column"
            + ("s" if len(unknown) > 1 else "")
            + f": {_names(unknown)}. Profile '{shown(profile)}' does not know "
            + ("them" if len(unknown) > 1 else "it")
            + ": upload the file on the import page to map it again.",
        )
        problems = True
    return None if problems else names


def first_due(path, mapping: dict):
    """The first row's due time as caregov's text, for a file read through `mapping`."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 19)
    reader = csv.reader(io.StringIO(head.decode("utf-8-sig", errors="replace"), newline=""))
    how = mapping["fields"].get("due_time", {})
    try:
        header = [normalise(c) for c in next(reader)]
        first = next(reader)
        raw = how["value"] if "value" in how else first[header.index(how["column"])]
    except (StopIteration, ValueError, IndexError, KeyError, csv.Error):
        return None
    return moment_text(raw.strip(), mapping.get("date_format", "iso"))


# Defining a profile ----------------------------------------------------------------------------


def mapping_errors(
    *,
    names: list[str],
    fields: dict[str, dict],
    date_format: str,
    yes: list[str],
    no: list[str],
    personal: dict[str, str],
) -> dict[str, str]:
    """What is wrong with a mapping of a file with these column names, by form field:
    `field_<name>` for a field, `date_format`, `yes_values`, `no_values`."""
    errors: dict[str, str] = {}
    header = [normalise(n) for n in names]
    by_header = dict(zip(header, names, strict=True))
    if date_format not in EXAMPLES:
        errors["date_format"] = "Choose how the export writes dates and times."
    taken: dict[str, str] = {}
    for field in COLUMNS:
        how = fields.get(field) or {}
        key = f"field_{field}"
        if "column" in how:
            column = how["column"]
            if column not in by_header:
                errors[key] = f"Choose one of the file's columns for {LABELS[field]}."
            elif personal.get(column):
                errors[key] = (
                    f"Column '{shown(by_header[column])}' looks like personal data "
                    f"({personal[column]}), so caregov never reads it. Choose the column with "
                    "the ECM's record reference or role instead."
                )
            elif column in taken:
                errors[key] = (
                    f"Column '{shown(by_header[column])}' is already used for "
                    f"{LABELS[taken[column]]}; each column gives one field."
                )
            else:
                taken[column] = field
        elif "value" in how:
            value = str(how["value"]).strip()
            if not value:
                errors[key] = f"Type the value every row has for {LABELS[field]}."
            elif _FORMULA_CELL.match(value) or "\x00" in value:
                errors[key] = "A fixed value cannot start with =, +, - or @."
            elif NHS_NUMBER.fullmatch(value):
                errors[key] = "A fixed value cannot look like an NHS number."
            elif field in MOMENTS and date_format in EXAMPLES:
                if moment_text(value, date_format) is None:
                    errors[key] = f"Type a date and time like {EXAMPLES[date_format][0]}."
            elif field in DAYS and date_format in EXAMPLES:
                if day_text(value, date_format) is None:
                    errors[key] = f"Type a date like {EXAMPLES[date_format][1]}."
            elif field == "narrative_length" and not value.isdigit():
                errors[key] = "Type a whole number of characters, like 0."
            elif field in TEXTS and len(value) > (64 if field == "record_reference" else 60):
                errors[key] = "The value is too long for this field."
            elif field == "record_reference":
                errors[key] = (
                    "Every row needs its own record identifier: choose the file's column for it."
                )
        elif how.get("absent"):
            if field in REQUIRED:
                errors[key] = (
                    f"caregov needs {LABELS[field]} in every export: choose a column or type a "
                    "value every row has."
                )
        else:
            errors[key] = f"Choose where {LABELS[field]} comes from."
    words_yes = [w.strip().lower() for w in yes if w.strip()]
    words_no = [w.strip().lower() for w in no if w.strip()]
    if not words_yes:
        errors["yes_values"] = "Type the values that mean yes, separated by commas, like Y, Yes."
    if not words_no:
        errors["no_values"] = "Type the values that mean no, separated by commas, like N, No."
    both = sorted(set(words_yes) & set(words_no))
    if both and "no_values" not in errors:
        errors["no_values"] = f"{', '.join(both)} cannot mean both yes and no."
    for words, key in ((words_yes, "yes_values"), (words_no, "no_values")):
        if key not in errors and any(not w.isascii() or len(w) > 40 for w in words):
            errors[key] = "Use plain letters and digits, at most 40 characters each."
    return errors
