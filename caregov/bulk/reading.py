"""Reading an uploaded CSV into rows: its size, encoding and header checked, each cell checked
for formulas. Rows are numbered as a spreadsheet shows them: the header is row 1."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field

from caregov.uploads import SNIFF_BYTES, formula_start, not_text

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
#: Problems listed on the page; the rest are counted.
MAX_PROBLEMS_SHOWN = 500
#: Characters of a value quoted back in a message.
MAX_QUOTED = 60
#: How long each text column may be, as the database holds it.
_LENGTHS = {
    "name": 150,
    "address_line_1": 150,
    "address_line_2": 150,
    "town": 80,
    "full_name": 150,
    "job_title": 120,
    "email": 254,
}


@dataclass
class Problem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if not self.row:
            return self.message
        if not self.column:
            return f"Row {self.row}: {self.message}"
        return f"Row {self.row}, column {self.column}: {self.message}"


@dataclass
class Reading:
    """A file read into rows (each a dict of column to stripped text, with its row number)."""

    rows: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: The file as a whole cannot be read (its encoding, size or header): no rows are given.
    fatal: bool = False

    def add(self, row: int, column: str, message: str) -> None:
        self.problems.append(Problem(row, column, message))

    @property
    def clean(self) -> bool:
        return not self.problems

    def refuse(self, row: int, column: str, message: str) -> Reading:
        self.problems = [Problem(row, column, message)]
        self.rows = []
        self.fatal = True
        return self

    def with_plan_problems(self, problems: list[Problem]) -> list[Problem]:
        """Every problem of the file, by row: this reading's and those the plan found in its
        rows, leaving out the plan's about a cell this reading has already refused."""
        refused = {(p.row, p.column) for p in self.problems}
        more = [p for p in problems if (p.row, p.column) not in refused]
        return sorted(self.problems + more, key=lambda p: p.row)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def shown(text: str) -> str:
    text = text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1] + "…"
    if not text.isprintable():
        text = "".join(
            c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
        )
    return f"'{text}'"


def template_csv(columns: list[str], example: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow(example)
    return out.getvalue()


def read_csv(content: bytes, *, columns: list[str], optional: set[str]) -> Reading:
    """Every row of the file, with the problems of its cells (a formula, extra cells); or the one
    problem that stops the file being read at all (too large, not UTF-8 text, a header without
    the columns, too many rows), when the reading is `fatal` and holds no rows."""
    reading = Reading()
    if len(content) > MAX_BYTES:
        return reading.refuse(
            0,
            "",
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it into "
            "smaller files and upload each.",
        )
    refusal = not_text(content[: SNIFF_BYTES * 2], what="the CSV file")
    if refusal:
        return reading.refuse(0, "", refusal)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return reading.refuse(
            content[: error.start].count(b"\n") + 1,
            "",
            "this row holds a character that is not UTF-8. Save the file as CSV UTF-8 "
            "(in a spreadsheet: Save as, then CSV UTF-8) and upload it again.",
        )
    if "\x00" in text:
        return reading.refuse(
            text[: text.index("\x00")].count("\n") + 1,
            "",
            "this row holds a NUL character (byte 0). Save the file as CSV UTF-8 "
            "and upload it again.",
        )
    records = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(records, None)
    except csv.Error as error:
        return reading.refuse(1, "", f"the header cannot be read as CSV ({error}).")
    if not header or not any(cell.strip() for cell in header):
        return reading.refuse(
            1,
            "",
            f"the first row must name the columns: {', '.join(columns)}. "
            "Download the template to start from.",
        )
    names = [cell.strip().lower() for cell in header]
    _check_header(names, columns, optional, reading)
    if not reading.clean:
        reading.fatal = True
        return reading
    row_number = 1
    try:
        for cells in records:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(reading.rows) >= MAX_ROWS:
                return reading.refuse(
                    0,
                    "",
                    f"The file has more than {MAX_ROWS:,} rows. Split it into "
                    f"files of at most {MAX_ROWS:,} rows and upload each.",
                )
            if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
                reading.add(
                    row_number,
                    "",
                    f"this row has {len(cells)} cells but the header "
                    f"names {len(names)} columns. Take out the extra cells.",
                )
                continue
            row = {"row": row_number}
            for name, cell in zip(names, cells, strict=False):
                value = cell.strip()
                start = formula_start(value)
                if start:
                    reading.add(
                        row_number,
                        name,
                        f"starts with '{start}', which a spreadsheet "
                        "would run as a formula. Remove it.",
                    )
                row[name] = value
            for name in columns:
                row.setdefault(name, "")
            reading.rows.append(row)
    except csv.Error as error:
        return reading.refuse(
            row_number, "", f"this row cannot be read as CSV ({error}). Check its quotation marks."
        )
    if not reading.rows and reading.clean:
        return reading.refuse(
            0, "", "The file has no rows under its header. Add a row for each entry."
        )
    return reading


def _check_header(names: list[str], columns: list[str], optional: set[str], reading: Reading):
    seen = set()
    for name in names:
        if name in seen:
            reading.add(1, name, "this column is named twice. Keep one.")
        seen.add(name)
    unknown = [n for n in names if n not in columns]
    if unknown:
        reading.add(
            1,
            ", ".join(shown(n) if n else "(blank)" for n in unknown),
            f"caregov does not know {'this column' if len(unknown) == 1 else 'these columns'}. "
            f"The columns are: {', '.join(columns)}.",
        )
    missing = [c for c in columns if c not in seen and c not in optional]
    if missing:
        reading.add(
            1,
            ", ".join(missing),
            "the header must name "
            f"{'this column' if len(missing) == 1 else 'these columns'}. "
            "Download the template to see them.",
        )


def choice(text: str, choices) -> str | None:
    """The value of a choice given as its value or its label, in any case."""
    wanted = " ".join(text.replace("_", " ").split()).lower()
    for value, label in choices:
        if wanted in (value.replace("_", " ").lower(), str(label).lower()):
            return value
    return None


def labels(choices) -> str:
    return ", ".join(str(label) for _, label in choices)


def check_lengths(row: dict, reading: Reading) -> None:
    for name, limit in _LENGTHS.items():
        if name in row and len(row[name]) > limit:
            reading.add(
                row["row"],
                name,
                f"is {len(row[name])} characters long. Shorten it to {limit} or fewer.",
            )
