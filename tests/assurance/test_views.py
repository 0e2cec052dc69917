"""What people see and can do on the data assurance pages, through the real views."""

import io
import uuid
from datetime import date

import pytest
from django.urls import reverse

from assurance import services as assurance_services
from assurance.models import (
    Audit,
    EcmImport,
    EcmRecord,
    GapCause,
    RelianceDecision,
    ThresholdVersion,
)
from caregov.access import Role
from caregov.services import governance as gov
from tests.assurance.builders import import_rows, month, rows, submitted_audit


def _login(client, world, role):
    client.force_login(world.user(role))
    return world.user(role)


def test_a_team_leader_sees_only_their_services_audits(client, world):
    submitted_audit(
        world.user(Role.QUALITY_LEAD), world.service_b, month(2026, 10), {"completeness": ["met"]}
    )
    _login(client, world, Role.TEAM_LEADER)
    page = client.get(reverse("assurance:audit_list")).content.decode()
    assert "Willow House" in page
    assert "Beech Court" not in page
    other = Audit.objects.filter(service=world.service_b).first()
    assert client.get(reverse("assurance:audit_detail", args=[other.pk])).status_code == 404


def test_a_commissioner_opens_no_audit_and_cannot_start_one(client, world):
    # Audits hold staff-level records: a commissioner reads the figures, not the audits.
    submitted_audit(
        world.user(Role.QUALITY_LEAD), world.service_a, month(2026, 10), {"completeness": ["met"]}
    )
    _login(client, world, Role.COMMISSIONER)
    assert client.get(reverse("assurance:audit_list")).status_code == 403
    before = Audit.objects.count()
    response = client.post(
        reverse("assurance:audit_new"),
        {
            "idempotency_key": uuid.uuid4(),
            "service": world.service_a.pk,
            "period": "2026-10",
            "how": "typed",
            "references": "R1",
        },
    )
    assert response.status_code == 403
    assert Audit.objects.count() == before


def _start(client, world, key, references="R00001\nR00002"):
    return client.post(
        reverse("assurance:audit_new"),
        {
            "idempotency_key": key,
            "service": world.service_a.pk,
            "period": "2026-10",
            "how": "typed",
            "references": references,
            "sample_size": "",
        },
    )


def test_starting_the_same_audit_twice_makes_one_audit(client, world):
    _login(client, world, Role.TEAM_LEADER)
    before = Audit.objects.count()
    key = uuid.uuid4()
    first = _start(client, world, key)
    second = _start(client, world, key)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Audit.objects.count() == before + 1


def _answer_all(client, audit, answer="met"):
    for record in audit.records.order_by("position"):
        data = {
            f"check_{m}": answer
            for m in (
                "completeness",
                "timeliness",
                "outcome_evidence",
                "review_compliance",
                "narrative_quality",
            )
        }
        response = client.post(
            reverse("assurance:audit_record", args=[audit.pk, record.position]), data
        )
        assert response.status_code == 302, response.content.decode()[:2000]


def test_submitting_twice_submits_once_and_says_so(client, world):
    _login(client, world, Role.TEAM_LEADER)
    _start(client, world, uuid.uuid4())
    audit = Audit.objects.filter(
        service=world.service_a, started_by=world.user(Role.TEAM_LEADER)
    ).latest("pk")
    _answer_all(client, audit)
    key = str(uuid.uuid4())
    url = reverse("assurance:audit_submit", args=[audit.pk])
    client.post(url, {"submission_key": key})
    repeat = client.post(url, {"submission_key": key}, follow=True)
    assert "already submitted; your repeat changed nothing" in repeat.content.decode()
    audit.refresh_from_db()
    assert audit.status == Audit.Status.SUBMITTED
    assert audit.history.filter(history_change_reason="assurance.audit.submitted").count() == 1


def test_a_not_met_answer_without_a_note_keeps_the_answers_and_asks_for_one(client, world):
    _login(client, world, Role.TEAM_LEADER)
    _start(client, world, uuid.uuid4())
    audit = Audit.objects.filter(started_by=world.user(Role.TEAM_LEADER)).latest("pk")
    data = {
        f"check_{m}": "met"
        for m in ("completeness", "timeliness", "outcome_evidence", "review_compliance")
    }
    data["check_narrative_quality"] = "not_met"
    response = client.post(reverse("assurance:audit_record", args=[audit.pk, 1]), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Narrative quality: say briefly what was wrong." in page
    # What was tapped is still selected.
    assert response.context["form"]["check_narrative_quality"].value() == "not_met"
    assert response.context["form"]["check_completeness"].value() == "met"
    assert not audit.records.get(position=1).checks.exists()


def test_a_failed_check_raises_an_action_with_owner_and_due_date_filled_in(client, world):
    user = _login(client, world, Role.TEAM_LEADER)
    _start(client, world, uuid.uuid4())
    audit = Audit.objects.filter(started_by=user).latest("pk")
    data = {
        f"check_{m}": "met"
        for m in ("completeness", "timeliness", "outcome_evidence", "review_compliance")
    }
    data.update(
        check_narrative_quality="not_met", note_narrative_quality="One word only", then="action"
    )
    response = client.post(reverse("assurance:audit_record", args=[audit.pk, 1]), data)
    assert response["Location"] == reverse("assurance:audit_check_action", args=[audit.pk, 1])
    form = client.get(response["Location"])
    owner = form.context["form"]["owner"].value()
    due = form.context["form"]["due_on"].value()
    client.post(
        response["Location"],
        {
            "owner": owner or world.user(Role.REGISTERED_MANAGER).pk,
            "due_on": due,
            "measure": "narrative_quality",
        },
    )
    action = gov.Action.objects.get(finding_ref=f"assurance.audit:{audit.pk}:R00001")
    assert action.measure == "narrative_quality"
    assert action.service == world.service_a


def test_uploading_for_a_service_you_cannot_import_for_saves_nothing(client, world):
    _login(client, world, Role.REGISTERED_MANAGER)
    upload = io.BytesIO(b"record_reference\n")
    upload.name = "export.csv"
    before = EcmImport.objects.count()
    response = client.post(
        reverse("assurance:import_new"),
        {
            "service": world.service_b.pk,
            "period": "2026-10",
            "tolerance_minutes": 120,
            "file": upload,
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert EcmImport.objects.count() == before


def test_an_upload_is_imported_by_the_task_and_the_page_shows_the_figures(
    client, world, django_capture_on_commit_callbacks
):
    from assurance.ecm import export_rows

    _login(client, world, Role.REGISTERED_MANAGER)
    upload = io.BytesIO(export_rows(rows(20, recorded=18)).encode())
    upload.name = "willow-october.csv"
    # The test world already holds an export for Willow House, October 2026: replacing it takes
    # a tick, and without one nothing is saved.
    refused = client.post(
        reverse("assurance:import_new"),
        {
            "service": world.service_a.pk,
            "period": "2026-10",
            "tolerance_minutes": 120,
            "file": upload,
        },
    )
    assert "Tick the box to replace its figures" in refused.content.decode()
    assert not EcmImport.objects.filter(file_name="willow-october.csv").exists()
    upload.seek(0)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("assurance:import_new"),
            {
                "service": world.service_a.pk,
                "period": "2026-10",
                "tolerance_minutes": 120,
                "file": upload,
                "replace": "on",
            },
        )

    page = client.get(response["Location"]).content.decode()
    assert "Imported: 20 rows read, no problems." in page
    assert "90.0%" in page  # completeness: 18 of 20
    record = EcmImport.objects.get(file_name="willow-october.csv")
    progress = client.get(reverse("assurance:import_progress", args=[record.pk])).json()
    assert progress == {
        "status": "imported",
        "finished": True,
        "percent": 100,
        "rows": 20,
        "text": "Importing: 100% read, 20 rows checked so far.",
    }
    assert EcmRecord.objects.filter(ecm_import=record).count() == 20

    # Large counts are written as people read them.
    EcmImport.objects.filter(pk=record.pk).update(rows_read=200_000)
    assert "Imported: 200,000 rows read" in client.get(response["Location"]).content.decode()


def test_the_registered_manager_records_gap_causes_until_the_review_is_signed_off(client, world):
    manager = _login(client, world, Role.REGISTERED_MANAGER)
    import_rows(manager, world.service_a, rows(10, recorded=5))  # completeness 50%: red
    cycle = world.record("review", world.service_a)
    url = reverse("assurance:trend_review", args=[cycle.pk])
    page = client.get(url).content.decode()
    assert "Record completeness: Red: 50.0%, target 95%" in page
    client.post(
        url,
        {
            "measure": "completeness",
            "completeness-cause": "training",
            "completeness-note": "New starters",
        },
    )
    assert GapCause.objects.get(review_cycle=cycle, measure="completeness").cause == "training"
    gov.review_sign_off(actor=manager, cycle=cycle, decision="Training booked", minutes="Reviewed")
    response = client.post(url, {"measure": "completeness", "completeness-cause": "workload"})
    assert response.status_code == 403
    assert GapCause.objects.get(review_cycle=cycle, measure="completeness").cause == "training"


def test_the_review_and_sign_off_pages_show_the_causes_and_actions_recorded_in_it(client, world):
    manager = _login(client, world, Role.REGISTERED_MANAGER)
    cycle = world.record("review", world.service_a)
    sign_off = reverse("review_sign_off", args=[cycle.pk])
    assert "No causes are recorded yet" in client.get(sign_off).content.decode()
    assurance_services.gap_cause_save(
        actor=manager,
        cycle=cycle,
        measure="completeness",
        cause="workload",
        note="Short-staffed weekends",
    )
    gov.action_raise(
        actor=manager,
        review_cycle=cycle,
        title="Cover weekend shifts with bank staff",
        detail="",
        owner=manager,
        due_on=date(2026, 12, 18),
    )

    for url in (sign_off, reverse("review_detail", args=[cycle.pk])):
        page = " ".join(client.get(url).content.decode().split())
        assert "Causes recorded in this review" in page
        assert "<strong>Record completeness:</strong> Workload. Short-staffed weekends" in page
        assert "Cover weekend shifts with bank staff" in page
    # Read before the form, where the minutes are written.
    page = client.get(sign_off).content.decode()
    assert page.index("Short-staffed weekends") < page.index('name="minutes"')


def test_the_board_records_reliance_once_with_the_evidence_frozen(client, world):
    board = _login(client, world, Role.BOARD_MEMBER)
    import_rows(
        world.user(Role.REGISTERED_MANAGER), world.service_a, rows(10, start=date(2026, 8, 1))
    )
    url = reverse("assurance:reliance_detail", args=["2026-Q3"])
    page = client.get(url)
    services = page.context["snapshot"]["services"]
    data = {"verdict": "caveats", "reasons": "Narrative not yet audited at Beech Court"}
    for s in services:
        data[f"verdict_{s['id']}"] = "yes"
    response = client.post(url, data)
    assert response.status_code == 302
    decision = RelianceDecision.objects.get(organisation=world.org)
    assert decision.decided_by == board
    willow = next(s for s in decision.snapshot["services"] if s["name"] == "Willow House")
    assert willow["figures"]["completeness"]["value"] == "100.0"
    # Later data does not change what the board saw, and a second decision is refused.
    import_rows(
        world.user(Role.REGISTERED_MANAGER),
        world.service_a,
        rows(10, recorded=1, start=date(2026, 9, 1), prefix="S"),
    )
    decision.refresh_from_db()
    assert (
        next(s for s in decision.snapshot["services"] if s["name"] == "Willow House")["figures"][
            "completeness"
        ]["value"]
        == "100.0"
    )
    assert client.post(url, data).status_code == 403
    assert RelianceDecision.objects.count() == 1


def test_a_data_quality_lead_sets_thresholds_from_this_month_and_not_for_the_past(client, world):
    _login(client, world, Role.DATA_QUALITY_LEAD)
    url = reverse("assurance:threshold_edit", args=["timeliness"])
    past = client.post(
        url,
        {
            "effective_from": "2020-01",
            "target": 95,
            "green_from": 90,
            "amber_from": 75,
            "reason": "Tighter",
        },
    )
    assert "past months keep the thresholds they were judged by" in past.content.decode()
    assert not ThresholdVersion.objects.exists()
    from django.utils import timezone

    this_month = timezone.localdate().strftime("%Y-%m")
    client.post(
        url,
        {
            "effective_from": this_month,
            "target": 95,
            "green_from": 92,
            "amber_from": 80,
            "reason": "Tighter",
        },
    )
    assert ThresholdVersion.objects.get().green_from == 92


@pytest.mark.parametrize("role", [Role.TEAM_LEADER, Role.REGISTERED_MANAGER, Role.COMMISSIONER])
def test_service_roles_cannot_open_the_cross_service_comparison(client, world, role):
    _login(client, world, role)
    assert client.get(reverse("assurance:compare")).status_code == 403


def test_the_comparison_reads_the_same_number_of_queries_for_more_services_and_months(
    client, world
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ServiceFactory

    manager = world.user(Role.REGISTERED_MANAGER)
    _login(client, world, Role.QUALITY_LEAD)

    def count(months):
        with CaptureQueriesContext(connection) as queries:
            assert (
                client.get(
                    reverse("assurance:compare"), {"period": "2026-10", "months": months}
                ).status_code
                == 200
            )
        return len(queries)

    import_rows(manager, world.service_a, rows(10))
    few = count(3)
    for n in range(4):
        ServiceFactory(organisation=world.org, name=f"Extra {n}", code=f"EXTRA{n}")
    many = count(24)
    assert many == few


def test_the_submit_page_shows_every_answer_before_the_audit_is_locked(client, world):
    user = _login(client, world, Role.TEAM_LEADER)
    _start(client, world, uuid.uuid4())
    audit = Audit.objects.filter(started_by=user).latest("pk")
    _answer_all(client, audit)
    page = client.get(reverse("assurance:audit_submit", args=[audit.pk])).content.decode()
    assert "R00001" in page and "R00002" in page
    assert page.count(">Met</span>") == 10  # two records, five checks each
    assert "Submit audit" in page


# The record screen on a tablet: what it says, and how it answers the device -------------------

JSON = {"HTTP_ACCEPT": "application/json"}
MEASURES_CHECKED = (
    "completeness",
    "timeliness",
    "outcome_evidence",
    "review_compliance",
    "narrative_quality",
)


def _audit_of(client, world, references="R00001\nR00002"):
    user = _login(client, world, Role.TEAM_LEADER)
    _start(client, world, uuid.uuid4(), references)
    return user, Audit.objects.filter(started_by=user).latest("pk")


def _met(**extra):
    return {f"check_{m}": "met" for m in MEASURES_CHECKED} | extra


def test_a_field_needed_only_with_a_correction_says_so_instead_of_optional(client, world):
    _, audit = _audit_of(client, world)
    page = client.get(reverse("assurance:audit_record", args=[audit.pk, 1])).content.decode()
    for label in ("Corrected by", "Corrected on"):
        assert f'{label} <span class="optional">(needed with a correction)</span>' in page
        assert f'{label} <span class="optional">(optional)</span>' not in page
    assert (
        'Whose support need <span class="optional">(needed with training, supervision or '
        "coaching)</span>" in page
    )
    # The date is typed as the hint says, day, month and year: no browser date picker whose
    # order differs from the hint.
    assert "For example, 14 10 2026" in page
    assert 'type="date"' not in page
    for box in ("Day", "Month", "Year"):
        assert f">{box}</label>" in page


def test_a_correction_without_its_date_is_refused_and_the_date_is_read_from_three_boxes(
    client, world
):
    _, audit = _audit_of(client, world)
    url = reverse("assurance:audit_record", args=[audit.pk, 1])
    response = client.post(url, _met(correction_made="Added the visit time", corrected_by="TL"))
    assert response.status_code == 200
    assert "Enter the date the correction was made, like 14 10 2026." in response.content.decode()
    assert response.context["form"]["correction_made"].value() == "Added the visit time"

    impossible = _met(
        correction_made="Added the visit time",
        corrected_by="TL",
        corrected_on_day="31",
        corrected_on_month="2",
        corrected_on_year="2026",
    )
    page = client.post(url, impossible).content.decode()
    assert "Enter a real date for the correction, like 14 10 2026." in page
    assert 'value="31"' in page  # what was typed stays

    client.post(url, impossible | {"corrected_on_day": "14", "corrected_on_month": "10"})
    record = audit.records.get(position=1)
    assert str(record.corrected_on) == "2026-10-14"


def test_the_error_summary_follows_the_screen_from_the_first_question_down(client, world):
    _, audit = _audit_of(client, world)
    data = _met(check_completeness="not_met", correction_made="Fixed", corrected_by="TL")
    response = client.post(reverse("assurance:audit_record", args=[audit.pk, 1]), data)
    page = response.content.decode()
    summary = page[page.index("error-summary__list") :]
    note = summary.index("Record completeness: say briefly what was wrong.")
    date = summary.index("Enter the date the correction was made")
    assert note < date
    assert 'href="#id_note_completeness"' in summary and 'href="#id_corrected_on_0"' in summary


def test_a_save_sent_as_a_form_names_its_key_so_the_device_lets_go_of_its_copy(client, world):
    _, audit = _audit_of(client, world)
    key = uuid.uuid4()
    response = client.post(
        reverse("assurance:audit_record", args=[audit.pk, 1]), _met(save_key=str(key))
    )
    assert response["Location"] == (
        reverse("assurance:audit_record", args=[audit.pk, 2]) + f"?saved={key}"
    )


def test_the_device_is_told_in_json_whether_caregov_has_the_record(client, world):
    _, audit = _audit_of(client, world)
    url = reverse("assurance:audit_record", args=[audit.pk, 1])
    key = str(uuid.uuid4())
    accepted = client.post(url, _met(save_key=key), **JSON)
    assert accepted.status_code == 200
    assert accepted.json() == {
        "status": "accepted",
        "key": key,
        "position": 1,
        "next": reverse("assurance:audit_record", args=[audit.pk, 2]),
    }
    # The same save again (the device never heard the answer): accepted, changed once.
    again = client.post(url, _met(save_key=key, check_completeness="not_met"), **JSON)
    assert again.json()["status"] == "accepted"
    record = audit.records.get(position=1)
    assert record.checks.get(measure="completeness").answer == "met"
    saves = record.history.filter(history_change_reason="assurance.audit.record_saved")
    assert saves.count() == 1

    refused = client.post(
        url, _met(save_key=str(uuid.uuid4()), check_completeness="not_met"), **JSON
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "status": "refused",
        "errors": {"note_completeness": ["Record completeness: say briefly what was wrong."]},
    }


def test_answers_kept_on_a_shared_tablet_are_not_saved_in_someone_elses_name(client, world):
    user, audit = _audit_of(client, world)
    response = client.post(
        reverse("assurance:audit_record", args=[audit.pk, 1]),
        _met(save_key=str(uuid.uuid4())),
        HTTP_X_CAREGOV_QUEUED_BY=str(user.pk + 1000),
        **JSON,
    )
    assert response.status_code == 409
    assert response.json()["status"] == "other_person"
    assert not audit.records.get(position=1).checks.exists()


def test_a_submission_sent_by_the_device_is_answered_in_json_and_counts_once(client, world):
    _, audit = _audit_of(client, world)
    url = reverse("assurance:audit_submit", args=[audit.pk])
    early = client.post(url, {"submission_key": str(uuid.uuid4())}, **JSON)
    assert early.status_code == 400
    assert early.json()["message"] == (
        "Check every record before submitting: records 1, 2 are not done yet."
    )
    _answer_all(client, audit)
    key = str(uuid.uuid4())
    first = client.post(url, {"submission_key": key}, **JSON)
    second = client.post(url, {"submission_key": key}, **JSON)
    assert (first.json()["status"], first.json()["now"]) == ("submitted", True)
    assert (second.json()["status"], second.json()["now"]) == ("submitted", False)
    assert first.json()["message"] == (
        "Audit submitted for Willow House, October 2026. It is now locked."
    )
    assert audit.history.filter(history_change_reason="assurance.audit.submitted").count() == 1
    other = client.post(url, {"submission_key": str(uuid.uuid4())}, **JSON)
    assert other.status_code == 409 and other.json()["status"] == "closed"


def test_the_record_screen_carries_every_record_of_its_audit_and_only_its_audit(client, world):
    user, audit = _audit_of(client, world)
    _start(client, world, uuid.uuid4(), "R00009")
    client.post(reverse("assurance:audit_record", args=[audit.pk, 1]), _met())
    response = client.get(reverse("assurance:audit_record", args=[audit.pk, 2]))
    carried = response.context["device_audit"]
    assert (carried["id"], carried["user"], carried["total"], carried["position"]) == (
        audit.pk,
        user.pk,
        2,
        2,
    )
    assert [(r["reference"], r["saved"]) for r in carried["records"]] == [
        ("R00001", True),
        ("R00002", False),
    ]
    assert carried["records"][0]["values"]["check_completeness"] == "met"
    assert carried["messages"]["note_timeliness"] == "Timeliness: say briefly what was wrong."
    assert 'id="audit-data"' in response.content.decode()


def test_a_team_leader_is_asked_once_more_before_discarding_their_audit(client, world):
    _, audit = _audit_of(client, world)
    detail = client.get(reverse("assurance:audit_detail", args=[audit.pk])).content.decode()
    discard_url = reverse("assurance:audit_discard", args=[audit.pk])
    assert f'href="{discard_url}"' in detail

    confirm = client.get(discard_url).content.decode()
    assert "it can no longer be answered or submitted, and its answers count in no figures" in (
        confirm
    )
    assert "you can start a new audit of Willow House for October 2026" in confirm

    no_reason = client.post(discard_url, {"reason": " "})
    assert "Say why the audit is being discarded." in no_reason.content.decode()
    audit.refresh_from_db()
    assert audit.status == Audit.Status.DRAFT

    done = client.post(discard_url, {"reason": "Started for the wrong month"}, follow=True)
    page = done.content.decode()
    assert f"Audit {audit.pk} discarded." in page
    assert "This audit was discarded: Started for the wrong month." in page
    assert "Submit audit" not in page and f'href="{discard_url}"' not in page
    audit.refresh_from_db()
    assert audit.status == Audit.Status.DISCARDED
    # Its records can no longer be opened for answering.
    record = client.get(reverse("assurance:audit_record", args=[audit.pk, 1]))
    assert record["Location"] == reverse("assurance:audit_detail", args=[audit.pk])
    listed = client.get(reverse("assurance:audit_list") + "?status=discarded").content.decode()
    assert f"Audit {audit.pk}</a>" in listed


def test_only_the_starter_sees_the_discard_button_and_a_submitted_audit_offers_none(client, world):
    _, audit = _audit_of(client, world)
    discard_url = reverse("assurance:audit_discard", args=[audit.pk])
    _login(client, world, Role.REGISTERED_MANAGER)
    detail = client.get(reverse("assurance:audit_detail", args=[audit.pk])).content.decode()
    assert f'href="{discard_url}"' not in detail
    page = client.get(discard_url).content.decode()
    assert "who started this audit, can discard it" in page
    client.post(discard_url, {"reason": "Not mine to discard"})
    audit.refresh_from_db()
    assert audit.status == Audit.Status.DRAFT

    submitted = submitted_audit(
        world.user(Role.TEAM_LEADER), world.service_a, month(2026, 10), {"completeness": ["met"]}
    )
    _login(client, world, Role.TEAM_LEADER)
    url = reverse("assurance:audit_discard", args=[submitted.pk])
    assert "so it cannot be discarded" in client.get(url).content.decode()
    client.post(url, {"reason": "Try anyway"})
    submitted.refresh_from_db()
    assert submitted.status == Audit.Status.SUBMITTED


def test_the_service_worker_is_served_by_caregov_for_the_audit_pages_only(client, world):
    response = client.get(reverse("assurance:audit_worker"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    assert 'var SCOPE = "/assurance/audits/"' in script
    assert "/static/js/queue.js" in script and "/static/css/caregov.css" in script
    # Nothing from anywhere else.
    assert "https://" not in script and "http://" not in script
