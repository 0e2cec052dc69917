"""The quick way in (PostgreSQL): a file in the usual shape is loaded by the database's CSV reader
with exactly the values the careful reader would store; any other file is given back untouched,
and the careful reader still imports it when it is valid."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from assurance import ecm, ecm_plain
from assurance.ecm import COLUMNS, uk_time
from assurance.models import EcmImport, EcmRecord
from caregov.access import Role
from tests.assurance.builders import import_bytes, month

pytestmark = pytest.mark.django_db
OCTOBER = month(2026, 10)
HEADER = ",".join(COLUMNS)
PLAIN = [
    "R1,Daily note,2026-10-01 00:00,2026-10-01 00:05,Care worker,yes,,,240",
    'R2,"Incident, accident or near miss",2026-10-25 01:30,2026-10-25 01:45,,No,'
    "2026-09-01,2026-10-20,0",
    "R3,Care plan review,2026-10-31T23:59:30,,Senior care worker,Y,2026-10-02,2026-11-30,999999999",
    "R4,Fluid chart,2026-10-25 00:59,2026-10-25 02:00,Nurse,TRUE,,,17",
    "R5,Daily note – ünïcode,2026-10-29 12:00,2026-10-28 12:00,Team leader,0,,,5",
]


@pytest.fixture(autouse=True)
def _postgresql_only(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the quick way is PostgreSQL's own CSV reader")
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def manager(world):
    return world.user(Role.REGISTERED_MANAGER)


def windows_file(lines: list[str]) -> bytes:
    """As a spreadsheet saves 'CSV UTF-8': a byte-order mark, CRLF, no line end after the last."""
    return b"\xef\xbb\xbf" + "\r\n".join([HEADER, *lines]).encode("utf-8")


def unix_file(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")


def new_import(world, manager, name: str) -> EcmImport:
    return EcmImport.objects.create(
        organisation=world.org,
        service=world.service_a,
        period_start=OCTOBER.start,
        file_name=name,
        sha256=name,
        uploaded_by=manager,
    )


def quick(data: bytes, record: EcmImport):
    return ecm_plain.load(
        io.BytesIO(data), import_id=record.pk, period=OCTOBER, progress=lambda done, rows: None
    )


def careful(data: bytes, record: EcmImport):
    # A stream that cannot be read twice always goes the careful way.
    return ecm.read_export(iter([data]), import_id=record.pk, period=OCTOBER)


def stored(record: EcmImport) -> list[tuple]:
    fields = [f.name for f in EcmRecord._meta.concrete_fields if f.name not in ("id", "ecm_import")]
    return list(
        EcmRecord.objects.filter(ecm_import=record).order_by("row_number").values_list(*fields)
    )


def test_a_plain_file_stores_exactly_what_the_careful_reader_stores(world, manager):
    data = windows_file(PLAIN)
    fast, slow = new_import(world, manager, "fast"), new_import(world, manager, "slow")

    outcome = quick(data, fast)
    assert outcome is not None and outcome.clean
    assert outcome.rows_read == 5
    assert careful(data, slow).clean

    assert stored(fast) == stored(slow)
    rows = {r.reference: r for r in EcmRecord.objects.filter(ecm_import=fast)}
    assert [r[0] for r in stored(fast)] == [2, 3, 4, 5, 6]  # the header is row 1
    assert rows["R2"].record_type == "Incident, accident or near miss"
    assert rows["R2"].author_role == ""
    assert rows["R3"].recorded_at is None
    # 01:30 on the day the clocks go back happens twice: both readers take the second, GMT.
    assert rows["R2"].due_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert rows["R4"].due_at == datetime(2026, 10, 24, 23, 59, tzinfo=UTC)  # still summer time
    assert (rows["R2"].outcome_recorded, rows["R3"].outcome_recorded) == (False, True)
    assert rows["R3"].narrative_length == 999_999_999


def test_an_import_of_a_plain_file_goes_the_quick_way_and_gives_the_figures(world, manager):
    record, _ = import_bytes(manager, world.service_a, unix_file(PLAIN), period=OCTOBER)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert record.rows_read == 5
    assert record.figures["completeness"]["denominator"] == 5
    assert EcmRecord.objects.filter(ecm_import=record).count() == 5


def replace(line: int, old: str, new: str):
    def change(lines):
        lines = list(lines)
        assert old in lines[line]
        lines[line] = lines[line].replace(old, new, 1)
        return lines

    return change


def also(extra: str, at: int | None = None):
    def change(lines):
        lines = list(lines)
        lines.insert(len(lines) if at is None else at, extra)
        return lines

    return change


#: Files the quick way gives back: (what, change to PLAIN, the careful reader imports it).
GIVEN_BACK = [
    ("a day February does not have", replace(0, "2026-10-01 00:05", "2026-02-30 10:00"), False),
    ("a reference longer than 64 characters", replace(0, "R1,", "R" * 65 + ","), False),
    ("a reference on two rows", replace(1, "R2,", "R1,"), False),
    ("a reference on two rows, far apart", replace(4, "R5,", "R2,"), False),
    ("a reference quoted on one row and not on another", replace(4, "R5,", '"R1",'), False),
    ("a formula", replace(0, "Daily note", "=SUM(A1)"), False),
    ("due in the next month", replace(3, "2026-10-25 00:59", "2026-11-01 09:00"), False),
    ("a narrative length too large to hold", replace(4, ",,,5", ",,,2147483648"), False),
    ("outcome neither yes nor no", replace(0, ",yes,", ",maybe,"), False),
    ("a space around a value", replace(0, "R1,", " R1 ,"), True),
    ("a time with its offset", replace(0, "2026-10-01 00:05", "2026-10-01 00:05+01:00"), True),
    ("a quote inside a quoted cell", replace(3, "Fluid chart", '"Fluid ""chart"""'), True),
    ("a line break inside a quoted cell", replace(3, "Fluid chart", '"Fluid\nchart"'), True),
    ("a blank line", also("", at=2), True),
    ("a ten-digit narrative length", replace(4, ",,,5", ",,,2147483647"), True),
    (
        "a time given to the hundredth",
        replace(4, "2026-10-29 12:00", "2026-10-29 12:00:00.25"),
        True,
    ),
]


@pytest.mark.parametrize(
    "change,imports", [c[1:] for c in GIVEN_BACK], ids=[c[0] for c in GIVEN_BACK]
)
def test_a_file_out_of_the_usual_shape_is_given_back_with_nothing_loaded(
    world, manager, change, imports
):
    data = unix_file(change(PLAIN))
    record = new_import(world, manager, "given-back")
    assert quick(data, record) is None
    assert not EcmRecord.objects.filter(ecm_import=record).exists()

    imported, _ = import_bytes(manager, world.service_a, data, period=OCTOBER)
    expected = EcmImport.Status.IMPORTED if imports else EcmImport.Status.FAILED
    assert imported.status == expected, imported.problems
    if not imports:
        assert imported.problems and all(p["row"] >= 2 for p in imported.problems)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param((HEADER + "\n").encode(), id="header only"),
        pytest.param(
            ",".join(reversed(COLUMNS)).encode() + b"\n" + PLAIN[0].encode(), id="columns reordered"
        ),
        pytest.param(
            unix_file(PLAIN).replace("ünïcode".encode(), "ünïcode".encode("latin-1")),
            id="not UTF-8",
        ),
    ],
)
def test_files_the_quick_way_cannot_read_are_given_back(world, manager, data):
    record = new_import(world, manager, "given-back")
    assert quick(data, record) is None
    assert not EcmRecord.objects.filter(ecm_import=record).exists()


def test_the_database_reads_times_in_the_uk_zone_until_the_load_ends(world, manager):
    quick(unix_file(PLAIN), new_import(world, manager, "fast"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone')")
        assert cursor.fetchone()[0] == "UTC"


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"], ids=["spring", "autumn"])
def test_uk_time_reads_every_time_of_a_clock_change_day_as_postgresql_does(day):
    start = datetime.fromisoformat(day)
    texts = [f"{start + timedelta(minutes=m):%Y-%m-%d %H:%M}" for m in range(0, 4 * 60, 15)]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'Europe/London'")
        # As UTC text: the driver reads times back assuming the zone Django set.
        cursor.execute(
            "SELECT (t::timestamptz AT TIME ZONE 'UTC')::text FROM unnest(%s::text[]) AS t",
            [texts],
        )
        database = [datetime.fromisoformat(row[0]).replace(tzinfo=UTC) for row in cursor]
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
    ours = [uk_time(datetime.fromisoformat(t)).astimezone(UTC) for t in texts]
    assert database == ours
    assert len(set(ours)) == len(texts) - (4 if day == "2026-03-29" else 0)


def test_references_out_of_order_are_still_checked_for_repeats_and_load_when_unique(world, manager):
    unordered = [PLAIN[3], PLAIN[0], PLAIN[4], PLAIN[1], PLAIN[2]]  # R4, R1, R5, R2, R3
    outcome = quick(unix_file(unordered), new_import(world, manager, "unordered"))
    assert outcome is not None and outcome.rows_read == 5

    repeated = [PLAIN[3], PLAIN[0], PLAIN[4], PLAIN[1], PLAIN[2].replace("R3,", "R4,")]
    record = new_import(world, manager, "repeated")
    assert quick(unix_file(repeated), record) is None
    assert not EcmRecord.objects.filter(ecm_import=record).exists()


# Random files: whatever the quick way takes, the careful reader takes with the same values -------

_EDGES = ["", " ", "\xa0", "\u2003", "\x1f", "=", "+", "-", "@", '"', ","]
_TEXTS = st.builds(
    lambda before, body, after: before + body + after,
    st.sampled_from(_EDGES),
    st.text(alphabet='AbZ09-_ ,"é–\u2028\t', max_size=66),
    st.sampled_from(_EDGES),
)


def _moments(days: list[str]):
    return st.builds(
        lambda day, hour, minute, seconds, sep, tail: (
            f"{day}{sep}{hour:02d}:{minute:02d}{seconds}{tail}"
        ),
        st.sampled_from(days),
        st.integers(0, 25),
        st.integers(0, 61),
        st.sampled_from(["", ":30", ":75", ":00.5"]),
        st.sampled_from([" ", "T", "  "]),
        st.sampled_from(["", "", "", "+01:00", "Z", " "]),
    )


_DUE_DAYS = ["2026-10-01", "2026-10-25", "2026-10-31", "2026-10-32", "2026-11-01", "2026-09-30"]
_OTHER_DAYS = ["2026-10-25", "2026-03-29", "2026-02-29", "2024-02-29", "1899-12-31", "2100-01-01"]
_RECORDS = st.fixed_dictionaries(
    {
        "record_reference": st.one_of(st.sampled_from(["R1", "R2", "R10", "R3"]), _TEXTS),
        "record_type": st.one_of(st.just("Daily note"), _TEXTS),
        "due_time": _moments(_DUE_DAYS),
        "recorded_time": st.one_of(st.just(""), _moments(_OTHER_DAYS)),
        "author_role": st.one_of(st.just(""), _TEXTS),
        "outcome_recorded": st.sampled_from(
            ["yes", "no", "Y", "n", "TRUE", "false", "1", "0", "maybe", " yes", ""]
        ),
        "last_review_date": st.sampled_from(["", "2026-10-02", " 2026-10-02"] + _OTHER_DAYS),
        "review_due_date": st.sampled_from(["", "2026-10-20", "2026-13-01"] + _OTHER_DAYS),
        "narrative_length": st.sampled_from(
            ["0", "5", "0007", "999999999", "2147483647", "2147483648", "-1", "²", "", " 7"]
        ),
    }
)


_PLAIN_TEXTS = st.builds(
    lambda body: f"R{body}x",
    st.text(alphabet="0123456789aZ-_/ ,\té–\u2028", max_size=63),
)


def _plain_moments(days: list[str]):
    return st.builds(
        lambda day, hour, minute, seconds, sep: f"{day}{sep}{hour:02d}:{minute:02d}{seconds}",
        st.sampled_from(days),
        st.integers(0, 23),
        st.integers(0, 59),
        st.sampled_from(["", ":59"]),
        st.sampled_from([" ", "T"]),
    )


_PLAIN_RECORDS = st.fixed_dictionaries(
    {
        "record_reference": _PLAIN_TEXTS,
        "record_type": _PLAIN_TEXTS,
        "due_time": _plain_moments(["2026-10-01", "2026-10-25", "2026-10-31"]),
        "recorded_time": st.one_of(
            st.just(""), _plain_moments(["2026-10-25", "2026-03-29", "2024-02-29", "2026-09-30"])
        ),
        "author_role": st.one_of(st.just(""), _PLAIN_TEXTS),
        "outcome_recorded": st.sampled_from(["yes", "no", "Y", "n", "TRUE", "false", "1", "0"]),
        "last_review_date": st.sampled_from(["", "2026-10-02", "2024-02-29", "1900-01-01"]),
        "review_due_date": st.sampled_from(["", "2026-10-20", "2099-12-31"]),
        "narrative_length": st.sampled_from(["0", "5", "0007", "999999999"]),
    }
)
_FILES = st.one_of(
    st.lists(_PLAIN_RECORDS, min_size=1, max_size=6),
    st.lists(_PLAIN_RECORDS, min_size=1, max_size=6),
    st.lists(st.one_of(_PLAIN_RECORDS, _RECORDS), min_size=1, max_size=6),
)


@hypothesis_settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=_FILES,
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_whatever_the_quick_way_takes_the_careful_reader_takes_with_the_same_values(
    world, manager, records, line_end
):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator=line_end)
    writer.writeheader()
    writer.writerows(records)
    data = out.getvalue().encode("utf-8")
    fast, slow = new_import(world, manager, "fast"), new_import(world, manager, "slow")

    outcome = quick(data, fast)
    event("quick" if outcome is not None else "given back")
    checked = careful(data, slow)
    if outcome is None:
        assert not EcmRecord.objects.filter(ecm_import=fast).exists()
        return
    assert checked.clean, checked.problems[:3]
    assert outcome.rows_read == checked.rows_read == len(records)
    assert stored(fast) == stored(slow)
