"""Importing a supplier's own export through a column mapping (an import profile): a file in
unknown columns imports nothing until it is mapped; once mapped it gives the same figures as the
same records in caregov's columns; later files with that header use the profile; problems name
the row and the file's column; personal data columns are never mapped."""

import io
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from assurance import ecm, services
from assurance.examples import DOCS, as_fields, example_profiles
from assurance.models import EcmImport, EcmRecord, ImportProfile, MeasureResult
from caregov.access import Role
from tests.assurance.builders import month

OCTOBER = month(2026, 10)
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "ecm-export-example.csv"
DAY_FIRST = DOCS / "visit-notes-day-first.csv"
EXPECTED = {
    "completeness": "87.5",
    "timeliness": "71.4",
    "outcome_evidence": "85.7",
    "review_compliance": "50.0",
}
STORED = (
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
)


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def lead(world):
    # The world's placeholder profiles (for the access matrix) read no real file.
    ImportProfile.objects.filter(name="Supplier export").delete()
    return world.user(Role.DATA_QUALITY_LEAD)


def example(name: str) -> dict:
    return next(e for e in example_profiles() if e["file"] == name)


def save_example(actor, organisation, name: str = "visit-notes-day-first.csv", **changes):
    e = {**example(name), **changes}
    return services.profile_save(
        actor=actor,
        organisation=organisation,
        name=e["name"],
        names=e["columns"],
        fields=as_fields(e),
        date_format=e["date_format"],
        yes=e["yes"],
        no=e["no"],
    )


def queue_and_run(actor, service, data: bytes, period=OCTOBER, profile=None):
    record, queued = services.import_queue(
        actor=actor,
        service=service,
        period=period,
        upload=io.BytesIO(data),
        file_name="vendor.csv",
        profile=profile,
    )
    if queued:
        record = services.import_run(record)
    return record


def figures(service) -> dict:
    return {
        r.measure: str(r.value) for r in MeasureResult.objects.filter(service=service, source="ecm")
    }


def stored_rows(record) -> list[tuple]:
    return list(
        EcmRecord.objects.filter(ecm_import=record).order_by("row_number").values_list(*STORED)
    )


def test_a_supplier_file_with_no_profile_asks_for_mapping_and_imports_nothing(world, lead):
    before = EcmImport.objects.count(), EcmRecord.objects.count()
    with pytest.raises(services.MappingNeeded) as waiting:
        queue_and_run(lead, world.service_a, DAY_FIRST.read_bytes())
    assert waiting.value.columns.names[:3] == ["Record ID", "Note Type", "Scheduled"]
    assert (EcmImport.objects.count(), EcmRecord.objects.count()) == before
    assert services.pending_path(waiting.value.pending).is_file()


def test_the_upload_page_shows_the_mapping_form_and_imports_nothing(world, lead, login):
    before = EcmImport.objects.count()
    client = login(lead)
    with open(DAY_FIRST, "rb") as upload:
        response = client.post(
            reverse("assurance:import_new"),
            {
                "service": world.service_a.pk,
                "period": "2026-10",
                "tolerance_minutes": 120,
                "replace": "on",
                "file": upload,
            },
            follow=True,
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Map this export to caregov" in page
    assert "Record ID" in page and "WH-DN-000101" in page
    # Personal data: the staff names are not shown, and the column cannot be chosen.
    assert "A. Carer" not in page
    assert EcmImport.objects.count() == before


def test_each_example_imports_with_the_same_figures_as_caregovs_own_shape(world, lead):
    call_command(
        "import_ecm", str(EXAMPLE), "--service", "BEECH", "--as", lead.email, stdout=StringIO()
    )
    plain = figures(world.service_b)
    assert plain == EXPECTED
    for e in example_profiles():
        MeasureResult.objects.filter(service=world.service_a).delete()
        EcmRecord.objects.filter(ecm_import__service=world.service_a).delete()
        EcmImport.objects.filter(service=world.service_a).delete()
        ImportProfile.objects.all().delete()
        profile = save_example(lead, world.org, e["file"])
        record = queue_and_run(lead, world.service_a, (DOCS / e["file"]).read_bytes())
        assert record.status == EcmImport.Status.IMPORTED, (e["file"], record.problems)
        assert record.profile == profile
        assert figures(world.service_a) == EXPECTED, e["file"]


def test_mapped_rows_are_stored_as_the_same_records_in_caregovs_columns(world, lead):
    save_example(lead, world.org)
    mapped = queue_and_run(lead, world.service_a, DAY_FIRST.read_bytes())
    plain = queue_and_run(lead, world.service_b, EXAMPLE.read_bytes())
    # The supplier's file has its header on row 1 too, so the rows keep their numbers.
    assert stored_rows(mapped) == stored_rows(plain)


def test_a_second_upload_with_the_same_header_uses_the_profile_without_asking(world, lead):
    profile = save_example(lead, world.org)
    first = queue_and_run(lead, world.service_a, DAY_FIRST.read_bytes())
    changed = DAY_FIRST.read_bytes().replace(b"WH-DN-000108", b"WH-DN-000109")
    second = queue_and_run(lead, world.service_b, changed)
    assert (first.profile, second.profile) == (profile, profile)
    assert second.status == EcmImport.Status.IMPORTED
    assert second.mapping["date_format"] == "dmy"


def test_the_same_mapped_file_again_changes_nothing(world, lead):
    save_example(lead, world.org)
    first = queue_and_run(lead, world.service_a, DAY_FIRST.read_bytes())
    again = queue_and_run(lead, world.service_a, DAY_FIRST.read_bytes())
    assert again == first
    assert EcmImport.objects.filter(service=world.service_a, file_name="vendor.csv").count() == 1


def test_a_bad_date_in_the_suppliers_format_names_the_row_and_the_files_column(world, lead):
    save_example(lead, world.org)
    data = DAY_FIRST.read_bytes().replace(b"02/10/2026 09:00", b"31/09/2026 09:00")
    data = data.replace(b",Y,,,305,", b",Maybe,,,305,")
    record = queue_and_run(lead, world.service_a, data)
    assert record.status == EcmImport.Status.FAILED
    assert not EcmRecord.objects.filter(ecm_import=record).exists()
    assert record.problems == [
        {
            "row": 5,
            "column": "Scheduled",
            "message": "Column 'Scheduled' (due_time) '31/09/2026 09:00' is not a date and time "
            "like 14/10/2026 08:30.",
        },
        {
            "row": 9,
            "column": "Outcome Recorded",
            "message": "Column 'Outcome Recorded' (outcome_recorded) must be Y, Yes (yes) or N, "
            "No (no), not 'Maybe'.",
        },
    ]


def test_a_formula_and_a_repeated_reference_name_the_files_column(world, lead):
    save_example(lead, world.org)
    data = DAY_FIRST.read_bytes().replace(b"Night care worker", b"=HYPERLINK(1)")
    data = data.replace(b"WH-DN-000108", b"WH-DN-000101")
    record = queue_and_run(lead, world.service_a, data)
    assert [(p["row"], p["column"]) for p in record.problems] == [
        (3, "Staff Role"),
        (9, "Record ID"),
    ]
    assert "which a spreadsheet would run as a formula" in record.problems[0]["message"]
    assert record.problems[1]["message"] == "'Record ID' WH-DN-000101 is already on row 2."


def test_a_column_the_profile_does_not_know_is_refused_by_name(world, lead):
    profile = save_example(lead, world.org)
    text = DAY_FIRST.read_text().replace("Branch", "Resident notes", 1)
    record = queue_and_run(lead, world.service_a, text.encode(), profile=profile)
    assert record.status == EcmImport.Status.FAILED
    assert record.problems[0]["message"].startswith("Unexpected column: Resident notes.")


def test_a_column_that_looks_like_an_nhs_number_cannot_be_mapped(world, lead):
    e = example("entries-iso-times.csv")
    fields = {**as_fields(e), "record_reference": {"column": "nhs_number"}}
    with pytest.raises(ValidationError) as refused:
        services.profile_save(
            actor=lead,
            organisation=world.org,
            name="Wrong",
            names=e["columns"],
            fields=fields,
            date_format="iso",
            yes=["TRUE"],
            no=["FALSE"],
        )
    assert "looks like personal data" in refused.value.message_dict["field_record_reference"][0]
    # A column of NHS-number values is refused whatever it is called.
    names = ["ref", "type", "due", "outcome", "length"]
    fields = {
        "record_reference": {"column": "ref"},
        "record_type": {"column": "type"},
        "due_time": {"column": "due"},
        "recorded_time": {"absent": True},
        "author_role": {"absent": True},
        "outcome_recorded": {"column": "outcome"},
        "last_review_date": {"absent": True},
        "review_due_date": {"absent": True},
        "narrative_length": {"column": "length"},
    }
    with pytest.raises(ValidationError) as refused:
        services.profile_save(
            actor=lead,
            organisation=world.org,
            name="Numbers",
            names=names,
            fields=fields,
            date_format="iso",
            yes=["y"],
            no=["n"],
            samples=[["4857773456"], ["Daily note"], ["2026-10-01 08:00"], ["y"], ["1"]],
        )
    assert "10-digit NHS numbers" in refused.value.message_dict["field_record_reference"][0]
    assert not ImportProfile.objects.exists()


def test_a_required_field_cannot_be_left_out(world, lead):
    e = example("visit-notes-day-first.csv")
    with pytest.raises(ValidationError) as refused:
        services.profile_save(
            actor=lead,
            organisation=world.org,
            name="No due",
            names=e["columns"],
            fields={**as_fields(e), "due_time": {"absent": True}},
            date_format="dmy",
            yes=["Y"],
            no=["N"],
        )
    assert "needs Event time (due) in every export" in str(refused.value)


def test_the_import_command_reads_through_a_named_profile(world, lead):
    save_example(lead, world.org)
    out = StringIO()
    call_command(
        "import_ecm",
        str(DAY_FIRST),
        "--service",
        "WILLOW",
        "--as",
        lead.email,
        "--profile",
        "visit notes, day-first dates (example)",
        stdout=out,
    )
    assert "Read through import profile Visit notes, day-first dates (example)." in out.getvalue()
    assert "Imported 8 rows for Willow House, October 2026" in out.getvalue()
    with pytest.raises(CommandError, match="No import profile called Nobody"):
        call_command(
            "import_ecm", str(DAY_FIRST), "--service", "BEECH", "--as", lead.email,
            "--profile", "Nobody", stdout=StringIO(),
        )  # fmt: skip


def test_the_import_command_without_a_profile_says_how_to_map(world, lead):
    with pytest.raises(CommandError, match="Name one with --profile NAME"):
        call_command(
            "import_ecm", str(DAY_FIRST), "--service", "WILLOW", "--as", lead.email,
            stdout=StringIO(),
        )  # fmt: skip


def test_the_example_profiles_load_once_for_an_organisation(world, lead):
    call_command("load_import_profiles", "--organisation", world.org.slug, stdout=StringIO())
    call_command("load_import_profiles", "--organisation", world.org.slug, stdout=StringIO())
    assert ImportProfile.objects.filter(organisation=world.org).count() == 3
    first = ImportProfile.objects.first()
    assert first.history.first().history_change_reason == "assurance.profile.created"


def test_another_organisations_profile_is_invisible(world, lead, login):
    from tests.factories import person_with_role

    theirs = person_with_role(Role.DATA_QUALITY_LEAD, organisation=world.other_org)
    profile = save_example(lead, world.org)
    # The other provider's file with the same header is not read through our profile.
    with pytest.raises(services.MappingNeeded):
        queue_and_run(theirs, world.service_c, DAY_FIRST.read_bytes())
    with pytest.raises(PermissionDenied):
        queue_and_run(theirs, world.service_c, DAY_FIRST.read_bytes(), profile=profile)
    client = login(theirs)
    assert client.get(reverse("assurance:profile_detail", args=[profile.pk])).status_code in (
        403,
        404,
    )
    assert profile.name not in client.get(reverse("assurance:profile_list")).content.decode()


def test_profiles_are_listed_with_their_detail_and_history(world, lead, login):
    profile = save_example(lead, world.org)
    client = login(lead)
    listed = client.get(reverse("assurance:profile_list")).content.decode()
    assert profile.name in listed
    detail = client.get(reverse("assurance:profile_detail", args=[profile.pk])).content.decode()
    assert "Record ID" in detail and "DD/MM/YYYY HH:MM" in detail
    history = client.get(reverse("assurance:profile_history", args=[profile.pk]))
    assert history.status_code == 200


def test_care_staff_cannot_see_profiles(world, login):
    client = login(world.user(Role.CARE_STAFF))
    assert client.get(reverse("assurance:profile_list")).status_code == 403


@pytest.mark.parametrize(
    ("date_format", "text", "expected"),
    [
        ("dmy", "14/10/2026 08:30", "2026-10-14 08:30"),
        ("mdy", "10/14/2026 08:30", "2026-10-14 08:30"),
        ("dmy", "1/2/2026 8:05:09", "2026-02-01 08:05:09"),
        ("excel", "46309.354", "2026-10-14 08:29:46"),
        ("excel", "46309", "2026-10-14 00:00:00"),
        ("dmy", "31/02/2026 08:30", None),
        ("mdy", "14/10/2026 08:30", None),
        ("excel", "-1", None),
    ],
)
def test_supplier_date_formats_read_as_caregov_times(date_format, text, expected):
    from assurance.mapping import moment_text

    assert moment_text(text, date_format) == expected


def test_the_quick_way_and_the_careful_way_store_the_same_rows(world, lead, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the quick way is PostgreSQL's")
    from assurance import ecm_mapped

    for e in example_profiles():
        EcmRecord.objects.filter(ecm_import__file_name="vendor.csv").delete()
        EcmImport.objects.filter(file_name="vendor.csv").delete()
        ImportProfile.objects.all().delete()
        save_example(lead, world.org, e["file"])
        data = (DOCS / e["file"]).read_bytes()
        real, took = ecm_mapped.load, []

        def spy(*args, _real=real, _took=took, **kwargs):
            _took.append(_real(*args, **kwargs))
            return _took[-1]

        monkeypatch.setattr(ecm_mapped, "load", spy)
        quick = queue_and_run(lead, world.service_a, data)
        assert quick.status == EcmImport.Status.IMPORTED, quick.problems
        assert took and took[0] is not None, f"{e['file']} did not go the quick way"
        monkeypatch.setattr(ecm_mapped, "load", lambda *a, **k: None)
        careful = queue_and_run(lead, world.service_b, data)
        monkeypatch.setattr(ecm_mapped, "load", real)
        assert careful.status == EcmImport.Status.IMPORTED
        assert stored_rows(quick) == stored_rows(careful), e["file"]


def test_a_file_the_quick_way_cannot_take_still_imports_the_careful_way(world, lead):
    save_example(lead, world.org)
    # A one-digit day is not the plain shape, but it is a date the careful reader takes.
    data = DAY_FIRST.read_bytes().replace(b"01/10/2026 08:40", b"1/10/2026 08:40")
    record = queue_and_run(lead, world.service_a, data)
    assert record.status == EcmImport.Status.IMPORTED
    assert record.rows_read == 8


def test_the_preview_shows_rows_as_caregov_reads_them(world, lead):
    e = example("visit-notes-day-first.csv")
    read_through = {
        "profile": "preview",
        "header": [c.lower() for c in e["columns"]],
        "fields": as_fields(e),
        "date_format": "dmy",
        "yes": ["Y"],
        "no": ["N"],
        "ignored": ["staff name", "branch"],
    }
    rows, problems = services.preview_rows(path=DAY_FIRST, read_through=read_through)
    assert len(rows) == 8 and not problems
    assert rows[0][1][1] == "WH-DN-000101"
    read_through["date_format"] = "mdy"
    rows, problems = services.preview_rows(path=DAY_FIRST, read_through=read_through)
    assert problems and problems[0].column == "Scheduled"


def test_the_careful_reader_reads_a_mapped_stream_directly(world, lead):
    profile = save_example(lead, world.org)
    record = EcmImport.objects.create(
        organisation=world.org,
        service=world.service_a,
        period_start=OCTOBER.start,
        file_name="x.csv",
        sha256="x",
        uploaded_by=lead,
    )
    outcome = ecm.read_export(
        io.BytesIO(DAY_FIRST.read_bytes()),
        import_id=record.pk,
        period=None,
        mapping=profile.as_mapping(),
    )
    assert outcome.clean and outcome.rows_read == 8
    assert outcome.period == OCTOBER


def test_mapping_on_the_page_previews_then_saves_and_imports(world, lead, login):
    client = login(lead)
    with open(DAY_FIRST, "rb") as upload:
        response = client.post(
            reverse("assurance:import_new"),
            {
                "service": world.service_b.pk,
                "period": "2026-10",
                "tolerance_minutes": 120,
                "replace": "on",
                "file": upload,
            },
        )
    map_url = response["Location"]
    form = {
        "name": "Our visit notes",
        "date_format": "mdy",
        "yes_values": "Y, Yes",
        "no_values": "N, No",
        **{
            f"field_{f}": f"column:{c['column']}"
            for f, c in as_fields(example("visit-notes-day-first.csv")).items()
        },
    }
    # Month first is the wrong format for this file: the preview says so, by row and column.
    page = client.post(map_url, {**form, "action": "preview"}).content.decode()
    assert "Preview: the first rows as caregov will read them" in page
    assert "Column &#x27;Scheduled&#x27; (due_time) &#x27;13/10/2026" not in page
    assert "is not a date and time like 10/14/2026 08:30" in page
    assert not ImportProfile.objects.exists()
    # Leaving a required field out is refused at the field, keeping what was chosen.
    page = client.post(
        map_url, {**form, "field_record_type": "absent", "action": "save"}
    ).content.decode()
    assert "Select a valid choice" in page or "needs Record type" in page
    assert 'value="Our visit notes"' in page
    assert not ImportProfile.objects.exists()
    response = client.post(map_url, {**form, "date_format": "dmy", "action": "save"})
    profile = ImportProfile.objects.get()
    record = EcmImport.objects.get(profile=profile)
    assert response["Location"] == record.get_absolute_url()
    assert record.service == world.service_b
    detail = client.get(record.get_absolute_url()).content.decode()
    assert "Read through the import profile" in detail and "Our visit notes" in detail
    # The waiting upload is gone once imported.
    assert "no longer waiting" in client.get(map_url).content.decode()


@pytest.mark.parametrize(
    "due",
    [
        "01/10/2026 24:00",
        "01/10/2026 08:00:60",
        "01/10/2026 08:00:59",
        "1/10/2026 08:00",
        "01/10/2026 8:00",
        "01/10/2026 08:0Z",
        "01/10/2026  8:00",
        "31/10/2026 23:59",
        "01/11/2026 00:00",
        "25/10/2026 01:30",
        "29/02/2026 08:00",
    ],
)
def test_the_quick_way_takes_a_time_only_as_the_careful_way_reads_it(world, lead, due, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the quick way is PostgreSQL's")
    from assurance import ecm_mapped

    save_example(lead, world.org)
    data = DAY_FIRST.read_bytes().replace(b"01/10/2026 08:00,01/10/2026 08:40", f"{due},".encode())
    quick = queue_and_run(lead, world.service_a, data)
    monkeypatch.setattr(ecm_mapped, "load", lambda *a, **k: None)
    careful = queue_and_run(lead, world.service_b, data)
    assert quick.status == careful.status
    assert quick.problems == careful.problems
    assert stored_rows(quick) == stored_rows(careful)


def test_a_due_time_outside_the_month_is_quoted_as_the_file_writes_it(world, lead):
    save_example(lead, world.org)
    data = DAY_FIRST.read_bytes().replace(b"15/10/2026 08:00", b"15/11/2026 08:00")
    record = queue_and_run(lead, world.service_a, data)
    assert record.problems == [
        {
            "row": 9,
            "column": "Scheduled",
            "message": "Column 'Scheduled' (due_time) 15/11/2026 08:00 is outside October 2026, "
            "the month this export is for.",
        }
    ]


def test_uploads_left_waiting_for_a_mapping_are_removed_after_a_day(world, lead):
    import os

    from django.utils import timezone

    with pytest.raises(services.MappingNeeded) as waiting:
        queue_and_run(lead, world.service_a, DAY_FIRST.read_bytes())
    path = services.pending_path(waiting.value.pending)
    now = timezone.now()
    assert services.pending_sweep(at=now) == ""
    old = (now - timezone.timedelta(hours=25)).timestamp()
    os.utime(path, (old, old))
    assert services.pending_sweep(at=now) == "1 upload left waiting for a mapping removed"
    assert not path.exists()


def test_a_reference_on_two_rows_is_found_whichever_way_the_file_goes(world, lead):
    save_example(lead, world.org)
    data = DAY_FIRST.read_bytes().replace(b"WH-DN-000108", b"WH-DN-000101")
    record = queue_and_run(lead, world.service_a, data)
    assert record.status == EcmImport.Status.FAILED
    assert record.problems == [
        {
            "row": 9,
            "column": "Record ID",
            "message": "'Record ID' WH-DN-000101 is already on row 2.",
        }
    ]


def _quick_then_careful(lead, world, data, monkeypatch, profile=None):
    """Import `data` the quick way at service A and the careful way at service B; gives both
    records and whether the quick way took the file."""
    from assurance import ecm_mapped

    real, took = ecm_mapped.load, []

    def spy(*args, **kwargs):
        took.append(real(*args, **kwargs))
        return took[-1]

    monkeypatch.setattr(ecm_mapped, "load", spy)
    quick = queue_and_run(lead, world.service_a, data, profile=profile)
    monkeypatch.setattr(ecm_mapped, "load", lambda *a, **k: None)
    careful = queue_and_run(lead, world.service_b, data, profile=profile)
    monkeypatch.setattr(ecm_mapped, "load", real)
    return quick, careful, bool(took and took[0] is not None)


@pytest.mark.parametrize(
    "change",
    [
        "quoted cells",
        "fixed values and fields left out",
        "the provider's own yes and no words",
    ],
)
def test_the_quick_way_reads_quotes_fixed_values_and_own_words_as_the_careful_way(
    world, lead, monkeypatch, change
):
    if connection.vendor != "postgresql":
        pytest.skip("the quick way is PostgreSQL's")
    e = example("visit-notes-day-first.csv")
    fields, yes, no = as_fields(e), e["yes"], e["no"]
    data = DAY_FIRST.read_bytes()
    if change == "quoted cells":
        # A comma inside a quoted note type and inside a quoted staff name.
        data = data.replace(
            b",Daily note,01/10/2026 08:00", b',"Daily note, morning",01/10/2026 08:00'
        )
        data = data.replace(b"A. Carer", b'"Carer, A."')
    elif change == "fixed values and fields left out":
        fields = {
            **fields,
            "record_type": {"value": 'Visit "note" {1}'},
            "author_role": {"absent": True},
            "last_review_date": {"absent": True},
        }
    else:
        yes, no = ["Done"], ["Not done"]
        data = data.replace(b",Y,", b",done,").replace(b",N,", b",NOT DONE,")
    profile = services.profile_save(
        actor=lead,
        organisation=world.org,
        name="Visit notes",
        names=e["columns"],
        fields=fields,
        date_format="dmy",
        yes=yes,
        no=no,
    )
    quick, careful, took = _quick_then_careful(lead, world, data, monkeypatch, profile)
    assert took, "the quick way refused the file"
    assert quick.status == careful.status == EcmImport.Status.IMPORTED, careful.problems
    assert stored_rows(quick) == stored_rows(careful)
    if change == "quoted cells":
        assert stored_rows(quick)[0][2] == "Daily note, morning"
    elif change == "fixed values and fields left out":
        assert {row[2] for row in stored_rows(quick)} == {'Visit "note" {1}'}
        assert {row[5] for row in stored_rows(quick)} == {""}


def test_an_iso_due_time_whose_offset_takes_it_out_of_the_month_goes_the_careful_way(
    world, lead, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("the quick way is PostgreSQL's")
    save_example(lead, world.org, "entries-iso-times.csv")
    data = (DOCS / "entries-iso-times.csv").read_bytes()
    # Written on 1 October, but 23:30 on 30 September in UK time.
    data = data.replace(b"2026-10-01T08:00:00+01:00", b"2026-10-01T00:30:00+02:00", 1)
    quick, careful, took = _quick_then_careful(lead, world, data, monkeypatch)
    assert not took
    assert quick.status == careful.status == EcmImport.Status.FAILED
    assert quick.problems == careful.problems
    assert "outside October 2026" in quick.problems[0]["message"]


def test_a_profile_is_changed_on_its_page_and_the_next_upload_reads_through_the_change(
    world, lead, login
):
    profile = save_example(lead, world.org)
    client = login(lead)
    url = reverse("assurance:profile_edit", args=[profile.pk])
    page = client.get(url).content.decode()
    assert f'value="{profile.name}"' in page
    assert 'value="column:record id" selected' in page
    form = {
        "name": profile.name,
        "date_format": "dmy",
        "yes_values": "Y, Yes, Done",
        "no_values": "N, No",
        **{
            f"field_{f}": f"column:{c['column']}"
            for f, c in as_fields(example("visit-notes-day-first.csv")).items()
        },
    }
    # A name left empty is refused; what was typed stays and nothing changes.
    page = client.post(url, {**form, "name": ""}).content.decode()
    assert "Enter the name for this mapping." in page
    assert 'value="Y, Yes, Done"' in page
    profile.refresh_from_db()
    assert profile.yes_values == ["Y", "Yes"]
    response = client.post(url, form)
    assert response["Location"] == profile.get_absolute_url()
    profile.refresh_from_db()
    assert profile.yes_values == ["Y", "Yes", "Done"]
    assert [h.history_change_reason for h in profile.history.order_by("history_date")] == [
        "assurance.profile.created",
        "assurance.profile.changed",
    ]
    data = DAY_FIRST.read_bytes().replace(b",Y,", b",Done,")
    record = queue_and_run(lead, world.service_a, data)
    assert record.status == EcmImport.Status.IMPORTED, record.problems
    assert record.profile == profile


def test_a_column_refused_as_personal_data_when_saved_stays_refused_when_changed(
    world, lead, login
):
    names = ["ref", "type", "due", "outcome", "length", "extra id"]
    fields = {
        "record_reference": {"column": "ref"},
        "record_type": {"column": "type"},
        "due_time": {"column": "due"},
        "recorded_time": {"absent": True},
        "author_role": {"absent": True},
        "outcome_recorded": {"column": "outcome"},
        "last_review_date": {"absent": True},
        "review_due_date": {"absent": True},
        "narrative_length": {"column": "length"},
    }
    samples = [["A1"], ["Daily note"], ["2026-10-01 08:00"], ["y"], ["1"], ["4857773456"]]
    profile = services.profile_save(
        actor=lead,
        organisation=world.org,
        name="Numbers",
        names=names,
        fields=fields,
        date_format="iso",
        yes=["y"],
        no=["n"],
        samples=samples,
    )
    assert profile.ignored == ["extra id"]
    assert "NHS numbers" in profile.personal_columns["extra id"]
    # Without the file's values to look at, the column is still refused for any field.
    with pytest.raises(ValidationError) as refused:
        services.profile_save(
            actor=lead,
            organisation=world.org,
            name="Numbers",
            names=names,
            fields={**fields, "record_reference": {"column": "extra id"}},
            date_format="iso",
            yes=["y"],
            no=["n"],
            profile=profile,
        )
    assert "NHS numbers" in refused.value.message_dict["field_record_reference"][0]
    client = login(lead)
    page = client.get(reverse("assurance:profile_edit", args=[profile.pk])).content.decode()
    assert "column:extra id" not in page
    assert "like personal data" in page
    profile.refresh_from_db()
    assert profile.fields["record_reference"] == {"column": "ref"}
