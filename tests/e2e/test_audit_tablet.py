"""The record audit on a tablet (768 x 1024), as a team leader meets it on shift: on poor Wi-Fi,
with the connection lost part way through, and back again. Every answer reaches caregov once.

What the device keeps lives in IndexedDB (static/js/queue.js); the checks below read the
database rows, not only the page."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from assurance import services
from assurance.models import Audit, AuditCheck, AuditRecord
from caregov.access import Role
from tests.assurance.builders import all_met, month
from tests.e2e.test_workflows_tablet import (
    assert_fits_the_tablet,
    assert_targets_are_large,
    sign_in,
)

pytestmark = pytest.mark.e2e

OCTOBER = month(2026, 10)
QUESTIONS = {
    "completeness": "Is the record there and complete?",
    "timeliness": "Was it written on time?",
    "outcome_evidence": "Does it record the outcome for the person?",
    "review_compliance": "Was its review done by the due date?",
    "narrative_quality": "Is the narrative specific and useful?",
}
LABELS = {"met": "Met", "not_met": "Not met", "na": "Not applicable"}
KEPT = "is kept on this device and will be sent to caregov when the connection is back."


@pytest.fixture
def leader(world):
    return world.user(Role.TEAM_LEADER)


def start_audit(leader, service, references):
    audit, _ = services.audit_start(
        actor=leader,
        service=service,
        period=OCTOBER,
        idempotency_key=uuid.uuid4(),
        references="\n".join(references),
    )
    return audit


def question(page, code):
    return page.get_by_role("group", name=re.compile("^" + re.escape(QUESTIONS[code])))


def answer(page, answers=None, notes=None):
    """Tap an answer for every question (Met unless named) and type the notes given."""
    answers = answers or {}
    for code in QUESTIONS:
        choice = LABELS[answers.get(code, "met")]
        question(page, code).locator(".radio-tile", has_text=re.compile(f"^ ?{choice}$")).click()
    for code, note in (notes or {}).items():
        page.get_by_label(re.compile(f"^Note on {code.replace('_', ' ')}")).fill(note)


def progress(page):
    return page.locator("[data-audit-progress]")


def status(page):
    return page.locator("[data-audit-screen=record] [data-draft-status]")


def saved_answers(record: AuditRecord) -> dict[str, tuple[str, str]]:
    return {c.measure: (c.answer, c.note) for c in AuditCheck.objects.filter(record=record)}


def wait_for_the_worker(page):
    page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
    )


@pytest.fixture
def tablet(page):
    page.on("dialog", lambda dialog: dialog.accept())
    return page


@pytest.fixture(params=["with the service worker", "without a service worker"])
def any_tablet(request, browser, browser_context_args):
    """A tablet whose browser runs caregov's service worker, and one that does not (or has not
    installed it yet): the journey must not depend on it."""
    workers = "allow" if request.param == "with the service worker" else "block"
    context = browser.new_context(**browser_context_args, service_workers=workers)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


def queue_loaded(page):
    page.wait_for_function("() => typeof CaregovQueue !== 'undefined'")


def wait_until(condition, timeout=15.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


# 1. Cut off at a record, finished offline, submitted once ---------------------------------------


def test_an_audit_cut_off_at_a_record_is_finished_offline_and_arrives_once_with_every_answer(
    live_server, any_tablet, world, leader
):
    page = any_tablet
    audit = start_audit(leader, world.service_a, ["R00001", "R00002", "R00003", "R00004"])
    sign_in(page, live_server, leader)
    posts = []  # the saves and submissions caregov answered (those tried offline never arrived)
    page.on(
        "response",
        lambda r: posts.append(r.url) if r.request.method == "POST" else None,
    )
    page.goto(live_server.url + f"/assurance/audits/{audit.pk}/records/1/")
    expect(progress(page)).to_have_text("Record 1 of 4")

    answer(page)
    page.get_by_role("button", name="Save and next record").click()
    expect(progress(page)).to_have_text("Record 2 of 4")
    expect(page.locator("[data-audit-reference]")).to_have_text("R00002")
    assert page.url.endswith(f"/assurance/audits/{audit.pk}/records/2/")

    # The Wi-Fi drops at record 2.
    page.context.set_offline(True)
    expect(page.locator(".banner--offline")).to_contain_text("You are offline.")
    answer(page, {"timeliness": "not_met"}, {"timeliness": "Written next morning"})
    page.get_by_role("button", name="Save and next record").click()
    expect(progress(page)).to_have_text("Record 3 of 4")
    expect(status(page)).to_have_text("Record R00002 " + KEPT)
    assert_fits_the_tablet(page)

    answer(page, {"outcome_evidence": "na"})
    page.get_by_text("Corrections made and staff support needs").click()
    page.get_by_label("Correction made in the ECM").fill("Added the missing time of the visit")
    page.get_by_label(re.compile("^Corrected by")).fill("Team leader")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("10")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Save and next record").click()
    expect(progress(page)).to_have_text("Record 4 of 4")
    expect(status(page)).to_have_text("Record R00003 " + KEPT)

    answer(page, {"narrative_quality": "not_met"}, {"narrative_quality": "One word only"})
    page.get_by_text("Corrections made and staff support needs").click()
    page.get_by_label("Training", exact=True).check()
    page.get_by_label(re.compile("^Whose support need")).fill("Night care worker")
    page.get_by_role("button", name="Save and review the audit").click()

    # The answers to check, from what the device holds, and the submit button.
    review = page.locator("[data-audit-screen=review]")
    expect(
        review.get_by_role("heading", name=f"Check the answers: audit {audit.pk}")
    ).to_be_visible()
    expect(review.locator(".record-card__ref .tag")).to_have_text(
        ["Sent to caregov"] + ["Kept on this device, to send"] * 3
    )
    assert_fits_the_tablet(page)
    review.get_by_role("button", name="Submit audit").click()
    kept = f"Audit {audit.pk} is kept on this device and will be submitted to caregov when the connection is back."
    expect(review.locator("[data-review-status]")).to_have_text(kept)

    # Nothing has reached caregov yet: the browser sent nothing while offline.
    audit.refresh_from_db()
    assert audit.status == Audit.Status.DRAFT
    assert list(
        audit.records.filter(saved_at__isnull=False).values_list("position", flat=True)
    ) == [1]

    # The connection comes back: the records, then the submission, are sent, once.
    page.context.set_offline(False)
    expect(page).to_have_url(re.compile(rf"/assurance/audits/{audit.pk}/$"), timeout=15000)
    expect(page.get_by_role("status")).to_contain_text(
        "Audit submitted for Willow House, October 2026. It is now locked."
    )

    submitted = Audit.objects.filter(
        service=world.service_a, period_start=OCTOBER.start, status=Audit.Status.SUBMITTED
    )
    assert list(submitted) == [audit]
    records = {r.position: r for r in audit.records.all()}
    met = dict.fromkeys(QUESTIONS, ("met", ""))
    assert saved_answers(records[1]) == met
    assert saved_answers(records[2]) == met | {"timeliness": ("not_met", "Written next morning")}
    assert saved_answers(records[3]) == met | {"outcome_evidence": ("na", "")}
    assert saved_answers(records[4]) == met | {"narrative_quality": ("not_met", "One word only")}
    assert (records[3].correction_made, records[3].corrected_by, str(records[3].corrected_on)) == (
        "Added the missing time of the visit",
        "Team leader",
        "2026-10-14",
    )
    assert (records[4].support_need, records[4].support_staff) == ("training", "Night care worker")
    for record in records.values():
        saves = record.history.filter(history_change_reason="assurance.audit.record_saved")
        assert saves.count() == 1, f"record {record.position} saved {saves.count()} times"
    reasons = list(audit.history.values_list("history_change_reason", flat=True))
    assert reasons.count("assurance.audit.submitted") == 1
    # One save for each record and one submission: nothing was sent twice.
    assert len([u for u in posts if "/records/" in u]) == 4
    assert len([u for u in posts if u.endswith("/submit/")]) == 1
    # The device let go of everything once caregov had it (asked once the page it went to has
    # loaded its queue script).
    queue_loaded(page)
    assert page.evaluate("CaregovQueue.pending().then(p => p.records + p.submissions)") == 0


# 2. A record caregov refuses keeps every answer ------------------------------------------------


def test_a_record_refused_for_a_missing_note_keeps_every_answer_through_a_reload(
    live_server, tablet, world, leader
):
    page = tablet
    audit = start_audit(leader, world.service_a, ["R00001", "R00002"])
    sign_in(page, live_server, leader)
    page.goto(live_server.url + f"/assurance/audits/{audit.pk}/records/1/")
    answer(page, {"completeness": "not_met"})
    page.get_by_role("button", name="Save and next record").click()

    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Record completeness: say briefly what was wrong.")
    expect(summary.get_by_role("link")).to_have_attribute("href", "#id_note_completeness")
    expect(progress(page)).to_have_text("Record 1 of 2")

    # Called away; the page is reloaded when they come back: every tap is still there.
    page.reload()
    expect(question(page, "completeness").get_by_label("Not met", exact=True)).to_be_checked()
    for code in ("timeliness", "outcome_evidence", "review_compliance", "narrative_quality"):
        expect(question(page, code).get_by_label("Met", exact=True)).to_be_checked()
    expect(status(page)).to_have_text("Restored what you entered on this device. Save to send it.")

    # The same refusal from the server (the page posted as a plain form, as it does without
    # scripts): the error page keeps the answers on the device too.
    page.evaluate(
        "HTMLFormElement.prototype.submit.call(document.querySelector('form[data-audit-record]'))"
    )
    expect(page.locator(".error-summary")).to_contain_text(
        "Record completeness: say briefly what was wrong."
    )
    page.goto(live_server.url + f"/assurance/audits/{audit.pk}/records/1/")
    expect(question(page, "completeness").get_by_label("Not met", exact=True)).to_be_checked()
    assert not AuditCheck.objects.filter(record__audit=audit).exists()

    # Another audit's record 1 shows none of it: the device keeps each audit's records apart.
    other = start_audit(leader, world.service_a, ["R00001"])
    page.goto(live_server.url + f"/assurance/audits/{other.pk}/records/1/")
    expect(question(page, "completeness").get_by_label("Not met", exact=True)).not_to_be_checked()
    expect(status(page)).to_have_text("")

    # Put right and saved: now, and only now, the device lets go of its copy.
    page.goto(live_server.url + f"/assurance/audits/{audit.pk}/records/1/")
    page.get_by_label(re.compile("^Note on record completeness")).fill("No visit time")
    page.get_by_role("button", name="Save and next record").click()
    expect(progress(page)).to_have_text("Record 2 of 2")
    assert saved_answers(audit.records.get(position=1))["completeness"] == (
        "not_met",
        "No visit time",
    )
    assert (
        page.evaluate(f"CaregovQueue.recordsOf({audit.pk}).then(e => e.map(x => x.position))") == []
    )


# 3. Save is always in view ---------------------------------------------------------------------


def save_is_in_view(page) -> bool:
    box = page.get_by_role("button", name=re.compile("^Save and (next record|review the audit)$"))
    rect = box.bounding_box()
    height = page.viewport_size["height"]
    return rect is not None and rect["y"] >= 0 and rect["y"] + rect["height"] <= height


@pytest.mark.parametrize("width,height", [(768, 1024), (1280, 800)])
def test_save_is_in_view_wherever_the_record_screen_is_scrolled(
    live_server, tablet, world, leader, width, height
):
    page = tablet
    page.set_viewport_size({"width": width, "height": height})
    audit = start_audit(leader, world.service_a, ["R00001", "R00002"])
    sign_in(page, live_server, leader)
    page.goto(live_server.url + f"/assurance/audits/{audit.pk}/records/1/")
    assert save_is_in_view(page)
    page.get_by_text("Corrections made and staff support needs").click()
    for where in ("document.body.scrollHeight / 2", "document.body.scrollHeight"):
        page.evaluate(f"window.scrollTo(0, {where})")
        assert save_is_in_view(page), f"Save out of view at {where}"
    # Nothing wider than the screen, and every tap target 44 px or more.
    assert_fits_the_tablet(page)
    assert_targets_are_large(page)
    # The field the keyboard is in is not hidden behind the buttons.
    field = page.get_by_label(re.compile("^Whose support need"))
    field.focus()
    bar = page.locator("[data-audit-screen=record] .audit-bar").bounding_box()
    assert field.bounding_box()["y"] + field.bounding_box()["height"] <= bar["y"]


# 4. Reloaded without a connection --------------------------------------------------------------


def test_a_record_screen_reloaded_offline_is_shown_from_the_device(
    live_server, tablet, world, leader
):
    page = tablet
    audit = start_audit(leader, world.service_a, ["R00001", "R00002", "R00003"])
    services.audit_record_save(
        actor=leader, record=audit.records.get(position=1), answers=all_met()
    )
    sign_in(page, live_server, leader)
    page.goto(live_server.url + f"/assurance/audits/{audit.pk}/records/2/")
    wait_for_the_worker(page)
    page.reload()  # now the page itself came through the service worker, which kept it

    page.context.set_offline(True)
    answer(page, {"review_compliance": "not_met"}, {"review_compliance": "Review a month late"})
    page.get_by_role("button", name="Save and next record").click()
    expect(progress(page)).to_have_text("Record 3 of 3")

    # A reload with no connection: caregov's page, kept on the device, not the browser's error.
    page.reload()
    expect(progress(page)).to_have_text("Record 3 of 3")
    expect(page.locator("[data-audit-reference]")).to_have_text("R00003")
    page.get_by_role("link", name="Previous record").click()
    expect(progress(page)).to_have_text("Record 2 of 3")
    expect(question(page, "review_compliance").get_by_label("Not met", exact=True)).to_be_checked()
    expect(page.get_by_label(re.compile("^Note on review compliance"))).to_have_value(
        "Review a month late"
    )
    expect(status(page)).to_have_text("Record R00002 " + KEPT)

    # A page never opened on this device says so, in caregov's words.
    page.goto(live_server.url + "/assurance/audits/new/")
    expect(page.get_by_role("heading", name="You are offline")).to_be_visible()

    # Back online: the save kept on the device is sent (by the worker's Background Sync where
    # the browser has it, or by the next page to load).
    page.context.set_offline(False)
    page.goto(live_server.url + "/")
    record = audit.records.get(position=2)
    assert wait_until(lambda: saved_answers(record).get("review_compliance"))
    assert saved_answers(record)["review_compliance"] == ("not_met", "Review a month late")
    assert record.history.filter(history_change_reason="assurance.audit.record_saved").count() == 1


# 5. Submitted from the audit's page while the connection is down --------------------------------


# No service worker (as on a tablet that has not installed it): the next page to load sends it.
@pytest.mark.browser_context_args(service_workers="block")
def test_submit_audit_tapped_without_a_connection_is_sent_when_a_page_next_loads(
    live_server, tablet, world, leader
):
    page = tablet
    audit = start_audit(leader, world.service_a, ["R00001", "R00002"])
    for record in audit.records.all():
        services.audit_record_save(actor=leader, record=record, answers=all_met())
    sign_in(page, live_server, leader)
    page.goto(live_server.url + f"/assurance/audits/{audit.pk}/")

    page.context.set_offline(True)
    page.get_by_role("button", name="Submit audit").click()
    expect(page.locator("[data-submit-status]")).to_have_text(
        f"Audit {audit.pk} is kept on this device and will be submitted to caregov when the "
        "connection is back."
    )
    page.close()

    # Later, on a new page of the same tablet with the connection back.
    again = tablet.context.new_page()
    again.context.set_offline(False)
    again.goto(live_server.url + "/")
    expect(again.locator("[data-queue-status]")).to_contain_text(
        "Sent to caregov: Audit submitted for Willow House, October 2026. It is now locked."
    )
    audit.refresh_from_db()
    assert audit.status == Audit.Status.SUBMITTED
    assert audit.history.filter(history_change_reason="assurance.audit.submitted").count() == 1


# 6. A shared tablet ----------------------------------------------------------------------------


def test_on_a_shared_tablet_one_persons_answers_are_not_shown_to_the_next(
    live_server, tablet, world, leader
):
    page = tablet
    audit = start_audit(leader, world.service_a, ["R00001"])
    sign_in(page, live_server, leader)
    page.goto(live_server.url + f"/assurance/audits/{audit.pk}/records/1/")
    answer(page, {"timeliness": "not_met"})
    expect(status(page)).to_have_text("What you entered is kept on this device.")

    # The data quality lead picks up the same tablet and opens the same record.
    page.context.clear_cookies()
    sign_in(page, live_server, world.user(Role.DATA_QUALITY_LEAD))
    page.goto(live_server.url + f"/assurance/audits/{audit.pk}/records/1/")
    expect(progress(page)).to_have_text("Record 1 of 1")
    expect(question(page, "timeliness").get_by_label("Not met", exact=True)).not_to_be_checked()
    expect(status(page)).to_have_text("")
    # The team leader's answers are still on the tablet, waiting for them.
    kept = page.evaluate(f"CaregovQueue.recordsOf({audit.pk}).then(e => e.map(x => x.user))")
    assert kept == [leader.pk]
