"""The governance screens as their users meet them."""

from datetime import date, timedelta

from django.urls import reverse

from caregov.access import Role
from caregov.models import Action, Escalation, ReviewCycle


def test_a_manager_cannot_resolve_an_escalation_raised_above_them(client, world):
    escalation = world.record("escalation", world.service_a)  # escalated to the quality lead
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    page = client.get(reverse("escalation_resolve", args=[escalation.pk])).content.decode()
    assert "only they, or a body above them" in page.replace("Only", "only")
    response = client.post(reverse("escalation_resolve", args=[escalation.pk]), {"note": "Done."})
    assert response.status_code == 403
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.OPEN


def test_the_quality_lead_resolves_it_with_a_note(client, world):
    escalation = world.record("escalation", world.service_a)
    client.force_login(world.user(Role.QUALITY_LEAD))
    response = client.post(reverse("escalation_resolve", args=[escalation.pk]), {"note": ""})
    assert "Say how it was resolved." in response.content.decode()
    client.post(reverse("escalation_resolve", args=[escalation.pk]), {"note": "Review booked."})
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.RESOLVED
    assert escalation.resolution_note == "Review booked."


def test_signing_off_from_the_screen_freezes_the_review(client, world):
    review = world.record("review", world.service_a)
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    empty = client.post(reverse("review_sign_off", args=[review.pk]), {"decision": "Reliable"})
    page = empty.content.decode()
    assert "Tick the box to confirm" in page and "Reliable" in page
    client.post(
        reverse("review_sign_off", args=[review.pk]),
        {"decision": "Reliable", "minutes": "Ten records checked.", "confirm": "on"},
    )
    review.refresh_from_db()
    assert review.status == ReviewCycle.Status.SIGNED_OFF
    page = client.get(reverse("review_detail", args=[review.pk])).content.decode()
    assert "Signed off and frozen" in page
    assert "Record decision and sign off" not in page


def test_a_team_leader_sees_the_review_but_cannot_sign_it_off(client, world):
    review = world.record("review", world.service_a)
    client.force_login(world.user(Role.TEAM_LEADER))
    page = client.get(reverse("review_sign_off", args=[review.pk])).content.decode()
    assert "Only the registered manager for Willow House can sign off" in page
    response = client.post(
        reverse("review_sign_off", args=[review.pk]),
        {"decision": "x", "minutes": "y", "confirm": "on"},
    )
    assert response.status_code == 403


def test_raising_an_action_keeps_what_was_typed_when_the_date_is_past(client, world):
    review = world.record("review", world.service_a)
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    owner = world.user(Role.TEAM_LEADER)
    data = {"title": "Retrain night staff", "owner": owner.pk, "due_on": "2020-01-01"}
    response = client.post(reverse("review_action_raise", args=[review.pk]), data)
    page = response.content.decode()
    assert "The due date must be today or later." in page
    assert 'value="Retrain night staff"' in page
    assert not Action.objects.filter(title="Retrain night staff").exists()
    data["due_on"] = (date.today() + timedelta(days=7)).isoformat()
    client.post(reverse("review_action_raise", args=[review.pk]), data)
    action = Action.objects.get(title="Retrain night staff")
    assert action.review_cycle == review and action.owner == owner


def test_an_unknown_filter_value_is_reported_not_silently_ignored(client, world):
    client.force_login(world.user(Role.QUALITY_LEAD))
    page = client.get(reverse("action_list"), {"status": "not_effective"}).content.decode()
    assert "Some filters were not understood and were ignored: Status" in page


def test_the_decision_form_offers_only_this_meetings_service(client, world):
    meeting = world.record("meeting", world.service_a)
    client.force_login(world.user(Role.QUALITY_LEAD))
    page = client.get(reverse("decision_add", args=[meeting.pk])).content.decode()
    assert "Willow House" in page
    assert "Beech Court" not in page


def test_meeting_history_lists_its_decisions(client, world):
    from caregov.services.governance import decision_record

    meeting = world.record("meeting", world.service_a)
    lead = world.user(Role.QUALITY_LEAD)
    decision_record(actor=lead, meeting=meeting, text="Publish PRN recording guidance.")
    client.force_login(lead)
    page = client.get(reverse("meeting_history", args=[meeting.pk])).content.decode()
    assert "Publish PRN recording guidance." in page
    assert "Decision recorded" in page


def test_my_work_shows_what_is_due_and_overdue_for_a_manager(client, world):
    client.force_login(world.user(Role.REGISTERED_MANAGER))
    page = client.get(reverse("home")).content.decode()
    assert "Needs your decision this week" in page
    assert "Monthly data quality trend review, October 2026" in page
    assert "Review overdue at Willow House" in page
    assert "Beech Court" not in page


def test_the_trigger_list_states_the_rule_with_the_organisations_numbers(client, world):
    from caregov.services.governance import trigger_setting_save

    lead = world.user(Role.QUALITY_LEAD)
    trigger_setting_save(
        actor=lead,
        organisation=world.org,
        trigger_code="caregov.review_overdue",
        thresholds={"days_after_period": 5, "days_per_level": 10},
        enabled=True,
    )
    client.force_login(lead)
    page = client.get(reverse("trigger_list")).content.decode()
    assert "not signed off 5 days after its period ends" in page
    response = client.post(
        reverse("trigger_edit", args=["caregov.review_overdue"]),
        {"days_after_period": 999, "days_per_level": 10, "enabled": "on"},
    )
    assert "Enter a number between 1 and 180." in response.content.decode()


def _raise(service, *, days_ago, severity, status="open", subject=""):
    from django.utils import timezone

    return Escalation.objects.create(
        organisation=service.organisation,
        service=service,
        trigger="assurance.unreliable_reports",
        cadence="monthly",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        subject=subject or f"{severity} {days_ago}",
        title=f"{severity.capitalize()} escalation raised {days_ago} days ago",
        severity=severity,
        status=status,
        escalated_to="registered_manager",
        raised_at=timezone.now() - timedelta(days=days_ago),
    )


def test_the_escalations_page_lists_the_most_urgent_first_as_it_says(client, world):
    # Acknowledged ones once came first and a 430-day-old high one was sixth, under "Oldest first".
    for days in (3, 5, 8, 12, 20):
        _raise(world.service_a, days_ago=days, severity="medium", status="acknowledged")
    _raise(world.service_a, days_ago=430, severity="high")
    _raise(world.service_a, days_ago=2, severity="high")
    _raise(world.service_a, days_ago=600, severity="low")
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    response = client.get(reverse("escalation_list"))

    page = response.content.decode()
    assert "Most urgent first: high severity, then medium, then low" in page
    listed = [(e.severity, e.title) for e in response.context["object_list"]]
    assert listed[:2] == [
        ("high", "High escalation raised 430 days ago"),
        ("high", "High escalation raised 2 days ago"),
    ]
    assert [s for s, _ in listed] == ["high"] * 2 + ["medium"] * 6 + ["low"]
    assert listed[2][1] == "Medium escalation raised 20 days ago"
    assert page.index("raised 430 days ago") < page.index("raised 20 days ago")


def test_my_work_lists_what_needs_my_decision_most_urgent_first(client, world):
    _raise(world.service_a, days_ago=400, severity="medium")
    _raise(world.service_a, days_ago=2, severity="high")
    client.force_login(world.user(Role.REGISTERED_MANAGER))

    response = client.get(reverse("home"))

    page = response.content.decode()
    assert "Needs your decision this week" in page
    assert page.index("High escalation raised 2 days ago") < page.index(
        "Medium escalation raised 400 days ago"
    )
    counts = response.context["decisions"].counts
    assert (counts.escalations, counts.high_escalations, counts.reviews) == (3, 1, 1)
