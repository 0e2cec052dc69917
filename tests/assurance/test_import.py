"""ECM export imports: a good file loads, the same file twice changes nothing, a file with any
problem loads nothing and names every problem with its row (the header is row 1)."""

import io
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from assurance import services
from assurance.ecm import COLUMNS, export_rows
from assurance.models import EcmImport, EcmRecord, MeasureResult
from caregov.access import Role
from caregov.media import media_path, media_root
from tests.assurance.builders import import_bytes, import_rows, month, row, rows

OCTOBER = month(2026, 10)
COMMAND = Path(__file__).resolve().parents[2] / "assurance/management/commands/import_ecm.py"


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def manager(world):
    return world.user(Role.REGISTERED_MANAGER)


def text_of(data: list[dict]) -> str:
    return export_rows(data)


def lines_of(count: int = 6) -> list[str]:
    """An October export as lines: [header, R00001 row, R00002 row, ...] (row n is lines[n-1])."""
    return text_of(rows(count)).splitlines()


def encode(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def set_cell(line: str, column: str, value: str) -> str:
    cells = line.split(",")
    cells[COLUMNS.index(column)] = value
    return ",".join(cells)


def refused(manager, service, data: bytes, period=OCTOBER) -> EcmImport:
    """Import a file that should be refused; check nothing was loaded."""
    record, queued = import_bytes(manager, service, data, period=period)
    assert queued
    assert record.status == EcmImport.Status.FAILED
    assert EcmRecord.objects.count() == 0
    assert record.problem_count == len(record.problems) > 0
    return record


def problem_rows(record: EcmImport) -> list[int]:
    return [p["row"] for p in record.problems]


def problems_on(record: EcmImport, row_number: int) -> list[dict]:
    return [p for p in record.problems if p["row"] == row_number]


# A good file -------------------------------------------------------------------------------------


def test_a_good_export_imports_every_row_and_gives_the_months_figures(world, manager):
    # 10 due, 9 written (R00001 3.5 h late), 6 with an outcome, 4 reviews due of which 3 on time.
    data = rows(10, recorded=9, late=1, with_outcome=6, reviews_due=4, reviews_on_time=3)
    record = import_rows(manager, world.service_a, data, name="willow-october.csv")
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert record.rows_read == 10
    assert record.problem_count == 0 and record.problems == []
    assert record.period_start == OCTOBER.start
    assert record.file_name == "willow-october.csv"
    assert EcmRecord.objects.filter(ecm_import=record).count() == 10
    # completeness 9/10 = 90.0; timeliness 8/9 = 88.9; outcomes 6/9 = 66.7; reviews 3/4 = 75.0
    assert record.figures == {
        "completeness": {"numerator": 9, "denominator": 10, "value": "90.0"},
        "timeliness": {"numerator": 8, "denominator": 9, "value": "88.9"},
        "outcome_evidence": {"numerator": 6, "denominator": 9, "value": "66.7"},
        "review_compliance": {"numerator": 3, "denominator": 4, "value": "75.0"},
    }
    # The uploaded copy is not kept once its rows are in the database.
    assert not media_path(record.stored_path).exists()
    assert not any((media_root() / services.ECM_IMPORT_FOLDER).iterdir())


# Where the uploaded file waits ----------------------------------------------------------------------


def test_an_upload_stored_by_the_web_server_imports_in_a_worker_that_mounts_the_files_elsewhere(
    world, manager, tmp_path
):
    # docker-compose.yml mounts one volume in the web and worker containers; wherever each
    # mounts it, the import names its file the same way.
    web, worker = tmp_path / "web-media", tmp_path / "worker-media"
    with override_settings(MEDIA_ROOT=web):
        record, queued = services.import_queue(
            actor=manager,
            service=world.service_a,
            period=OCTOBER,
            upload=io.BytesIO(text_of(rows(4)).encode()),
            file_name="willow-october.csv",
        )
    assert queued
    assert not record.stored_path.startswith("/")
    assert record.stored_path.startswith("ecm-imports/import-")
    assert (web / record.stored_path).is_file()
    shutil.move(web, worker)
    with override_settings(MEDIA_ROOT=worker):
        record = services.import_run(record)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert EcmRecord.objects.filter(ecm_import=record).count() == 4
    assert not (worker / record.stored_path).exists()


@pytest.mark.parametrize("where", ["outside", "absolute"])
def test_an_import_naming_a_file_outside_the_uploads_reads_nothing_and_removes_nothing(
    world, manager, settings, where
):
    outside = settings.MEDIA_ROOT.parent / "not-an-upload.csv"
    outside.write_text(text_of(rows(2)))
    record, _ = services.import_queue(
        actor=manager,
        service=world.service_a,
        period=OCTOBER,
        upload=io.BytesIO(text_of(rows(2)).encode()),
        file_name="export.csv",
    )
    record.stored_path = "../not-an-upload.csv" if where == "outside" else str(outside)
    record.save()
    record = services.import_run(record)
    assert record.status == EcmImport.Status.FAILED
    assert [p["message"] for p in record.problems] == [
        "The uploaded file is not where caregov keeps uploads. Upload it again."
    ]
    assert EcmRecord.objects.count() == 0
    assert outside.is_file()


def test_the_month_is_read_from_the_first_row_when_not_given(world, manager):
    record, _ = import_bytes(
        manager, world.service_a, text_of(rows(3, start=month(2026, 7).start)).encode()
    )
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert record.period_start == month(2026, 7).start


def test_a_file_saved_by_a_spreadsheet_as_csv_utf8_imports(world, manager):
    # Excel writes a byte order mark and CRLF line ends; a blank last line is not a record.
    text = text_of([row("Ä1", "2026-10-05 08:00", "2026-10-05 08:20", author_role="Bank nurse")])
    data = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8") + b"\r\n"
    record, _ = import_bytes(manager, world.service_a, data)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert record.rows_read == 1
    assert EcmRecord.objects.get(ecm_import=record).reference == "Ä1"


def test_importing_the_same_file_again_returns_the_earlier_import_and_changes_nothing(
    world, manager
):
    data = encode(lines_of(6))
    first, queued = import_bytes(manager, world.service_a, data, period=OCTOBER)
    assert queued and first.status == EcmImport.Status.IMPORTED
    imports, records = EcmImport.objects.count(), EcmRecord.objects.count()
    history = first.history.count()

    again, queued = import_bytes(manager, world.service_a, data, period=OCTOBER)

    assert not queued
    assert again.pk == first.pk
    assert EcmImport.objects.count() == imports
    assert EcmRecord.objects.count() == records == 6
    assert first.history.count() == history


def test_the_same_file_queued_twice_before_either_ran_loads_once(world, manager):
    data = encode(lines_of(4))
    first, _ = services.import_queue(
        actor=manager,
        service=world.service_a,
        period=OCTOBER,
        upload=io.BytesIO(data),
        file_name="a.csv",
    )
    second, queued = services.import_queue(
        actor=manager,
        service=world.service_a,
        period=OCTOBER,
        upload=io.BytesIO(data),
        file_name="a.csv",
    )
    assert queued and second.pk != first.pk
    first = services.import_run(first)
    second = services.import_run(second)
    assert first.status == EcmImport.Status.IMPORTED
    assert second.status == EcmImport.Status.FAILED
    assert "already imported" in second.problems[0]["message"]
    assert EcmRecord.objects.count() == 4


def test_a_run_taken_over_after_its_rows_were_committed_loads_them_once(world, manager):
    # The worker committed the rows, then died before marking the import finished.
    record, _ = services.import_queue(
        actor=manager,
        service=world.service_a,
        period=OCTOBER,
        upload=io.BytesIO(encode(lines_of(4))),
        file_name="a.csv",
    )
    EcmImport.objects.filter(pk=record.pk).update(status=EcmImport.Status.RUNNING)
    for number, reference in enumerate(["R00001", "R00002"], start=2):
        EcmRecord.objects.create(
            ecm_import=record,
            row_number=number,
            reference=reference,
            record_type="Daily note",
            due_at=timezone.now(),
            outcome_recorded=True,
        )
    record = services.import_run(record)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert EcmRecord.objects.filter(ecm_import=record).count() == 4


def test_a_corrected_export_for_the_same_month_replaces_the_figures(world, manager):
    import_rows(manager, world.service_a, rows(10, recorded=5))
    import_rows(manager, world.service_a, rows(10, recorded=9))
    completeness = MeasureResult.objects.get(
        service=world.service_a, period_start=OCTOBER.start, measure="completeness", source="ecm"
    )
    # The latest export counts: 9 / 10 = 90.0%
    assert completeness.value == 90


# Who may import ----------------------------------------------------------------------------------


def test_a_registered_manager_cannot_import_for_another_service(world, manager):
    before = EcmImport.objects.count()
    with pytest.raises(PermissionDenied):
        import_bytes(manager, world.service_b, encode(lines_of(3)), period=OCTOBER)
    assert EcmImport.objects.count() == before


def test_people_without_the_import_role_cannot_import_even_at_their_own_service(world):
    before = EcmImport.objects.count()
    for role in (Role.COMMISSIONER, Role.TEAM_LEADER, Role.CARE_STAFF, Role.DIGITAL_CHAMPION):
        with pytest.raises(PermissionDenied):
            import_bytes(world.user(role), world.service_a, encode(lines_of(3)), period=OCTOBER)
    assert EcmImport.objects.count() == before


def test_a_data_quality_lead_cannot_import_for_another_organisations_service(world):
    with pytest.raises(PermissionDenied):
        import_bytes(
            world.user(Role.DATA_QUALITY_LEAD), world.service_c, encode(lines_of(3)), period=OCTOBER
        )


def test_a_data_quality_lead_can_import_for_any_of_the_organisations_services(world):
    record, _ = import_bytes(
        world.user(Role.DATA_QUALITY_LEAD), world.service_b, encode(lines_of(3)), period=OCTOBER
    )
    assert record.status == EcmImport.Status.IMPORTED


# Files with problems -----------------------------------------------------------------------------


def test_a_file_with_a_missing_column_imports_nothing_and_names_the_column(world, manager):
    data = [{k: v for k, v in r.items() if k != "author_role"} for r in rows(3)]
    header = [c for c in COLUMNS if c != "author_role"]
    text = ",".join(header) + "\n" + "\n".join(",".join(r[c] for c in header) for r in data)
    record = refused(manager, world.service_a, text.encode())
    assert record.problems == [{"row": 1, "column": "", "message": "Missing column: author_role."}]


def test_a_file_with_an_extra_column_imports_nothing_and_names_the_column(world, manager):
    lines = [line + ",x" for line in lines_of(3)]
    lines[0] = lines[0][:-2] + ",notes"
    record = refused(manager, world.service_a, encode(lines))
    assert record.problems == [{"row": 1, "column": "", "message": "Unexpected column: notes."}]


def test_a_file_with_a_bad_date_imports_nothing_and_names_the_row(world, manager):
    lines = lines_of(6)
    lines[3] = set_cell(lines[3], "due_time", "14/10/2026 08:30")  # row 4
    lines[5] = set_cell(lines[5], "last_review_date", "2026-13-01")  # row 6
    record = refused(manager, world.service_a, encode(lines))
    assert [(p["row"], p["column"]) for p in record.problems] == [
        (4, "due_time"),
        (6, "last_review_date"),
    ]
    assert "'14/10/2026 08:30' is not a date and time" in record.problems[0]["message"]


def test_a_file_with_latin1_bytes_on_row_3_imports_nothing_and_names_row_3(world, manager):
    lines = lines_of(5)
    encoded = [line.encode("utf-8") for line in lines]
    encoded[2] = set_cell(lines[2], "author_role", "Aide-soignant\xe9").encode("latin-1")
    record = refused(manager, world.service_a, b"\n".join(encoded) + b"\n")
    assert problem_rows(record) == [3]
    assert "Row 3 is not UTF-8 text" in record.problems[0]["message"]


def test_a_file_with_a_duplicate_reference_imports_nothing_and_names_both_rows(world, manager):
    lines = lines_of(8)
    lines[6] = set_cell(lines[6], "record_reference", "R00002")  # row 7 repeats row 3's reference
    record = refused(manager, world.service_a, encode(lines))
    assert len(record.problems) == 1
    problem = record.problems[0]
    assert (problem["row"], problem["column"]) == (7, "record_reference")
    assert problem["message"] == "record_reference R00002 is already on row 3."


def test_a_reference_on_three_rows_is_reported_on_each_repeat(world, manager):
    lines = lines_of(6)
    for i in (3, 5):
        lines[i] = set_cell(lines[i], "record_reference", "R00001")  # rows 4 and 6 repeat row 2
    record = refused(manager, world.service_a, encode(lines))
    assert [(p["row"], p["message"]) for p in record.problems] == [
        (4, "record_reference R00001 is already on row 2."),
        (6, "record_reference R00001 is already on row 2."),
    ]


def test_cells_a_spreadsheet_would_run_as_formulas_import_nothing(world, manager):
    formulas = [
        ("record_type", '=HYPERLINK("http://x")'),
        ("author_role", "+44 7700 900000"),
        ("narrative_length", "-5"),
        ("record_reference", "@SUM(A1)"),
    ]
    lines = lines_of(5)
    for i, (column, value) in enumerate(formulas, start=1):
        lines[i] = set_cell(lines[i], column, value)  # rows 2 to 5
    record = refused(manager, world.service_a, encode(lines))
    assert [(p["row"], p["column"]) for p in record.problems] == [
        (2, "record_type"),
        (3, "author_role"),
        (4, "narrative_length"),
        (5, "record_reference"),
    ]
    for problem, (_, value) in zip(record.problems, formulas, strict=True):
        assert f"starts with '{value[0]}', which a spreadsheet would run" in problem["message"]


def test_a_row_with_too_few_cells_imports_nothing_and_says_how_many(world, manager):
    lines = lines_of(5)
    lines[4] = lines[4].rsplit(",", 1)[0]  # row 5 loses its last cell
    record = refused(manager, world.service_a, encode(lines))
    assert record.problems == [
        {"row": 5, "column": "", "message": "Row 5 has 8 cells; every row needs 9."}
    ]


def test_a_row_with_too_many_cells_imports_nothing(world, manager):
    lines = lines_of(3)
    lines[1] += ",extra"
    record = refused(manager, world.service_a, encode(lines))
    assert problem_rows(record) == [2]


def test_a_row_due_outside_the_month_given_imports_nothing(world, manager):
    lines = lines_of(5)
    lines[4] = set_cell(lines[4], "due_time", "2026-11-02 08:00")  # row 5, November
    record = refused(manager, world.service_a, encode(lines), period=OCTOBER)
    assert [(p["row"], p["column"]) for p in record.problems] == [(5, "due_time")]
    assert "outside October 2026" in record.problems[0]["message"]


def test_rows_due_in_another_month_than_the_first_row_import_nothing(world, manager):
    lines = lines_of(4)
    lines[3] = set_cell(lines[3], "due_time", "2026-09-30 23:00")  # row 4, September
    record = refused(manager, world.service_a, encode(lines), period=None)
    assert problem_rows(record) == [4]


def test_a_file_for_another_month_than_the_one_chosen_imports_nothing(world, manager):
    record = refused(manager, world.service_a, encode(lines_of(3)), period=month(2026, 9))
    # every row is due in October, not September
    assert problem_rows(record) == [2, 3, 4]


def test_an_empty_file_imports_nothing(world, manager):
    record = refused(manager, world.service_a, b"", period=OCTOBER)
    assert record.problems == [
        {
            "row": 1,
            "column": "",
            "message": "The file is empty: it needs a header row and at least one record.",
        }
    ]


def test_an_empty_file_without_a_month_is_refused_before_anything_is_stored(world, manager):
    before = EcmImport.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        import_bytes(manager, world.service_a, b"", period=None)
    assert "period" in excinfo.value.message_dict
    assert EcmImport.objects.count() == before


def test_a_file_with_only_a_header_imports_nothing(world, manager):
    record = refused(manager, world.service_a, (",".join(COLUMNS) + "\n").encode())
    assert record.problems == [
        {"row": 2, "column": "", "message": "The file has a header row but no records."}
    ]


def test_every_problem_in_a_file_is_reported_with_its_row(world, manager):
    lines = lines_of(8)
    lines[1] = set_cell(lines[1], "due_time", "yesterday")  # row 2
    lines[2] = set_cell(lines[2], "outcome_recorded", "maybe")  # row 3, two problems
    lines[2] = set_cell(lines[2], "narrative_length", "long")
    lines[4] = lines[4].rsplit(",", 1)[0]  # row 5
    lines[5] = set_cell(lines[5], "record_type", "=1+1")  # row 6
    lines[7] = set_cell(lines[7], "due_time", "2026-12-01 09:00")  # row 8
    record = refused(manager, world.service_a, encode(lines))
    assert [(p["row"], p["column"]) for p in record.problems] == [
        (2, "due_time"),
        (3, "outcome_recorded"),
        (3, "narrative_length"),
        (5, ""),
        (6, "record_type"),
        (8, "due_time"),
    ]
    assert record.problem_count == 6
    assert record.rows_read == 8


def test_a_duplicate_reference_is_reported_alongside_other_problems(world, manager):
    lines = lines_of(6)
    lines[1] = set_cell(lines[1], "due_time", "yesterday")  # row 2
    lines[5] = set_cell(lines[5], "record_reference", "R00003")  # row 6 repeats row 4
    record = refused(manager, world.service_a, encode(lines))
    assert problem_rows(record) == [2, 6]


def test_values_that_only_look_valid_import_nothing_and_name_their_rows(world, manager):
    lines = lines_of(4)
    # row 2: '²'.isdigit() is True, but it is not a number
    lines[1] = set_cell(lines[1], "narrative_length", "²")
    # row 3: a real date and time, but too early to turn into UTC
    lines[2] = set_cell(lines[2], "due_time", "0001-01-01 00:00+01:00")
    # row 4: a whole number too big for the database column (at most 2,147,483,647)
    lines[3] = set_cell(lines[3], "narrative_length", "99999999999")
    record = refused(manager, world.service_a, encode(lines))
    assert [(p["row"], p["column"]) for p in record.problems] == [
        (2, "narrative_length"),
        (3, "due_time"),
        (4, "narrative_length"),
    ]


def test_the_largest_narrative_length_the_database_holds_imports(world, manager):
    lines = lines_of(3)
    lines[2] = set_cell(lines[2], "narrative_length", "2147483647")
    record, _ = import_bytes(manager, world.service_a, encode(lines), period=OCTOBER)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert EcmRecord.objects.get(ecm_import=record, row_number=3).narrative_length == 2**31 - 1


# Any corruption, anywhere ------------------------------------------------------------------------


def _corrupt_cell(column, value):
    return lambda lines, i: (lines.__setitem__(i, set_cell(lines[i], column, value)), None)[1]


CORRUPTIONS = {
    "bad due time": ("due_time", "31/10/2026 08:00"),
    "bad recorded time": ("recorded_time", "half past eight"),
    "bad review date": ("review_due_date", "next week"),
    "formula": ("record_type", "=1+1"),
    "empty reference": ("record_reference", ""),
    "bad outcome": ("outcome_recorded", "perhaps"),
    "bad narrative length": ("narrative_length", "12a"),
    "due next month": ("due_time", "2026-11-03 08:00"),
    "too few cells": None,
    "too many cells": None,
    "latin-1": None,
    "duplicate reference": None,
}


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(min_value=2, max_value=40),
    kind=st.sampled_from(sorted(CORRUPTIONS)),
    data=st.data(),
)
def test_any_corrupted_row_stops_the_whole_file_and_is_named(world, manager, count, kind, data):
    lines = lines_of(count)
    # lines[i] is row i + 1; the header (row 1) is left alone.
    index = data.draw(
        st.integers(min_value=2 if kind == "duplicate reference" else 1, max_value=count),
        label="line",
    )
    row_number = index + 1
    encoded = None
    if CORRUPTIONS[kind] is not None:
        column, value = CORRUPTIONS[kind]
        lines[index] = set_cell(lines[index], column, value)
    elif kind == "too few cells":
        lines[index] = lines[index].rsplit(",", 1)[0]
    elif kind == "too many cells":
        lines[index] += ",extra"
    elif kind == "latin-1":
        encoded = [line.encode("utf-8") for line in lines]
        encoded[index] = set_cell(lines[index], "author_role", "Infirmi\xe8re").encode("latin-1")
    elif kind == "duplicate reference":
        earlier = data.draw(st.integers(min_value=1, max_value=index - 1), label="earlier line")
        reference = lines[earlier].split(",")[0]
        lines[index] = set_cell(lines[index], "record_reference", reference)
    body = b"\n".join(encoded) + b"\n" if encoded else encode(lines)

    record, queued = import_bytes(manager, world.service_a, body, period=OCTOBER)

    assert queued
    assert record.status == EcmImport.Status.FAILED
    assert EcmRecord.objects.count() == 0
    assert row_number in problem_rows(record), (kind, record.problems)
    if kind == "duplicate reference":
        assert f"row {earlier + 1}" in problems_on(record, row_number)[0]["message"]


# The management command --------------------------------------------------------------------------


needs_command = pytest.mark.skipif(
    not COMMAND.exists(), reason="assurance/management/commands/import_ecm.py is not written yet"
)


@needs_command
def test_the_import_command_imports_a_file_and_prints_the_figures(world, manager, tmp_path):
    path = tmp_path / "willow.csv"
    path.write_text(text_of(rows(10, recorded=9)))
    out = StringIO()
    call_command(
        "import_ecm",
        str(path),
        "--service",
        "willow",
        "--period",
        "2026-10",
        "--as",
        manager.email,
        stdout=out,
    )
    assert "Imported 10 rows for Willow House, October 2026" in out.getvalue()
    assert "completeness: 90.0% (9 of 10)" in out.getvalue()
    assert EcmRecord.objects.count() == 10


@needs_command
def test_the_import_command_says_when_a_file_was_already_imported(world, manager, tmp_path):
    path = tmp_path / "willow.csv"
    path.write_text(text_of(rows(3)))
    call_command(
        "import_ecm", str(path), "--service", "WILLOW", "--as", manager.email, stdout=StringIO()
    )
    out = StringIO()
    call_command("import_ecm", str(path), "--service", "WILLOW", "--as", manager.email, stdout=out)
    assert "Already imported for Willow House, October 2026" in out.getvalue()
    assert "Nothing changed" in out.getvalue()
    assert EcmRecord.objects.count() == 3


@needs_command
def test_the_import_command_lists_every_problem_and_imports_nothing(world, manager, tmp_path):
    lines = lines_of(4)
    lines[2] = set_cell(lines[2], "due_time", "soon")
    lines[4] = set_cell(lines[4], "record_type", "@x")
    path = tmp_path / "bad.csv"
    path.write_bytes(encode(lines))
    err = StringIO()
    with pytest.raises(CommandError, match="Nothing imported: 2 problem"):
        call_command(
            "import_ecm",
            str(path),
            "--service",
            "WILLOW",
            "--period",
            "2026-10",
            "--as",
            manager.email,
            stdout=StringIO(),
            stderr=err,
        )
    assert "row 3:" in err.getvalue()
    assert "row 5:" in err.getvalue()
    assert EcmRecord.objects.count() == 0


@needs_command
def test_the_import_command_refuses_someone_who_cannot_import_there(world, manager, tmp_path):
    path = tmp_path / "beech.csv"
    path.write_text(text_of(rows(3)))
    commissioner = world.user(Role.COMMISSIONER)
    for service, who in (("BEECH", manager), ("WILLOW", commissioner)):
        with pytest.raises(CommandError, match="Refused"):
            call_command(
                "import_ecm", str(path), "--service", service, "--as", who.email, stdout=StringIO()
            )
    assert EcmRecord.objects.count() == 0


@needs_command
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--service", "NOPE"], "No service with code NOPE"),
        (["--service", "WILLOW", "--period", "October"], "is not a month like 2026-10"),
    ],
)
def test_the_import_command_explains_bad_arguments(world, manager, tmp_path, arguments, message):
    path = tmp_path / "willow.csv"
    path.write_text(text_of(rows(3)))
    with pytest.raises(CommandError, match=message):
        call_command("import_ecm", str(path), *arguments, "--as", manager.email, stdout=StringIO())


@needs_command
def test_the_import_command_explains_a_missing_file(world, manager, tmp_path):
    with pytest.raises(CommandError, match="No file at"):
        call_command(
            "import_ecm",
            str(tmp_path / "missing.csv"),
            "--service",
            "WILLOW",
            "--as",
            manager.email,
        )
