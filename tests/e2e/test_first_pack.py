"""A provider starts on its own data, through the browser alone (issue 15): from an empty database
to a built board pack from its ECM supplier's own export, with no demo data. Each step is timed;
with CAREGOV_RECORD_WALKTHROUGH=1 the steps and their times are written to
bench/results/first_pack_walkthrough.json (docs/getting-started.md shows them)."""

import json
import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pyotp
import pytest
from django.core import mail
from playwright.sync_api import expect

from assurance.models import Audit, EcmImport, ImportProfile
from caregov.models import Organisation, Service
from reporting.models import Pack
from tests.e2e.test_audit_tablet import answer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "docs" / "ecm-examples" / "visit-notes-day-first.csv"
RESULTS = ROOT / "bench" / "results" / "first_pack_walkthrough.json"
ADMIN_PASSWORD = "Oakfield-admin-2026"
LEAD_PASSWORD = "Oakfield-quality-2026"

SERVICES_CSV = """name,code,type,address_line_1,address_line_2,town,postcode,phase
Willow House,WILLOW,Care home,1 Willow Road,,York,YO1 7HH,Rollout
Beech Court,BEECH,Nursing home,2 Beech Street,,York,YO10 5DD,Rollout
"""
PEOPLE_CSV = """email,full_name,role,service_code,job_title
quality@oakfield.example,Sam Okoro,Quality lead,whole organisation,Head of quality
manager.willow@oakfield.example,Ana Silva,Registered manager,WILLOW,
manager.beech@oakfield.example,Tom Reid,Registered manager,BEECH,
"""


class Steps:
    """The walk-through's steps and how long each took."""

    def __init__(self):
        self.started = time.perf_counter()
        self.last = self.started
        self.done: list[dict] = []

    def __call__(self, what: str) -> None:
        now = time.perf_counter()
        self.done.append({"step": what, "seconds": round(now - self.last, 1)})
        self.last = now

    def total(self) -> float:
        return round(self.last - self.started, 1)


def enrol_an_authenticator(page) -> str:
    page.wait_for_url(re.compile(r"/account/second-factor/set-up/"))
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Set up authenticator app").click()
    page.wait_for_url(re.compile(r"/account/second-factor/recovery-codes/"))
    page.get_by_role("link", name="I have kept my codes: continue").click()
    return secret


def upload(page, url: str, name: str, text: str) -> None:
    page.goto(url)
    page.get_by_label("CSV file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    page.get_by_role("button", name="Upload and check").click()


def confirm_identity_if_asked(page, password: str) -> None:
    if "/account/confirm" in page.url or page.get_by_label("Password").count():
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name=re.compile("^(Confirm|Continue)")).click()


def import_export(page, base: str, service: str) -> None:
    page.goto(f"{base}/assurance/imports/new/")
    page.get_by_label("Service", exact=True).select_option(label=service)
    page.get_by_label("Month the export covers").select_option(label="October 2026")
    page.get_by_label("ECM export (CSV)").set_input_files(str(EXPORT))
    page.get_by_role("button", name="Upload and check").click()


def test_an_empty_caregov_reaches_a_board_pack_from_a_suppliers_export_in_the_browser(
    live_server, page, transactional_db
):
    base = live_server.url
    assert not Organisation.objects.exists()
    step = Steps()

    # 1. First run: the sign-in page offers set-up on an empty database.
    page.goto(f"{base}/")
    page.get_by_role("link", name="Set up caregov").click()
    page.get_by_label("Organisation name").fill("Oakfield Care Group")
    page.get_by_label("Your full name").fill("Grace Lewis")
    page.get_by_label("Your work email address").fill("grace.lewis@oakfield.example")
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("The same password again").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name=re.compile("^Set up")).click()
    enrol_an_authenticator(page)
    page.wait_for_url(f"{base}/")
    expect(page.get_by_role("heading", name="Getting started")).to_be_visible()
    step("Set up the organisation and its first admin, with an authenticator app")

    # 2. Services and people from spreadsheets.
    upload(page, f"{base}/services/upload/", "services.csv", SERVICES_CSV)
    page.get_by_role("button", name="Add 2 services").click()
    expect(page.get_by_text("Willow House").first).to_be_visible()
    assert set(Service.objects.values_list("code", flat=True)) == {"WILLOW", "BEECH"}
    step("Upload the services file (2 services)")

    upload(page, f"{base}/people/upload/", "people.csv", PEOPLE_CSV)
    page.get_by_role("button", name="Confirm and send 3 invitations").click()
    confirm_identity_if_asked(page, ADMIN_PASSWORD)
    page.wait_for_url(re.compile(r"/people/"))
    invitation = next(m for m in mail.outbox if m.to == ["quality@oakfield.example"])
    assert len(mail.outbox) == 3
    step("Upload the people file (3 invitations)")

    # 3. The quality lead takes up the invitation.
    page.get_by_role("button", name="Sign out").click()
    link = re.search(r"https?://\S+/password-reset/\S+/", invitation.body).group(0)
    page.goto(base + urlparse(link).path)
    page.get_by_label("New password", exact=True).fill(LEAD_PASSWORD)
    page.get_by_label(re.compile("^(New password confirmation|Confirm)")).fill(LEAD_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.goto(f"{base}/login/")
    page.get_by_label("Email address").fill("quality@oakfield.example")
    page.get_by_label("Password").fill(LEAD_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enrol_an_authenticator(page)
    page.wait_for_url(f"{base}/")
    step("The quality lead sets a password and an authenticator app")

    # 4. The supplier's export: mapped once (the form starts from the matching example), then
    # the second service's export with the same columns uses the mapping without asking.
    import_export(page, base, "Willow House")
    page.wait_for_url(re.compile(r"/assurance/imports/map/"))
    expect(page.get_by_role("heading", name="Map this export to caregov")).to_be_visible()
    page.get_by_role("button", name="Preview the first 10 rows").click()
    expect(page.get_by_text("No problems in these rows.")).to_be_visible()
    page.get_by_label("Name for this mapping").fill("Our care app's visit notes")
    page.get_by_role("button", name="Save the mapping and import").click()
    page.wait_for_url(re.compile(r"/assurance/imports/\d+/$"))
    expect(page.get_by_text(re.compile("Imported"))).to_be_visible(timeout=30_000)
    step("Map the supplier's export and import it for Willow House")

    import_export(page, base, "Beech Court")
    page.wait_for_url(re.compile(r"/assurance/imports/\d+/$"))
    expect(page.get_by_text("Our care app's visit notes").first).to_be_visible()
    expect(page.get_by_text(re.compile("Imported"))).to_be_visible(timeout=30_000)
    assert ImportProfile.objects.count() == 1
    assert EcmImport.objects.filter(status=EcmImport.Status.IMPORTED).count() == 2
    step("Import Beech Court's export (the saved mapping used without asking)")

    # 5. One record audit, of two records.
    page.goto(f"{base}/assurance/audits/new/")
    page.get_by_label("Service", exact=True).select_option(label="Willow House")
    page.get_by_label("Month").select_option(label="October 2026")
    page.get_by_label("Type the record references").check()
    page.get_by_label("ECM record references").fill("WH-DN-000101\nWH-CP-000105")
    page.get_by_role("button", name="Start audit").click()
    expect(page.get_by_text("Record 1 of 2")).to_be_visible()
    answer(page)
    page.get_by_role("button", name="Save and next record").click()
    expect(page.get_by_text("Record 2 of 2")).to_be_visible()
    answer(page)
    page.get_by_role("button", name="Save and review the audit").click()
    page.wait_for_url(re.compile(r"/assurance/audits/\d+/$"))
    page.on("dialog", lambda dialog: dialog.accept())  # "Submit audit 1? It will be locked."
    page.get_by_role("button", name="Submit audit").click()
    expect(page.get_by_text(re.compile("It is now locked")).first).to_be_visible(timeout=15_000)
    assert Audit.objects.filter(status=Audit.Status.SUBMITTED).count() == 1
    step("Record and submit one audit of two records")

    # 6. The quarter's board pack, built from these records.
    page.goto(f"{base}/reporting/packs/build/")
    page.get_by_label("Q4 2026 (Oct to Dec)").check()
    page.get_by_role("button", name="Build the pack").click()
    page.wait_for_url(re.compile(r"/reporting/packs/\d+/$"))
    expect(page.get_by_role("link", name=re.compile("Download"))).to_be_visible(timeout=120_000)
    pack = Pack.objects.get()
    assert pack.status == Pack.Status.BUILT and pack.sha256
    step("Build the board pack for October to December 2026")

    if not os.environ.get("CAREGOV_RECORD_WALKTHROUGH"):
        return
    RESULTS.write_text(
        json.dumps(
            {
                "what": "From an empty database to a built board pack, in headless Chromium at "
                "768x1024, typing and clicking at machine speed (tests/e2e/test_first_pack.py)",
                "steps": step.done,
                "total_seconds": step.total(),
            },
            indent=2,
        )
        + "\n"
    )
