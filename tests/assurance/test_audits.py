"""Record audits: starting one, answering its checks, submitting once however often the button is
pressed, locking it, correcting it, raising actions from it, and who may do each."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from assurance import services
from assurance.models import Audit, AuditCheck, AuditRecord, MeasureResult
from caregov.access import Role
from caregov.models import Action
from tests.assurance.builders import (
    all_met,
    import_rows,
    month,
    rows,
    started_audit,
    submit,
    submitted_audit,
)
from tests.factories import ServiceFactory

OCTOBER = month(2026, 10)
PG_ONLY = (
    "needs PostgreSQL: SQLite has no row locks (select_for_update) and takes one writer at a "
    "time, so two requests cannot race the way two gunicorn workers do"
)


@pytest.fixture
def leader(world):
    return world.user(Role.TEAM_LEADER)


def start(actor, service, *, key=None, references="", sample_size=None, seed=None, period=OCTOBER):
    return services.audit_start(
        actor=actor,
        service=service,
        period=period,
        idempotency_key=key or uuid.uuid4(),
        references=references,
        sample_size=sample_size,
        seed=seed,
    )


def answer_every_record(actor, audit, answers=None):
    for record in audit.records.all():
        services.audit_record_save(actor=actor, record=record, answers=answers or all_met())


def references_of(audit) -> list[str]:
    return list(audit.records.order_by("position").values_list("reference", flat=True))


def narrative_figure(service, period=OCTOBER) -> MeasureResult:
    return MeasureResult.objects.get(
        service=service, period_start=period.start, measure="narrative_quality", source="audit"
    )


# Starting an audit -----------------------------------------------------------------------------


def test_typed_references_are_audited_once_each_in_the_order_typed(world, leader):
    audit, created = start(leader, world.service_a, references="R9, R2\nR9\n  R3  \n\nR2,")
    assert created
    assert audit.sampling == Audit.Sampling.TYPED
    assert references_of(audit) == ["R9", "R2", "R3"]
    assert list(audit.records.values_list("position", flat=True)) == [1, 2, 3]
    assert audit.status == Audit.Status.DRAFT
    assert audit.started_by == leader


def test_an_audit_checks_at_most_50_records(world, leader):
    fifty = "\n".join(f"R{i}" for i in range(50))
    audit, _ = start(leader, world.service_a, references=fifty)
    assert audit.records.count() == 50

    with pytest.raises(ValidationError) as excinfo:
        start(leader, world.service_a, references=fifty + "\nR50")
    assert excinfo.value.message_dict["references"] == ["An audit checks at most 50 records."]


def test_repeated_references_do_not_count_towards_the_50(world, leader):
    fifty = "\n".join(f"R{i}" for i in range(50))
    audit, _ = start(leader, world.service_a, references=fifty + "\n" + fifty)
    assert audit.records.count() == 50


def test_an_audit_needs_at_least_one_reference(world, leader):
    before = Audit.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        start(leader, world.service_a, references=" \n , \n")
    assert "references" in excinfo.value.message_dict
    assert Audit.objects.count() == before


def test_a_reference_longer_than_64_characters_is_refused(world, leader):
    with pytest.raises(ValidationError) as excinfo:
        start(leader, world.service_a, references="R1\n" + "X" * 65)
    assert excinfo.value.message_dict["references"] == [
        "A record reference is at most 64 characters."
    ]


def test_a_random_sample_is_drawn_from_the_latest_import_for_the_month(world, leader):
    manager = world.user(Role.REGISTERED_MANAGER)
    import_rows(manager, world.service_a, rows(20, prefix="OLD"))
    latest = import_rows(manager, world.service_a, rows(20, prefix="NEW"))
    audit, created = start(leader, world.service_a, sample_size=5, seed=7)
    assert created
    assert audit.sampling == Audit.Sampling.RANDOM
    assert audit.ecm_import == latest
    chosen = references_of(audit)
    assert len(chosen) == len(set(chosen)) == 5
    assert all(reference.startswith("NEW") for reference in chosen)


def test_a_sample_larger_than_the_export_audits_every_record_in_it(world, leader):
    import_rows(world.user(Role.REGISTERED_MANAGER), world.service_a, rows(4))
    audit, _ = start(leader, world.service_a, sample_size=10, seed=1)
    assert sorted(references_of(audit)) == ["R00001", "R00002", "R00003", "R00004"]


@pytest.mark.parametrize("size", [51, -1])
def test_a_random_sample_is_between_1_and_50_records(world, leader, size):
    import_rows(world.user(Role.REGISTERED_MANAGER), world.service_a, rows(60))
    with pytest.raises(ValidationError) as excinfo:
        start(leader, world.service_a, sample_size=size)
    assert excinfo.value.message_dict["sample_size"] == ["Choose between 1 and 50 records."]


def test_a_random_sample_needs_an_import_and_says_so(world):
    new_service = ServiceFactory(organisation=world.org, name="Rowan Lodge", code="ROWAN")
    before = Audit.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        start(world.user(Role.DATA_QUALITY_LEAD), new_service, sample_size=5)
    assert excinfo.value.message_dict["sample_size"] == [
        "There is no imported ECM export for Rowan Lodge yet. Type the references instead, or "
        "import an export first."
    ]
    assert Audit.objects.count() == before


def test_starting_twice_with_the_same_key_makes_one_audit(world, leader):
    key = uuid.uuid4()
    first, created = start(leader, world.service_a, key=key, references="R1\nR2")
    before = Audit.objects.count()
    again, created_again = start(leader, world.service_a, key=key, references="R1\nR2")
    assert created and not created_again
    assert again.pk == first.pk
    assert Audit.objects.count() == before
    assert AuditRecord.objects.filter(audit=first).count() == 2


# Answering and submitting ----------------------------------------------------------------------


def test_a_check_that_was_not_met_needs_a_note(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    record = audit.records.get()
    answers = all_met() | {"timeliness": ("not_met", "  ")}
    with pytest.raises(ValidationError) as excinfo:
        services.audit_record_save(actor=leader, record=record, answers=answers)
    assert excinfo.value.message_dict == {
        "note_timeliness": ["Timeliness: say briefly what was wrong."]
    }
    assert not AuditCheck.objects.filter(record=record).exists()

    answers["timeliness"] = ("not_met", "Written next morning")
    services.audit_record_save(actor=leader, record=record, answers=answers)
    assert record.checks.get(measure="timeliness").note == "Written next morning"


def test_every_question_must_be_answered(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    with pytest.raises(ValidationError) as excinfo:
        services.audit_record_save(
            actor=leader, record=audit.records.get(), answers={"completeness": ("met", "")}
        )
    assert set(excinfo.value.message_dict) == {
        "check_timeliness",
        "check_outcome_evidence",
        "check_review_compliance",
        "check_narrative_quality",
    }


def test_an_audit_cannot_be_submitted_until_every_record_is_checked(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1", "R2", "R3"])
    services.audit_record_save(
        actor=leader, record=audit.records.get(position=2), answers=all_met()
    )
    with pytest.raises(ValidationError) as excinfo:
        services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())
    assert excinfo.value.messages == [
        "Check every record before submitting: records 1, 3 are not done yet."
    ]
    audit.refresh_from_db()
    assert audit.status == Audit.Status.DRAFT


def test_submitting_twice_with_the_same_key_submits_once(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1", "R2"])
    answer_every_record(leader, audit)
    key = uuid.uuid4()

    first, submitted = services.audit_submit(actor=leader, audit=audit, submission_key=key)
    again, submitted_again = services.audit_submit(actor=leader, audit=audit, submission_key=key)

    assert submitted and not submitted_again
    assert again.pk == first.pk
    assert again.status == Audit.Status.SUBMITTED
    assert again.submission_key == key
    reasons = list(audit.history.values_list("history_change_reason", flat=True))
    assert reasons.count("assurance.audit.submitted") == 1


def test_a_different_submission_of_a_submitted_audit_is_refused(world, leader):
    audit = submitted_audit(leader, world.service_a, OCTOBER, {"completeness": ["met"]})
    with pytest.raises(ValidationError, match="already submitted"):
        services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())


@pytest.mark.django_db(transaction=True)
def test_two_submissions_arriving_at_once_submit_once(world, leader):
    if connection.vendor != "postgresql":
        pytest.skip(PG_ONLY)
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1", "R2"])
    answer_every_record(leader, audit)
    key = uuid.uuid4()
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def submit():
        try:
            barrier.wait(timeout=10)
            outcomes.append(services.audit_submit(actor=leader, audit=audit, submission_key=key)[1])
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(outcomes) == [False, True]
    reasons = list(
        Audit.history.filter(id=audit.pk).values_list("history_change_reason", flat=True)
    )
    assert reasons.count("assurance.audit.submitted") == 1


@pytest.mark.django_db(transaction=True)
def test_two_audits_of_the_same_month_submitted_at_once_both_count(world, leader):
    if connection.vendor != "postgresql":
        pytest.skip(PG_ONLY)
    lead = world.user(Role.DATA_QUALITY_LEAD)
    audits = []
    for who, references in ((leader, ["R1", "R2"]), (lead, ["R3", "R4", "R5"])):
        audit = started_audit(who, world.service_a, OCTOBER, references)
        answer_every_record(who, audit)
        audits.append((who, audit))
    barrier = threading.Barrier(2)
    errors = []

    def submit(who, audit):
        try:
            barrier.wait(timeout=10)
            services.audit_submit(actor=who, audit=audit, submission_key=uuid.uuid4())
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=pair) for pair in audits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    # 2 + 3 records, every narrative met: 5 / 5
    figure = narrative_figure(world.service_a)
    assert (figure.numerator, figure.denominator) == (5, 5)
    assert sorted(figure.detail["audits"]) == sorted(a.pk for _, a in audits)


# Locked once submitted, corrected by a linked audit --------------------------------------------


def test_a_submitted_audit_is_locked(world, leader):
    audit = submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["not_met"]})
    record = audit.records.get()
    with pytest.raises(ValidationError, match="locked"):
        services.audit_record_save(actor=leader, record=record, answers=all_met())
    assert record.checks.get(measure="narrative_quality").answer == "not_met"


def test_a_correction_is_a_linked_copy_and_replaces_the_original_in_the_figures(world, leader):
    original = submitted_audit(
        leader, world.service_a, OCTOBER, {"narrative_quality": ["met", "not_met", "met"]}
    )
    # 2 met of 3 = 66.7%
    assert narrative_figure(world.service_a).value == Decimal("66.7")

    correction, created = services.audit_correct(
        actor=leader,
        audit=original,
        reason="Record 2 was read wrongly",
        idempotency_key=uuid.uuid4(),
    )
    assert created
    assert correction.corrects == original
    assert correction.status == Audit.Status.DRAFT
    assert correction.correction_reason == "Record 2 was read wrongly"
    copied = {
        (c.record.reference, c.measure): (c.answer, c.note)
        for c in AuditCheck.objects.filter(record__audit=correction)
    }
    kept = {
        (c.record.reference, c.measure): (c.answer, c.note)
        for c in AuditCheck.objects.filter(record__audit=original)
    }
    assert copied == kept
    assert copied[("R00002", "narrative_quality")] == ("not_met", "Missing detail")

    record = correction.records.get(reference="R00002")
    services.audit_record_save(actor=leader, record=record, answers=all_met())
    # Until the correction is submitted the original's figures stand.
    assert narrative_figure(world.service_a).value == Decimal("66.7")

    submit(actor=leader, audit=correction, submission_key=uuid.uuid4())

    # Now only the correction counts: 3 met of 3 = 100.0%, not (2 + 3) of 6
    figure = narrative_figure(world.service_a)
    assert (figure.numerator, figure.denominator) == (3, 3)
    assert figure.detail["audits"] == [correction.pk]
    # The original is as it was, and both have their history.
    original.refresh_from_db()
    assert original.status == Audit.Status.SUBMITTED
    assert original.records.get(reference="R00002").checks.get(
        measure="narrative_quality"
    ).answer == ("not_met")
    assert set(original.history.values_list("history_change_reason", flat=True)) >= {
        "assurance.audit.started",
        "assurance.audit.submitted",
    }
    assert set(correction.history.values_list("history_change_reason", flat=True)) >= {
        "assurance.audit.correction_started",
        "assurance.audit.correction_submitted",
    }


def test_a_correction_needs_a_reason(world, leader):
    original = submitted_audit(leader, world.service_a, OCTOBER, {"completeness": ["met"]})
    with pytest.raises(ValidationError) as excinfo:
        services.audit_correct(
            actor=leader, audit=original, reason=" ", idempotency_key=uuid.uuid4()
        )
    assert "reason" in excinfo.value.message_dict
    assert not original.corrections.exists()


def test_a_draft_is_changed_directly_not_corrected(world, leader):
    draft = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    with pytest.raises(ValidationError, match="Only a submitted audit can be corrected"):
        services.audit_correct(actor=leader, audit=draft, reason="x", idempotency_key=uuid.uuid4())


def test_one_correction_of_an_audit_at_a_time(world, leader):
    original = submitted_audit(leader, world.service_a, OCTOBER, {"completeness": ["met"]})
    services.audit_correct(actor=leader, audit=original, reason="a", idempotency_key=uuid.uuid4())
    with pytest.raises(ValidationError, match="already in progress"):
        services.audit_correct(
            actor=leader, audit=original, reason="b", idempotency_key=uuid.uuid4()
        )


def test_starting_a_correction_twice_with_the_same_key_makes_one(world, leader):
    original = submitted_audit(leader, world.service_a, OCTOBER, {"completeness": ["met"]})
    key = uuid.uuid4()
    first, _ = services.audit_correct(actor=leader, audit=original, reason="a", idempotency_key=key)
    again, created = services.audit_correct(
        actor=leader, audit=original, reason="a", idempotency_key=key
    )
    assert not created and again.pk == first.pk
    assert original.corrections.count() == 1


def test_an_audit_already_corrected_is_not_corrected_again_so_records_count_once(world, leader):
    original = submitted_audit(
        leader, world.service_a, OCTOBER, {"narrative_quality": ["not_met", "not_met"]}
    )
    first, _ = services.audit_correct(
        actor=leader, audit=original, reason="first look", idempotency_key=uuid.uuid4()
    )
    submit(actor=leader, audit=first, submission_key=uuid.uuid4())
    with pytest.raises(ValidationError, match="correct"):
        services.audit_correct(
            actor=leader, audit=original, reason="second look", idempotency_key=uuid.uuid4()
        )
    # The two records are counted once: 0 met of 2.
    figure = narrative_figure(world.service_a)
    assert (figure.numerator, figure.denominator) == (0, 2)


def test_a_correction_can_itself_be_corrected(world, leader):
    original = submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["not_met"]})
    first, _ = services.audit_correct(
        actor=leader, audit=original, reason="a", idempotency_key=uuid.uuid4()
    )
    submit(actor=leader, audit=first, submission_key=uuid.uuid4())
    second, _ = services.audit_correct(
        actor=leader, audit=first, reason="b", idempotency_key=uuid.uuid4()
    )
    services.audit_record_save(actor=leader, record=second.records.get(), answers=all_met())
    submit(actor=leader, audit=second, submission_key=uuid.uuid4())
    figure = narrative_figure(world.service_a)
    # Only the latest correction counts: 1 met of 1
    assert (figure.numerator, figure.denominator) == (1, 1)
    assert figure.detail["audits"] == [second.pk]


# Actions from failed checks --------------------------------------------------------------------


def test_a_failed_check_raises_a_kernel_action_linked_to_its_measure_and_record(world, leader):
    audit = submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["not_met"]})
    record = audit.records.get()
    manager = world.user(Role.REGISTERED_MANAGER)
    due = timezone.localdate() + timedelta(days=14)

    action = services.audit_raise_action(
        actor=leader, record=record, measure="narrative_quality", owner=manager, due_on=due
    )

    action = Action.objects.get(pk=action.pk)
    assert action.measure == "narrative_quality"
    assert action.finding_ref == f"assurance.audit:{audit.pk}:R00001"
    assert action.source == Action.Source.FINDING
    assert (action.organisation, action.service) == (world.org, world.service_a)
    assert (action.owner, action.due_on, action.created_by) == (manager, due, leader)
    assert action.title == "Narrative quality: put right record R00001"
    assert "Missing detail" in action.detail
    assert action.history.get().history_change_reason == "caregov.action.raised"


@pytest.mark.parametrize("answer", ["met", "na"])
def test_no_action_is_raised_from_a_check_that_was_not_failed(world, leader, answer):
    audit = submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": [answer]})
    before = Action.objects.count()
    with pytest.raises(ValidationError, match="not met"):
        services.audit_raise_action(
            actor=leader,
            record=audit.records.get(),
            measure="narrative_quality",
            owner=world.user(Role.REGISTERED_MANAGER),
            due_on=timezone.localdate() + timedelta(days=7),
        )
    assert Action.objects.count() == before


def test_a_commissioner_cannot_raise_an_action_from_an_audit(world, leader):
    audit = submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["not_met"]})
    with pytest.raises(PermissionDenied):
        services.audit_raise_action(
            actor=world.user(Role.COMMISSIONER),
            record=audit.records.get(),
            measure="narrative_quality",
            owner=world.user(Role.REGISTERED_MANAGER),
            due_on=timezone.localdate() + timedelta(days=7),
        )


# Who may audit ---------------------------------------------------------------------------------


def test_a_team_leader_cannot_start_an_audit_at_another_service(world, leader):
    before = Audit.objects.count()
    with pytest.raises(PermissionDenied):
        start(leader, world.service_b, references="R1")
    assert Audit.objects.count() == before


def test_a_team_leader_cannot_answer_or_submit_an_audit_at_another_service(world, leader):
    audit = started_audit(world.user(Role.DATA_QUALITY_LEAD), world.service_b, OCTOBER, ["R1"])
    record = audit.records.get()
    with pytest.raises(PermissionDenied):
        services.audit_record_save(actor=leader, record=record, answers=all_met())
    assert not record.checks.exists()
    services.audit_record_save(
        actor=world.user(Role.DATA_QUALITY_LEAD), record=record, answers=all_met()
    )
    with pytest.raises(PermissionDenied):
        services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())
    audit.refresh_from_db()
    assert audit.status == Audit.Status.DRAFT


def test_a_commissioner_cannot_start_an_audit_anywhere(world):
    before = Audit.objects.count()
    for service in (world.service_a, world.service_b, world.service_c):
        with pytest.raises(PermissionDenied):
            start(world.user(Role.COMMISSIONER), service, references="R1")
    assert Audit.objects.count() == before


def test_repeating_someone_elses_start_key_does_not_hand_over_their_audit(world, leader):
    key = uuid.uuid4()
    start(leader, world.service_a, key=key, references="R1")
    with pytest.raises(PermissionDenied):
        start(world.user(Role.COMMISSIONER), world.service_a, key=key, references="R1")


def test_repeating_someone_elses_submission_key_does_not_pass_for_a_submission(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    answer_every_record(leader, audit)
    key = uuid.uuid4()
    services.audit_submit(actor=leader, audit=audit, submission_key=key)
    with pytest.raises(PermissionDenied):
        services.audit_submit(actor=world.user(Role.COMMISSIONER), audit=audit, submission_key=key)


def test_a_team_leader_cannot_correct_an_audit_at_another_service(world, leader):
    lead = world.user(Role.DATA_QUALITY_LEAD)
    audit = submitted_audit(lead, world.service_b, OCTOBER, {"completeness": ["met"]})
    with pytest.raises(PermissionDenied):
        services.audit_correct(actor=leader, audit=audit, reason="x", idempotency_key=uuid.uuid4())
    assert not audit.corrections.exists()


# A record saved again from a device's queue ---------------------------------------------------


def _saves(record) -> int:
    return record.history.filter(history_change_reason="assurance.audit.record_saved").count()


def test_a_save_sent_again_with_the_same_key_changes_nothing_the_second_time(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    record = audit.records.get()
    key = uuid.uuid4()
    answers = all_met() | {"timeliness": ("not_met", "Written next morning")}
    services.audit_record_save(actor=leader, record=record, answers=answers, save_key=key)
    record.refresh_from_db()
    first_saved_at = record.saved_at

    # The device did not hear the answer and sends the same save again: nothing changes.
    services.audit_record_save(actor=leader, record=record, answers=answers, save_key=key)
    record.refresh_from_db()
    assert record.saved_at == first_saved_at
    assert record.save_key == key
    assert _saves(record) == 1
    assert AuditCheck.history.filter(record_id=record.pk).count() == 5


def test_a_stale_save_arriving_after_a_newer_one_does_not_undo_it(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    record = audit.records.get()
    old_key, new_key = uuid.uuid4(), uuid.uuid4()
    services.audit_record_save(
        actor=leader,
        record=record,
        answers=all_met() | {"timeliness": ("not_met", "Late")},
        save_key=old_key,
    )
    services.audit_record_save(actor=leader, record=record, answers=all_met(), save_key=new_key)
    # The first save is replayed from a second tab's queue after the correction was made.
    services.audit_record_save(
        actor=leader,
        record=record,
        answers=all_met() | {"timeliness": ("not_met", "Late")},
        save_key=old_key,
    )
    record.refresh_from_db()
    assert record.checks.get(measure="timeliness").answer == "met"
    assert record.save_key == new_key
    assert _saves(record) == 2


def test_a_save_already_accepted_is_accepted_again_after_the_audit_is_submitted(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    record = audit.records.get()
    key = uuid.uuid4()
    services.audit_record_save(actor=leader, record=record, answers=all_met(), save_key=key)
    services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())
    # A late replay of the save the audit was submitted with is not an error...
    services.audit_record_save(actor=leader, record=record, answers=all_met(), save_key=key)
    # ...but a new save is: the audit is locked.
    with pytest.raises(ValidationError, match="locked"):
        services.audit_record_save(
            actor=leader, record=record, answers=all_met(), save_key=uuid.uuid4()
        )


def test_a_replayed_key_does_not_let_someone_else_change_the_record(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    record = audit.records.get()
    key = uuid.uuid4()
    services.audit_record_save(actor=leader, record=record, answers=all_met(), save_key=key)
    with pytest.raises(PermissionDenied):
        services.audit_record_save(
            actor=world.user(Role.COMMISSIONER), record=record, answers=all_met(), save_key=key
        )


# Discarding an audit that is not wanted -------------------------------------------------------


def discard(actor, audit, reason="Started for the wrong month"):
    return services.audit_discard(actor=actor, audit=audit, reason=reason, at=timezone.now())


def test_a_team_leader_discards_an_audit_they_started_with_a_reason_kept_in_history(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1", "R2"])
    services.audit_record_save(actor=leader, record=audit.records.first(), answers=all_met())
    moment = timezone.now()

    discarded, now = services.audit_discard(
        actor=leader, audit=audit, reason="  Started for the wrong month  ", at=moment
    )

    assert now
    discarded.refresh_from_db()
    assert discarded.status == Audit.Status.DISCARDED
    assert (discarded.discarded_by, discarded.discarded_at) == (leader, moment)
    assert discarded.discard_reason == "Started for the wrong month"
    last = discarded.history.first()
    assert last.history_change_reason == "assurance.audit.discarded"
    assert last.history_user == leader
    assert last.discard_reason == "Started for the wrong month"
    # Nothing is deleted: the answers stay with it, as they were.
    assert discarded.records.count() == 2
    assert AuditCheck.objects.filter(record__audit=discarded).count() == 5


def test_discarding_twice_changes_nothing_the_second_time(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    discard(leader, audit)
    again, now = discard(leader, audit, reason="Another reason")
    assert not now
    assert again.discard_reason == "Started for the wrong month"
    reasons = list(audit.history.values_list("history_change_reason", flat=True))
    assert reasons.count("assurance.audit.discarded") == 1


def test_an_audit_is_discarded_only_with_a_reason(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    with pytest.raises(ValidationError) as excinfo:
        discard(leader, audit, reason="   ")
    assert excinfo.value.message_dict == {"reason": ["Say why the audit is being discarded."]}
    audit.refresh_from_db()
    assert audit.status == Audit.Status.DRAFT


def test_a_submitted_audit_cannot_be_discarded(world, leader):
    audit = submitted_audit(leader, world.service_a, OCTOBER, {"completeness": ["met"]})
    with pytest.raises(ValidationError, match="A submitted audit cannot be discarded"):
        discard(leader, audit)
    audit.refresh_from_db()
    assert audit.status == Audit.Status.SUBMITTED
    assert narrative_figure(world.service_a).denominator == 1


def test_only_the_person_who_started_an_audit_can_discard_it(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    for someone_else in (
        world.user(Role.DATA_QUALITY_LEAD),
        world.user(Role.REGISTERED_MANAGER),
        world.user(Role.COMMISSIONER),
    ):
        with pytest.raises(PermissionDenied):
            discard(someone_else, audit)
    audit.refresh_from_db()
    assert audit.status == Audit.Status.DRAFT


def test_a_discarded_audit_cannot_be_answered_or_submitted(world, leader):
    audit = started_audit(leader, world.service_a, OCTOBER, ["R1"])
    services.audit_record_save(actor=leader, record=audit.records.get(), answers=all_met())
    discard(leader, audit)
    with pytest.raises(ValidationError, match="discarded"):
        services.audit_record_save(actor=leader, record=audit.records.get(), answers=all_met())
    with pytest.raises(ValidationError, match="discarded"):
        services.audit_submit(actor=leader, audit=audit, submission_key=uuid.uuid4())
    audit.refresh_from_db()
    assert audit.status == Audit.Status.DISCARDED
    with pytest.raises(ValidationError):
        services.audit_correct(actor=leader, audit=audit, reason="x", idempotency_key=uuid.uuid4())


def test_the_month_can_be_audited_again_and_only_the_new_audit_counts(world, leader):
    wrong = started_audit(leader, world.service_a, OCTOBER, ["R1", "R2"])
    services.audit_record_save(
        actor=leader,
        record=wrong.records.get(position=1),
        answers=all_met() | {"narrative_quality": ("not_met", "Read the wrong record")},
    )
    services.audit_record_save(
        actor=leader, record=wrong.records.get(position=2), answers=all_met()
    )
    discard(leader, wrong, reason="Read the wrong records")

    again = submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["met"] * 3})

    figure = narrative_figure(world.service_a)
    assert (figure.numerator, figure.denominator) == (3, 3)
    assert figure.detail["audits"] == [again.pk]


def test_a_discarded_correction_leaves_the_original_counting_and_can_be_started_again(
    world, leader
):
    original = submitted_audit(leader, world.service_a, OCTOBER, {"narrative_quality": ["met"]})
    correction, _ = services.audit_correct(
        actor=leader, audit=original, reason="a", idempotency_key=uuid.uuid4()
    )
    discard(leader, correction, reason="Nothing was wrong after all")
    assert narrative_figure(world.service_a).detail["audits"] == [original.pk]
    second, created = services.audit_correct(
        actor=leader, audit=original, reason="b", idempotency_key=uuid.uuid4()
    )
    assert created and second.pk != correction.pk
