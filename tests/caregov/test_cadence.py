"""Calendar periods in UK time: which days a review covers, whatever the clocks do."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caregov.cadence import (
    LONDON,
    Cadence,
    Period,
    local_date,
    parse_month,
    parse_quarter,
    period_at,
    period_containing,
    period_from_key,
)
from caregov.management.commands.run_review_cycles import parse_moment

LENGTH_IN_DAYS = {Cadence.WEEKLY: 7, Cadence.FORTNIGHTLY: 14}


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def london(*parts, fold=0) -> datetime:
    return datetime(*parts, tzinfo=LONDON, fold=fold)


# Weeks and fortnights ---------------------------------------------------------------------------


def test_a_week_runs_monday_to_sunday():
    week = period_containing(Cadence.WEEKLY, date(2026, 3, 29))  # a Sunday
    assert week == Period(Cadence.WEEKLY, date(2026, 3, 23), date(2026, 3, 29))
    assert week.start.weekday() == 0
    assert period_containing(Cadence.WEEKLY, date(2026, 3, 30)).start == date(2026, 3, 30)


def test_every_day_of_a_week_belongs_to_that_week():
    for offset in range(7):
        day = date(2026, 3, 23) + timedelta(days=offset)
        assert period_containing(Cadence.WEEKLY, day).start == date(2026, 3, 23)


def test_fortnights_start_on_mondays_and_tile_2026_without_gaps_or_overlaps():
    fortnight = period_containing(Cadence.FORTNIGHTLY, date(2026, 1, 1))
    assert fortnight.start == date(2025, 12, 29)
    seen = []
    while fortnight.start <= date(2026, 12, 31):
        assert fortnight.start.weekday() == 0
        assert (fortnight.end - fortnight.start).days == 13
        if seen:
            assert fortnight.start == seen[-1].end + timedelta(days=1)
        seen.append(fortnight)
        fortnight = fortnight.next()
    assert len(seen) == 27
    day = date(2026, 1, 1)
    while day.year == 2026:
        holding = [f for f in seen if f.contains(day)]
        assert holding == [period_containing(Cadence.FORTNIGHTLY, day)]
        day += timedelta(days=1)


def test_a_fortnight_is_the_same_whichever_of_its_days_you_ask_about():
    first = period_containing(Cadence.FORTNIGHTLY, date(2026, 3, 23))
    last = period_containing(Cadence.FORTNIGHTLY, date(2026, 4, 5))
    assert first == last == Period(Cadence.FORTNIGHTLY, date(2026, 3, 23), date(2026, 4, 5))
    assert period_containing(Cadence.FORTNIGHTLY, date(2026, 4, 6)).start == date(2026, 4, 6)


# Months and quarters ----------------------------------------------------------------------------


def test_months_hold_their_own_days_including_february_in_a_leap_year():
    assert period_containing(Cadence.MONTHLY, date(2026, 2, 14)).end == date(2026, 2, 28)
    assert period_containing(Cadence.MONTHLY, date(2028, 2, 14)).end == date(2028, 2, 29)
    december = period_containing(Cadence.MONTHLY, date(2026, 12, 31))
    assert (december.start, december.end) == (date(2026, 12, 1), date(2026, 12, 31))
    assert december.next().start == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 3, 31), date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 8, 15), date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 12, 31), date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_quarters_are_jan_to_mar_apr_to_jun_jul_to_sep_and_oct_to_dec(day, start, end):
    assert period_containing(Cadence.QUARTERLY, day) == Period(Cadence.QUARTERLY, start, end)


def test_the_last_minute_of_2026_is_q4_and_the_first_of_2027_is_q1():
    assert period_at(Cadence.QUARTERLY, london(2026, 12, 31, 23, 59)).label == (
        "Q4 2026 (Oct to Dec)"
    )
    assert period_at(Cadence.QUARTERLY, london(2027, 1, 1, 0, 0)).label == "Q1 2027 (Jan to Mar)"
    assert period_at(Cadence.MONTHLY, london(2027, 1, 1, 0, 0)).label == "January 2027"
    assert period_at(Cadence.WEEKLY, london(2027, 1, 1, 0, 0)).start == date(2026, 12, 28)


# Labels -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "day", "label"),
    [
        (Cadence.MONTHLY, date(2026, 10, 15), "October 2026"),
        (Cadence.QUARTERLY, date(2026, 8, 1), "Q3 2026 (Jul to Sep)"),
        (Cadence.QUARTERLY, date(2026, 2, 1), "Q1 2026 (Jan to Mar)"),
        (Cadence.WEEKLY, date(2026, 3, 29), "Week of 23 Mar 2026"),
        (Cadence.FORTNIGHTLY, date(2026, 3, 29), "Fortnight 23 Mar 2026 to 5 Apr 2026"),
    ],
)
def test_periods_are_labelled_in_plain_words(cadence, day, label):
    period = period_containing(cadence, day)
    assert period.label == label
    assert str(period) == label


def test_a_quarter_and_a_month_can_be_named_the_short_way():
    assert parse_quarter("2026-Q3").label == "Q3 2026 (Jul to Sep)"
    assert parse_quarter("2026-q4").start == date(2026, 10, 1)
    assert parse_month("2026-10").label == "October 2026"
    with pytest.raises(ValueError):
        parse_quarter("2026-Q5")


# Clock changes ----------------------------------------------------------------------------------


def test_half_past_midnight_on_1_april_bst_is_april_although_it_is_still_31_march_in_utc():
    moment = utc(2026, 3, 31, 23, 30)  # 00:30 BST on 1 April
    assert local_date(moment) == date(2026, 4, 1)
    assert period_at(Cadence.MONTHLY, moment).label == "April 2026"
    assert period_at(Cadence.QUARTERLY, moment).label == "Q2 2026 (Apr to Jun)"


def test_half_past_eleven_on_31_october_gmt_is_still_october():
    moment = utc(2026, 10, 31, 23, 30)  # 23:30 GMT, the clocks went back on 25 October
    assert local_date(moment) == date(2026, 10, 31)
    assert period_at(Cadence.MONTHLY, moment).label == "October 2026"


def test_the_hour_repeated_when_the_clocks_go_back_is_the_same_day_both_times():
    first = london(2026, 10, 25, 1, 30, fold=0)
    second = london(2026, 10, 25, 1, 30, fold=1)
    assert first.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert second.astimezone(UTC) == utc(2026, 10, 25, 1, 30)
    for cadence in Cadence:
        assert period_at(cadence, first) == period_at(cadence, second)
    assert local_date(first) == local_date(second) == date(2026, 10, 25)


def test_either_side_of_spring_forward_is_the_same_sunday():
    before = utc(2026, 3, 29, 0, 30)  # 00:30 GMT
    after = utc(2026, 3, 29, 1, 30)  # 02:30 BST
    assert local_date(before) == local_date(after) == date(2026, 3, 29)
    assert period_at(Cadence.WEEKLY, before) == period_at(Cadence.WEEKLY, after)


def test_the_first_monday_after_spring_forward_starts_at_2300_utc_on_the_sunday():
    assert period_at(Cadence.WEEKLY, utc(2026, 3, 29, 22, 59)).start == date(2026, 3, 23)
    assert period_at(Cadence.WEEKLY, utc(2026, 3, 29, 23, 0)).start == date(2026, 3, 30)


def test_a_week_with_a_clock_change_keeps_its_days_and_gains_or_loses_an_hour():
    spring = period_containing(Cadence.WEEKLY, date(2026, 3, 29))
    autumn = period_containing(Cadence.WEEKLY, date(2026, 10, 25))
    assert spring.starts_at.astimezone(UTC) == utc(2026, 3, 23, 0, 0)
    assert spring.ends_at.astimezone(UTC) == utc(2026, 3, 29, 23, 0)
    assert spring.ends_at.astimezone(UTC) - spring.starts_at.astimezone(UTC) == timedelta(hours=167)
    assert autumn.ends_at.astimezone(UTC) - autumn.starts_at.astimezone(UTC) == timedelta(hours=169)
    assert spring.next().starts_at == spring.ends_at


def test_the_missing_hour_when_the_clocks_go_forward_is_read_without_error():
    moment = parse_moment("2026-03-29T01:30")
    assert moment.tzinfo is not None
    assert local_date(moment) == date(2026, 3, 29)
    assert period_at(Cadence.WEEKLY, moment).start == date(2026, 3, 23)


def test_an_ambiguous_time_given_to_the_command_means_the_second_gmt_one_as_imports_read_it():
    # One reading for the whole product, PostgreSQL's: the ECM import reads its times this way.
    moment = parse_moment("2026-10-25T01:30")
    assert moment.astimezone(UTC) == utc(2026, 10, 25, 1, 30)
    assert local_date(moment) == date(2026, 10, 25)


def test_a_time_the_clocks_skip_is_read_with_the_offset_before_the_change():
    assert parse_moment("2026-03-29T01:30").astimezone(UTC) == utc(2026, 3, 29, 1, 30)


def test_a_moment_with_an_offset_is_taken_as_given():
    assert parse_moment("2026-03-31T23:30+00:00").astimezone(UTC) == utc(2026, 3, 31, 23, 30)


def test_a_moment_without_a_timezone_is_refused():
    with pytest.raises(ValueError):
        period_at(Cadence.MONTHLY, datetime(2026, 3, 31, 23, 30))
    with pytest.raises(ValueError):
        local_date(datetime(2026, 3, 31, 23, 30))


# Keys, next and previous ------------------------------------------------------------------------


def test_next_and_previous_step_one_period_and_come_back():
    for cadence in Cadence:
        period = period_containing(cadence, date(2026, 12, 30))
        assert period.next().previous() == period
        assert period.previous().next() == period
        assert period.next().start == period.end + timedelta(days=1)
        assert period.previous().end == period.start - timedelta(days=1)


def test_a_period_key_reads_back_to_the_same_period():
    for cadence in Cadence:
        period = period_containing(cadence, date(2026, 10, 25))
        assert period_from_key(period.key) == period
    assert period_containing(Cadence.WEEKLY, date(2026, 3, 29)).key == "weekly:2026-03-23"


@pytest.mark.parametrize(
    "key",
    [
        "weekly:2026-03-24",  # a Tuesday
        "fortnightly:2026-03-30",  # a Monday, but the second week of a fortnight
        "monthly:2026-03-02",
        "quarterly:2026-02-01",
        "daily:2026-03-23",
        "monthly:not-a-date",
    ],
)
def test_a_key_that_does_not_start_a_period_is_refused(key):
    with pytest.raises(ValueError):
        period_from_key(key)


@settings(database=None)
@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
    cadence=st.sampled_from(list(Cadence)),
)
def test_every_day_lies_in_one_period_of_each_cadence_and_periods_follow_on(day, cadence):
    period = period_containing(cadence, day)
    assert period.contains(day)
    assert period.cadence == cadence
    assert period.next().start == period.end + timedelta(days=1)
    assert period.previous().end == period.start - timedelta(days=1)
    assert period_containing(cadence, period.start) == period
    assert period_containing(cadence, period.end) == period
    assert period_from_key(period.key) == period
    if cadence in LENGTH_IN_DAYS:
        assert period.start.weekday() == 0
        assert (period.end - period.start).days + 1 == LENGTH_IN_DAYS[cadence]
    else:
        assert period.start.day == 1
        assert period.next().start.day == 1


@settings(database=None)
@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    cadence=st.sampled_from(list(Cadence)),
)
def test_a_moment_lies_between_its_periods_local_midnights(moment, cadence):
    period = period_at(cadence, moment)
    assert period.starts_at <= moment < period.ends_at
