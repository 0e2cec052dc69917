"""The data quality lead confirms the measures and thresholds are reviewed: once a day, kept with
their name in the thresholds' history, and only by the data quality lead."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from assurance.models import ThresholdReview
from assurance.services import thresholds_review_confirm
from caregov.access import Role

LONDON = ZoneInfo("Europe/London")
#: The suite's Tuesday morning, and the evening of the same day.
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)
TUESDAY_EVENING = datetime(2026, 11, 24, 23, 30, tzinfo=LONDON)


def test_the_framework_asks_the_data_quality_lead_to_confirm_until_someone_has(client, world):
    client.force_login(world.user(Role.DATA_QUALITY_LEAD))
    page = client.get(reverse("assurance:framework")).content.decode()
    assert "Not reviewed" in page
    assert reverse("assurance:thresholds_reviewed") in page


def test_confirming_records_who_and_when_and_the_framework_says_so(client, world):
    lead = world.user(Role.DATA_QUALITY_LEAD)
    client.force_login(lead)
    url = reverse("assurance:thresholds_reviewed")
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Confirm thresholds reviewed" in confirm.content.decode()
    assert not ThresholdReview.objects.exists()
    response = client.post(url, follow=True)
    review = ThresholdReview.objects.get()
    assert (review.organisation, review.reviewed_by) == (world.org, lead)
    page = response.content.decode()
    assert "Measures and thresholds confirmed as reviewed on 24 Nov 2026." in page
    assert f"{lead} confirmed these measures and thresholds on 24 Nov 2026." in page
    assert review.history.get().history_change_reason == "assurance.thresholds.reviewed"
    history = client.get(reverse("assurance:threshold_history")).content.decode()
    assert "Thresholds reviewed on 24 Nov 2026" in history


def test_confirming_twice_the_same_day_records_one_review(client, world):
    lead = world.user(Role.DATA_QUALITY_LEAD)
    first, made = thresholds_review_confirm(actor=lead, organisation=world.org, at=TUESDAY)
    again, made_again = thresholds_review_confirm(
        actor=lead, organisation=world.org, at=TUESDAY_EVENING
    )
    assert made and not made_again and again == first
    client.force_login(lead)
    page = client.post(reverse("assurance:thresholds_reviewed"), follow=True).content.decode()
    assert "already confirmed as reviewed on 24 Nov 2026" in page
    assert ThresholdReview.objects.count() == 1


@pytest.mark.parametrize("role", [Role.QUALITY_LEAD, Role.ORG_ADMIN, Role.TEAM_LEADER])
def test_only_the_data_quality_lead_confirms(client, world, role):
    person = world.user(role)
    with pytest.raises(PermissionDenied):
        thresholds_review_confirm(actor=person, organisation=world.org, at=TUESDAY)
    client.force_login(person)
    assert client.post(reverse("assurance:thresholds_reviewed")).status_code == 403
    assert not ThresholdReview.objects.exists()


def test_a_data_quality_lead_cannot_confirm_for_another_organisation(world):
    with pytest.raises(PermissionDenied):
        thresholds_review_confirm(
            actor=world.user(Role.DATA_QUALITY_LEAD), organisation=world.other_org, at=TUESDAY
        )
    assert not ThresholdReview.objects.exists()


def test_others_see_whether_the_thresholds_are_reviewed_without_a_button(client, world):
    thresholds_review_confirm(
        actor=world.user(Role.DATA_QUALITY_LEAD), organisation=world.org, at=TUESDAY
    )
    client.force_login(world.user(Role.QUALITY_LEAD))
    page = client.get(reverse("assurance:framework")).content.decode()
    assert "confirmed these measures and thresholds on 24 Nov 2026" in page
    assert reverse("assurance:thresholds_reviewed") not in page
