"""Quarters, ROC years and deadlines as bureau staff read them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.periods import (
    TAIPEI,
    Quarter,
    days_late,
    days_until_due,
    due_at,
    due_date,
    format_roc_date,
    gregorian_year,
    lock_at,
    roc_year,
)


def taipei(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TAIPEI)


def test_roc_years_are_counted_from_1912():
    assert roc_year(2022) == 111
    assert roc_year(2021) == 110
    assert gregorian_year(105) == 2016
    with pytest.raises(ValueError):
        roc_year(1911)
    with pytest.raises(ValueError):
        gregorian_year(0)


@given(st.integers(min_value=1912, max_value=9999))
def test_roc_and_gregorian_years_convert_both_ways(year):
    assert gregorian_year(roc_year(year)) == year


def test_quarters_are_labelled_in_roc_years():
    assert Quarter(2022, 2).label_zh == "民國111年第2季"
    assert str(Quarter(2022, 2)) == "2022Q2"
    assert format_roc_date(dt.date(2022, 4, 10)) == "111年4月10日"


def test_quarters_know_their_bounds_and_neighbours():
    q4 = Quarter(2021, 4)
    assert (q4.start, q4.end) == (dt.date(2021, 10, 1), dt.date(2021, 12, 31))
    assert q4.next() == Quarter(2022, 1)
    assert Quarter(2022, 1).previous() == q4
    assert Quarter(2022, 3).year_to_date() == [Quarter(2022, 1), Quarter(2022, 2), Quarter(2022, 3)]
    assert Quarter.parse("2022Q2") == Quarter.parse("2022-Q2") == Quarter(2022, 2)
    assert sorted([Quarter(2022, 1), Quarter(2021, 4)]) == [Quarter(2021, 4), Quarter(2022, 1)]
    with pytest.raises(ValueError):
        Quarter(2022, 5)
    with pytest.raises(ValueError):
        Quarter.parse("2022Q0")


@given(st.dates(min_value=dt.date(1912, 1, 1), max_value=dt.date(9998, 12, 31)))
def test_every_day_lies_in_exactly_its_quarter(day):
    quarter = Quarter.containing(day)
    assert quarter.start <= day <= quarter.end
    assert quarter.next().start == quarter.end + dt.timedelta(days=1)


def test_a_report_is_due_at_the_end_of_the_tenth_day_after_its_quarter_in_taipei():
    q1 = Quarter(2022, 1)
    assert due_date(q1, 10) == dt.date(2022, 4, 10)
    assert due_at(q1, 10) == taipei(2022, 4, 10, 23, 59, 59, 999999)
    assert lock_at(q1, 10, 30) == taipei(2022, 5, 10, 23, 59, 59, 999999)
    assert due_date(Quarter(2022, 4), 10) == dt.date(2023, 1, 10)


def test_days_late_count_taipei_calendar_days_after_the_due_date():
    q1 = Quarter(2022, 1)
    assert days_late(q1, taipei(2022, 4, 10, 23, 59), 10) == 0
    assert days_late(q1, taipei(2022, 4, 11, 0, 1), 10) == 1
    # 2022-04-10 16:30 UTC is already the 11th in Taipei.
    assert days_late(q1, dt.datetime(2022, 4, 10, 16, 30, tzinfo=dt.UTC), 10) == 1
    assert days_late(q1, taipei(2022, 3, 1), 10) == 0


def test_days_until_due_turn_negative_once_the_date_has_passed():
    q1 = Quarter(2022, 1)
    assert days_until_due(q1, taipei(2022, 4, 3, 9), 10) == 7
    assert days_until_due(q1, taipei(2022, 4, 10, 9), 10) == 0
    assert days_until_due(q1, taipei(2022, 4, 17, 9), 10) == -7
