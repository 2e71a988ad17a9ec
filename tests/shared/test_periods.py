"""Quarters and ROC years as bureau staff read them (the deadlines: test_rules.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.periods import Quarter, format_roc_date, gregorian_year, roc_year


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
