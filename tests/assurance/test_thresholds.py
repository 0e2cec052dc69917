"""Thresholds in force for past months: a month is always judged by the thresholds that were in
force in it, and only the data quality lead may set new ones, from this month on."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from assurance.measures import Rating, default_thresholds
from assurance.models import ThresholdVersion
from assurance.selectors import FigureTable, ThresholdBook
from assurance.services import threshold_version_save
from caregov.access import Role
from tests.assurance.builders import import_rows, month, rows
from tests.factories import person_with_role

JANUARY_2026 = date(2026, 1, 10)


@pytest.fixture
def lead(world):
    return world.user(Role.DATA_QUALITY_LEAD)


def save(
    actor,
    organisation,
    effective_from,
    green,
    amber,
    *,
    target=None,
    today=JANUARY_2026,
    reason="Agreed at the quality meeting",
    measure="completeness",
):
    return threshold_version_save(
        actor=actor,
        organisation=organisation,
        measure=measure,
        effective_from=effective_from,
        target=Decimal(target if target is not None else green + 3),
        green_from=Decimal(green),
        amber_from=Decimal(amber),
        reason=reason,
        today=today,
    )


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


# Which version is in force -----------------------------------------------------------------------


@pytest.fixture
def versions(world, lead):
    """Completeness: version A from March 2026, version B from September 2026."""
    a = save(lead, world.org, date(2026, 3, 1), green=90, amber=80)
    b = save(lead, world.org, date(2026, 9, 1), green=97, amber=91)
    return a, b


def test_before_any_version_a_month_is_judged_by_caregovs_defaults(world, versions):
    in_force = ThresholdBook(world.org).in_force("completeness", date(2026, 2, 1))
    assert in_force == default_thresholds("completeness")
    assert (in_force.green_from, in_force.amber_from) == (Decimal(95), Decimal(85))
    assert in_force.version_id is None


def test_march_to_august_are_judged_by_version_a(world, versions):
    a, _ = versions
    book = ThresholdBook(world.org)
    for number in range(3, 9):
        in_force = book.in_force("completeness", date(2026, number, 1))
        assert in_force.version_id == a.pk, number
        assert in_force.effective_from == date(2026, 3, 1)
        assert (in_force.green_from, in_force.amber_from) == (Decimal(90), Decimal(80))


def test_september_onwards_is_judged_by_version_b(world, versions):
    _, b = versions
    book = ThresholdBook(world.org)
    for day in (date(2026, 9, 1), date(2026, 12, 1), date(2027, 6, 1)):
        in_force = book.in_force("completeness", day)
        assert in_force.version_id == b.pk, day
        assert (in_force.green_from, in_force.amber_from) == (Decimal(97), Decimal(91))


def test_a_version_for_one_measure_leaves_the_others_on_their_defaults(world, versions):
    book = ThresholdBook(world.org)
    assert book.in_force("timeliness", date(2026, 10, 1)) == default_thresholds("timeliness")


def test_another_organisations_thresholds_do_not_apply_to_ours(world):
    their_lead = person_with_role(Role.DATA_QUALITY_LEAD, organisation=world.other_org)
    save(their_lead, world.other_org, date(2026, 3, 1), green=50, amber=40)
    assert ThresholdBook(world.org).in_force("completeness", date(2026, 10, 1)) == (
        default_thresholds("completeness")
    )


def test_the_same_figure_is_rated_by_the_thresholds_in_force_in_its_own_month(
    world, versions, lead
):
    manager = world.user(Role.REGISTERED_MANAGER)
    months = [month(2026, 2), month(2026, 4), month(2026, 10)]
    for period in months:
        # 9 of 10 written each month: 90.0%
        import_rows(manager, world.service_a, rows(10, recorded=9, start=period.start))
    table = FigureTable(world.org, [world.service_a], months)
    ratings = [table.figure(world.service_a.pk, m.start, "completeness").rating for m in months]
    # February, defaults: 85 <= 90.0 < 95 amber. April, A: 90.0 >= 90 green.
    # October, B: 90.0 < 91 red.
    assert ratings == [Rating.AMBER, Rating.GREEN, Rating.RED]

    # Thresholds set in November for December on do not re-rate October.
    save(lead, world.org, date(2026, 12, 1), green=80, amber=70, today=date(2026, 11, 20))
    table = FigureTable(world.org, [world.service_a], months)
    assert table.figure(world.service_a.pk, date(2026, 10, 1), "completeness").rating == (
        Rating.RED
    )


# What may be saved ------------------------------------------------------------------------------


def test_thresholds_cannot_start_in_a_past_month(world, lead):
    with pytest.raises(ValidationError) as excinfo:
        save(lead, world.org, date(2026, 9, 1), green=90, amber=80, today=date(2026, 10, 15))
    assert "past months keep the thresholds" in errors_of(excinfo)["effective_from"][0]
    assert not ThresholdVersion.objects.exists()


def test_thresholds_can_start_this_month(world, lead):
    version = save(lead, world.org, date(2026, 10, 1), green=90, amber=80, today=date(2026, 10, 31))
    assert version.effective_from == date(2026, 10, 1)


def test_thresholds_start_on_the_first_day_of_a_month(world, lead):
    with pytest.raises(ValidationError) as excinfo:
        save(lead, world.org, date(2026, 12, 15), green=90, amber=80)
    assert errors_of(excinfo)["effective_from"] == ["Thresholds start on the first day of a month."]
    assert not ThresholdVersion.objects.exists()


def test_amber_cannot_start_above_green(world, lead):
    with pytest.raises(ValidationError) as excinfo:
        save(lead, world.org, date(2026, 12, 1), green=90, amber="90.1")
    assert "amber_from" in errors_of(excinfo)
    assert not ThresholdVersion.objects.exists()


def test_amber_may_start_at_green(world, lead):
    version = save(lead, world.org, date(2026, 12, 1), green=90, amber=90)
    assert version.amber_from == version.green_from == Decimal(90)


def test_thresholds_need_a_reason(world, lead):
    with pytest.raises(ValidationError) as excinfo:
        save(lead, world.org, date(2026, 12, 1), green=90, amber=80, reason="   ")
    assert errors_of(excinfo)["reason"] == ["Say why the thresholds are changing."]
    assert not ThresholdVersion.objects.exists()


def test_every_problem_with_new_thresholds_is_reported_at_once(world, lead):
    with pytest.raises(ValidationError) as excinfo:
        save(lead, world.org, date(2026, 12, 2), green=80, amber=90, target=101, reason="")
    assert set(errors_of(excinfo)) == {"effective_from", "amber_from", "target", "reason"}


def test_only_the_data_quality_lead_may_set_thresholds(world):
    for role in Role:
        if role == Role.DATA_QUALITY_LEAD:
            continue
        with pytest.raises(PermissionDenied):
            save(world.user(role), world.org, date(2026, 12, 1), green=90, amber=80)
    assert not ThresholdVersion.objects.exists()
    save(world.user(Role.DATA_QUALITY_LEAD), world.org, date(2026, 12, 1), green=90, amber=80)
    assert ThresholdVersion.objects.count() == 1


def test_another_organisations_data_quality_lead_cannot_set_our_thresholds(world):
    their_lead = person_with_role(Role.DATA_QUALITY_LEAD, organisation=world.other_org)
    with pytest.raises(PermissionDenied):
        save(their_lead, world.org, date(2026, 12, 1), green=90, amber=80)


def test_changing_a_months_thresholds_keeps_one_version_and_writes_history(world, lead):
    first = save(lead, world.org, date(2026, 12, 1), green=90, amber=80)
    second = save(
        lead, world.org, date(2026, 12, 1), green=92, amber=82, reason="Raised after review"
    )
    assert second.pk == first.pk
    assert ThresholdVersion.objects.count() == 1
    assert second.history.count() == 2
    latest, earliest = list(second.history.order_by("-history_id"))
    assert earliest.history_change_reason == "assurance.thresholds.set"
    assert (earliest.green_from, earliest.amber_from) == (Decimal(90), Decimal(80))
    assert latest.history_change_reason == "assurance.thresholds.changed"
    assert (latest.green_from, latest.amber_from) == (Decimal(92), Decimal(82))
    assert latest.reason == "Raised after review"
    assert latest.history_user == lead
