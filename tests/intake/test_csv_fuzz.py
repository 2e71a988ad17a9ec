"""Hypothesis throws arbitrary CSV at the case parser: it accepts or refuses, never crashes."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.cases import FIELDS, check_record, records_from_csv
from shared.catalog import default_catalog
from shared.errors import Invalid

CATALOG = default_catalog()
DATES = (dt.date(2016, 1, 1), dt.date(2022, 7, 5))
cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_parsed_or_refused_with_a_clear_error(text):
    try:
        records = records_from_csv(text)
    except Invalid as error:
        assert error.detail
        return
    assert isinstance(records, list)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={f: cells for f in FIELDS}), max_size=5))
def test_rows_with_any_cells_are_checked_without_crashing(rows):
    header = list(FIELDS)
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join('"' + row.get(f, "").replace('"', '""') + '"' for f in header))
    try:
        for record in records_from_csv("\n".join(lines) + "\n"):
            check_record(CATALOG, record, DATES)
    except Invalid as error:
        assert error.detail


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([c.id for c in CATALOG.crime_categories]),
    st.sampled_from(["suspect", "victim"]),
    st.sampled_from(["male", "female"]),
    st.integers(min_value=0, max_value=130),
    st.lists(st.integers(min_value=1, max_value=10), unique=True, max_size=10),
)
def test_every_valid_combination_is_accepted(category, role, sex, age, types):
    record = {
        "ref": "R-1",
        "date": dt.date(2022, 1, 1),
        "category": category,
        "role": role,
        "sex": sex,
        "age": age,
        "types": types,
    }
    columns = check_record(CATALOG, record, DATES)
    assert columns["age_band"] == CATALOG.age_band_for(age).id
    assert columns["types"] == sorted(types)
