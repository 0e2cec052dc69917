"""Every list that offers "Download as CSV" gives a CSV of what the list shows, as the README says."""

import csv
import io
import re

import pytest
from django.urls import reverse

from caregov.access import Role
from tests.assurance.builders import import_rows, month, rows, submitted_audit

LISTS = [
    (Role.QUALITY_LEAD, "assurance:audit_list"),
    (Role.QUALITY_LEAD, "assurance:import_list"),
    (Role.QUALITY_LEAD, "review_list"),
    (Role.QUALITY_LEAD, "escalation_list"),
    (Role.QUALITY_LEAD, "action_list"),
    (Role.QUALITY_LEAD, "workflows:gap_list"),
    (Role.ORG_ADMIN, "security_event_list"),
]

CSV_LINK = re.compile(r'href="(\?[^"]*format=csv[^"]*)"')


@pytest.fixture
def lists_with_rows(world):
    lead = world.user(Role.QUALITY_LEAD)
    submitted_audit(lead, world.service_a, month(2026, 10), {"completeness": ["met", "not_met"]})
    import_rows(lead, world.service_a, rows(4, recorded=3), name="october.csv")
    return world


@pytest.mark.parametrize(("role", "name"), LISTS, ids=[name for _, name in LISTS])
def test_the_csv_link_of_each_list_downloads_a_csv_of_its_rows(client, lists_with_rows, role, name):
    client.force_login(lists_with_rows.user(role))
    url = reverse(name)
    page = client.get(url).content.decode()
    link = CSV_LINK.search(page)
    if link is None:
        pytest.skip(f"{name} has no rows for this role, so it offers no download")
    response = client.get(url + link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    total = int(re.search(r'<p class="count">(\d+)', page).group(1))
    assert len(table) - 1 == total, "one line per row of the list, after the headings"


def test_the_audit_and_import_downloads_name_their_service_month_and_status(
    client, lists_with_rows
):
    client.force_login(lists_with_rows.user(Role.QUALITY_LEAD))
    audits = client.get(reverse("assurance:audit_list"), {"format": "csv"}).content.decode()
    imports = client.get(reverse("assurance:import_list"), {"format": "csv"}).content.decode()
    audit_rows = list(csv.DictReader(io.StringIO(audits.lstrip("\ufeff"))))
    import_rows_ = list(csv.DictReader(io.StringIO(imports.lstrip("\ufeff"))))
    assert ("Willow House", "October 2026", "Submitted") in {
        (r["Service"], r["Month"], r["Status"]) for r in audit_rows
    }
    ours = [r for r in import_rows_ if r["File"] == "october.csv"]
    assert [(r["Service"], r["Month"], r["Status"]) for r in ours] == [
        ("Willow House", "October 2026", "Imported")
    ]
