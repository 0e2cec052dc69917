"""ECM import checks (issues 13 §5 and 14 §1): problems name the row a spreadsheet shows, every
problem of every row is reported (up to a cap, with the total), a file that is not UTF-8 text is
refused with a clear reason, any NUL byte is a row problem that is stored safely, the header check
is linear and capped, formula cells are found after the spaces before them, and a file with no
line breaks is read in bounded memory."""

import io
import time
import tracemalloc

import pytest
from django.db import connection
from django.urls import reverse

from assurance import ecm, ecm_plain, services
from assurance.ecm import COLUMNS, export_rows
from assurance.models import EcmImport, EcmRecord
from caregov.access import Role
from tests.assurance.builders import import_bytes, month, rows

OCTOBER = month(2026, 10)
HEADER = ",".join(COLUMNS)


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.ECM_IMPORT_DIR = tmp_path / "ecm-imports"


@pytest.fixture
def manager(world):
    return world.user(Role.REGISTERED_MANAGER)


def lines_of(count: int = 6) -> list[str]:
    """An October export as lines: [header, R00001 row, R00002 row, ...] (row n is lines[n-1])."""
    return export_rows(rows(count)).splitlines()


def encode(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def set_cell(line: str, column: str, value: str) -> str:
    cells = line.split(",")
    cells[COLUMNS.index(column)] = value
    return ",".join(cells)


def refused(manager, service, data: bytes, period=OCTOBER) -> EcmImport:
    record, queued = import_bytes(manager, service, data, period=period)
    assert queued
    assert record.status == EcmImport.Status.FAILED, record.problems
    assert EcmRecord.objects.filter(ecm_import=record).count() == 0
    assert record.problem_count > 0 and record.problems
    return record


def where(record: EcmImport) -> list[tuple[int, str]]:
    return [(p["row"], p["column"]) for p in record.problems]


def new_import(world, manager, name: str) -> EcmImport:
    return EcmImport.objects.create(
        organisation=world.org,
        service=world.service_a,
        period_start=OCTOBER.start,
        file_name=name,
        sha256=name,
        uploaded_by=manager,
    )


# 1. Rows as a spreadsheet counts them ------------------------------------------------------------


def test_a_quoted_line_break_in_row_3_does_not_move_later_rows(world, manager):
    lines = lines_of(10)
    lines[2] = set_cell(lines[2], "record_type", '"Fluid\nchart"')  # row 3, two file lines
    lines[9] = set_cell(lines[9], "due_time", "yesterday")  # row 10, file line 11
    record = refused(manager, world.service_a, encode(lines))
    assert where(record) == [(10, "due_time")]


def test_rows_after_several_quoted_line_breaks_are_stored_with_their_spreadsheet_row(
    world, manager
):
    lines = lines_of(6)
    lines[2] = set_cell(lines[2], "record_type", '"Fluid\r\nchart"')  # row 3
    lines[4] = set_cell(lines[4], "author_role", '"Senior\n\ncare worker"')  # row 5
    record, _ = import_bytes(manager, world.service_a, encode(lines), period=OCTOBER)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    stored = EcmRecord.objects.filter(ecm_import=record).order_by("row_number")
    assert [(r.row_number, r.reference) for r in stored] == [
        (2, "R00001"),
        (3, "R00002"),
        (4, "R00003"),
        (5, "R00004"),
        (6, "R00005"),
        (7, "R00006"),
    ]
    assert stored[1].record_type == "Fluid\r\nchart"


def test_a_byte_that_is_not_utf8_after_a_quoted_line_break_names_its_spreadsheet_row(
    world, manager
):
    lines = lines_of(6)
    lines[1] = set_cell(lines[1], "record_type", '"Fluid\nchart"')  # row 2
    encoded = [line.encode() for line in lines]
    encoded[4] = set_cell(lines[4], "author_role", "Infirmi\xe8re").encode("latin-1")  # row 5
    record = refused(manager, world.service_a, b"\n".join(encoded) + b"\n")
    assert where(record) == [(5, "")]
    assert record.problems[0]["message"].startswith("Row 5 is not UTF-8 text")


def test_a_duplicate_after_a_quoted_line_break_names_both_spreadsheet_rows(world, manager):
    lines = lines_of(5)
    lines[1] = set_cell(lines[1], "record_type", '"Fluid\nchart"')  # row 2
    lines[5] = set_cell(lines[5], "record_reference", "R00003")  # row 6 repeats row 4
    record = refused(manager, world.service_a, encode(lines))
    assert where(record) == [(6, "record_reference")]
    assert "already on row 4" in record.problems[0]["message"]


# 2. Every problem of every row, up to a cap, with the total ------------------------------------


def test_a_row_with_a_formula_and_an_impossible_time_reports_both(world, manager):
    lines = lines_of(4)
    lines[2] = set_cell(lines[2], "record_type", "=1+1")  # row 3
    lines[2] = set_cell(lines[2], "due_time", "2026-10-14 25:00")
    record = refused(manager, world.service_a, encode(lines))
    assert where(record) == [(3, "record_type"), (3, "due_time")]
    assert record.problem_count == 2


def test_a_formula_cell_is_reported_once_not_also_as_a_bad_value(world, manager):
    lines = lines_of(3)
    lines[1] = set_cell(lines[1], "narrative_length", "-5")  # a formula start, not a number
    lines[1] = set_cell(lines[1], "outcome_recorded", "perhaps")
    record = refused(manager, world.service_a, encode(lines))
    assert where(record) == [(2, "narrative_length"), (2, "outcome_recorded")]


def _many_problems(count_rows: int) -> bytes:
    lines = lines_of(count_rows)
    for i in range(1, count_rows + 1):
        lines[i] = set_cell(lines[i], "outcome_recorded", "perhaps")
        lines[i] = set_cell(lines[i], "narrative_length", "long")
    return encode(lines)


def test_problems_beyond_the_first_thousand_are_counted_and_the_page_says_how_many(
    world, manager, client
):
    record = refused(manager, world.service_a, _many_problems(2605))  # 5,210 problems
    assert record.problem_count == 5210
    assert len(record.problems) == 1000
    assert record.problems[-1]["row"] == 501  # the first 1,000, in row order

    client.force_login(manager)
    page = client.get(reverse("assurance:import_detail", args=[record.pk])).content.decode()
    assert "5,210 problems found" in page
    assert "… and 4,210 more problems; 5,210 in all." in page


def test_the_command_says_how_many_more_problems_there_are(world, manager, tmp_path):
    from django.core.management import CommandError, call_command

    path = tmp_path / "many.csv"
    path.write_bytes(_many_problems(501))  # 1,002 problems
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_ecm",
            str(path),
            "--service",
            "WILLOW",
            "--period",
            "2026-10",
            "--as",
            manager.email,
            stdout=out,
            stderr=err,
        )
    lines = err.getvalue().splitlines()
    assert len(lines) == 1001
    assert lines[-1] == "… and 2 more problems; 1,002 in all."
    assert "1,002 problems in 501 rows" in str(excinfo.value)


# 3. Files that are not UTF-8 text; NUL bytes ----------------------------------------------------


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be"], ids=["with BOM", "LE, no BOM", "BE, no BOM"]
)
def test_a_utf16_file_is_refused_with_the_reason(world, manager, encoding):
    data = export_rows(rows(4)).encode(encoding)
    record = refused(manager, world.service_a, data)
    assert record.problems == [
        {
            "row": 0,
            "column": "",
            "message": "This file is UTF-16; save it as UTF-8 (in a spreadsheet: Save as, "
            "then CSV UTF-8) and upload it again.",
        }
    ]


def test_a_utf16_file_without_a_month_is_refused_with_the_reason(world, manager):
    from django.core.exceptions import ValidationError

    data = export_rows(rows(4)).encode("utf-16")
    before = EcmImport.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        import_bytes(manager, world.service_a, data, period=None)
    assert excinfo.value.message_dict["file"][0].startswith("This file is UTF-16; save it as UTF-8")
    assert EcmImport.objects.count() == before


def test_a_workbook_is_refused_as_not_text(world, manager):
    data = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 20
    record = refused(manager, world.service_a, data)
    assert [p["message"] for p in record.problems] == [
        "This file is not text: it looks like a spreadsheet workbook or another zipped file. "
        "Save it as CSV UTF-8 and upload that."
    ]


def test_a_binary_file_is_refused_as_not_text(world, manager):
    data = bytes(range(256)) * 40
    record = refused(manager, world.service_a, data)
    assert record.problems[0]["message"].startswith("This file is not text.")
    assert len(record.problems) == 1


def test_a_nul_byte_in_narrative_length_is_a_row_problem_stored_safely(world, manager):
    lines = lines_of(4)
    lines[3] = set_cell(lines[3], "narrative_length", "12\x00")  # row 4
    lines[2] = set_cell(lines[2], "due_time", "2026-10-14\x0008:30")  # row 3
    record = refused(manager, world.service_a, encode(lines))
    assert where(record) == [(3, "due_time"), (4, "narrative_length")]
    assert "NUL character" in record.problems[1]["message"]
    assert record.finished_at is not None
    record.refresh_from_db()
    assert record.status == EcmImport.Status.FAILED
    assert not any("\x00" in p["message"] for p in record.problems)


def test_no_problem_text_holds_a_control_character_or_runs_on(world, manager):
    lines = lines_of(3)
    lines[1] = set_cell(lines[1], "outcome_recorded", "maybe\tnot" + "x" * 5000)
    record = refused(manager, world.service_a, encode(lines))
    message = record.problems[0]["message"]
    assert message.startswith("outcome_recorded must be yes or no, not 'maybe\\tnotxxx")
    assert message.endswith("x…'.")
    assert len(message) < 200


def test_a_nul_in_any_message_is_written_out_before_it_is_stored():
    outcome = ecm.Outcome()
    outcome.add(2, "", "a message from anywhere\x00" + "x" * 5000)
    assert "\x00" not in outcome.problems[0].message
    assert len(outcome.problems[0].message) <= ecm.MAX_MESSAGE


def test_an_import_whose_finish_fails_ends_failed_not_importing(world, manager, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the figures could not be computed")

    monkeypatch.setattr(services, "recompute_service_month", broken)
    record, _ = import_bytes(manager, world.service_a, encode(lines_of(3)), period=OCTOBER)
    record.refresh_from_db()
    assert record.status == EcmImport.Status.FAILED
    assert record.finished_at is not None
    assert "stopped unexpectedly" in record.problems[0]["message"]
    assert not EcmRecord.objects.filter(ecm_import=record).exists()


# 4. The header: linear, capped -------------------------------------------------------------------


def test_a_header_of_100000_columns_is_checked_at_once_with_one_short_message():
    outcome = ecm.Outcome()
    started = time.perf_counter()
    assert ecm.check_header([f"c{i}" for i in range(100_000)], outcome) is None
    assert time.perf_counter() - started < 0.5
    assert outcome.problem_count == 1
    assert outcome.problems[0].message.startswith("The header row has 100,000 columns;")
    assert len(outcome.problems[0].message) < 400


def test_a_header_just_under_the_column_cap_is_checked_linearly_with_short_messages():
    outcome = ecm.Outcome()
    header = [*COLUMNS, *(f"{'x' * 500}{i}" for i in range(150)), *(["notes"] * 41)]
    started = time.perf_counter()
    assert ecm.check_header(header, outcome) is None
    assert time.perf_counter() - started < 0.1
    messages = [p.message for p in outcome.problems]
    assert len(messages) == 2
    assert messages[0].startswith("Unexpected columns: " + "x" * 40)
    assert messages[0].endswith("and 146 more.")  # 150 long names and notes
    assert messages[1] == "Repeated column: notes."
    assert all(len(m) < 800 for m in messages)


def test_a_file_with_more_than_200_columns_is_refused_with_one_message(world, manager):
    header = ",".join([*COLUMNS, *(f"extra{i}" for i in range(300))])
    record = refused(manager, world.service_a, (header + "\n" + "a,b\n").encode())
    assert [p["message"][:40] for p in record.problems] == [
        "The header row has 309 columns; an expor"
    ]


def test_a_bad_value_is_quoted_to_at_most_80_characters(world, manager):
    lines = lines_of(3)
    lines[2] = set_cell(lines[2], "due_time", "9" * 10_000)
    record = refused(manager, world.service_a, encode(lines))
    message = record.problems[0]["message"]
    assert message.startswith("due_time '" + "9" * 79 + "…' is not a date and time")


# 5. Formula cells, after the spaces before them ---------------------------------------------------


@pytest.mark.parametrize(
    "value,start",
    [
        ("\t=1+1", "="),
        ('"\r=1+1"', "="),
        ('"\n=1+1"', "="),
        ("  =1+1", "="),
        ("\u00a0=1+1", "="),
        ("\u2003+1", "+"),
        ("\u3000-1", "-"),
        ("\t@SUM(1)", "@"),
        ("\u200b=1+1", "="),
        ("\uff1d1+1", "\uff1d"),
        ("\uff0b1", "\uff0b"),
        ("\uff0d1", "\uff0d"),
        ("\uff20SUM(1)", "\uff20"),
    ],
)
def test_a_formula_after_spaces_or_in_full_width_is_refused(world, manager, value, start):
    lines = lines_of(3)
    lines[2] = set_cell(lines[2], "author_role", value)  # row 3
    record = refused(manager, world.service_a, encode(lines))
    assert where(record) == [(3, "author_role")]
    assert f"starts with '{start}', which a spreadsheet would run" in record.problems[0]["message"]


def test_the_quick_way_gives_back_a_full_width_formula(world, manager):
    if connection.vendor != "postgresql":
        pytest.skip("the quick way is PostgreSQL's")
    lines = lines_of(3)
    lines[2] = set_cell(lines[2], "author_role", "\uff1d1+1")
    record = new_import(world, manager, "wide")
    outcome = ecm_plain.load(
        io.BytesIO(encode(lines)), import_id=record.pk, period=OCTOBER, progress=lambda *a: None
    )
    assert outcome is None


# 6. Bounded memory whatever the line lengths ------------------------------------------------------


def test_a_row_longer_than_the_limit_is_refused_by_name_and_later_rows_still_checked(
    world, manager
):
    lines = lines_of(5)
    lines[2] = set_cell(lines[2], "record_type", "x" * 70_000)  # row 3
    lines[4] = set_cell(lines[4], "due_time", "yesterday")  # row 5
    record = refused(manager, world.service_a, encode(lines))
    assert where(record) == [(3, ""), (5, "due_time")]
    assert record.problems[0]["message"].startswith(
        "Row 3 is longer than 65,536 characters, more than any export row needs"
    )


def test_an_unclosed_quote_is_refused_at_its_row_and_reading_goes_on(world, manager):
    lines = lines_of(3000)
    lines[2] = set_cell(lines[2], "record_type", '"Fluid chart')  # row 3: the quote never closes
    record = refused(manager, world.service_a, encode(lines))
    assert record.problems[0]["row"] == 3
    assert "quote" in record.problems[0]["message"]


def test_a_file_with_no_line_breaks_is_read_in_bounded_memory(world, manager):
    record = new_import(world, manager, "one-line")
    body = (HEADER + "\n").encode() + b"R1,Daily note," + b"x" * 8_000_000
    tracemalloc.start()
    try:
        outcome = ecm.read_export(
            (body[i : i + 65536] for i in range(0, len(body), 65536)),
            import_id=record.pk,
            period=OCTOBER,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, peak
    assert [(p.row, p.message[:30]) for p in outcome.problems] == [
        (2, "Row 2 is longer than 65,536 ch")
    ]


def test_the_quick_way_gives_a_line_with_no_end_back_in_bounded_memory():
    body = (HEADER + "\n").encode() + b"R1,Daily note," + b"x" * 8_000_000
    blocks = ecm_plain.CopyBlocks(io.BytesIO(body), 1, OCTOBER)
    tracemalloc.start()
    try:
        with pytest.raises(ecm_plain.NotPlain):
            list(blocks)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, peak


def test_the_month_is_sniffed_from_a_bounded_start_of_the_file(tmp_path):
    path = tmp_path / "one-line.csv"
    path.write_bytes(b"x" * 5_000_000)
    tracemalloc.start()
    try:
        assert ecm.sniff_period(path) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, peak
