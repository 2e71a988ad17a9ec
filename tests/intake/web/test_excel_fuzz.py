"""Hypothesis against the workbook reader: any bytes and any cell contents are read or refused clearly."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError

from services.intake import excel
from services.intake.report_lines import ActionLines, MetricLine, ReportSheet
from shared import rules
from shared.catalog import default_catalog
from shared.errors import Invalid
from shared.periods import Quarter

CATALOG = default_catalog()


def empty_sheet(bureau: str = "police") -> ReportSheet:
    """The workbook of a report nobody has started: every input cell empty."""
    actions = tuple(
        ActionLines(
            action=action,
            program=CATALOG.program(action.program),
            metrics=tuple(
                MetricLine(
                    metric=m,
                    planned=None,
                    earlier={},
                    value=None,
                    by_sex=dict.fromkeys(rules.SEXES_REPORTED) if m.by_sex else None,
                )
                for m in action.metrics
            ),
            note=None,
            delay_reason=None,
            countermeasure=None,
            behind=(),
        )
        for action in CATALOG.actions_for(bureau)
    )
    quarter = Quarter(2022, 2)
    return ReportSheet(
        bureau=CATALOG.bureau(bureau),
        quarter=quarter,
        due=dt.date(2022, 7, 10),
        plan_title=CATALOG.plan.title,
        narrative="",
        actions=actions,
        report=None,
    )


SHEET = empty_sheet()
TEMPLATE = excel.build_workbook(SHEET)
INPUT_CELLS = [
    cell.coordinate
    for row in load_workbook(io.BytesIO(TEMPLATE))[excel.SHEET].iter_rows()
    for cell in row
    if cell.protection.locked is False and not isinstance(cell, MergedCell)
]
_template_sheet = load_workbook(io.BytesIO(TEMPLATE))[excel.SHEET]
_rows, _columns = _template_sheet.max_row + 3, _template_sheet.max_column + 3
# Every other cell of the template and a margin around it, but for the parts of merged cells.
OTHER_CELLS = [
    f"{get_column_letter(column)}{row}"
    for row in range(1, _rows + 1)
    for column in range(1, _columns + 1)
    if f"{get_column_letter(column)}{row}" not in INPUT_CELLS
    and not isinstance(_template_sheet.cell(row, column), MergedCell)
]
cell_values = st.one_of(
    st.none(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["=1+1", "+SUM(A1:A3)", "-5", "@cmd", "３", "1e3", " 7 ", "七"]),
    st.booleans(),
    st.dates(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=2000))
def test_any_bytes_are_refused_with_a_message_or_read(raw):
    try:
        excel.read_workbook(raw, SHEET)
    except Invalid as error:
        assert error.detail


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(INPUT_CELLS), cell_values, max_size=8))
def test_any_values_in_the_input_cells_are_read_or_refused_naming_the_cell(changes):
    book = load_workbook(io.BytesIO(TEMPLATE))
    sheet = book[excel.SHEET]
    for coordinate, value in changes.items():
        try:
            sheet[coordinate].value = value
        except IllegalCharacterError:
            assume(False)  # Excel itself cannot hold such text
    buffer = io.BytesIO()
    book.save(buffer)
    try:
        content = excel.read_workbook(buffer.getvalue(), SHEET)
    except Invalid as error:
        assert error.detail
        assert all(key.startswith(f"{excel.SHEET}!") or key == "file" for key in error.errors), error.errors
        return
    for entry in content["actions"]:
        assert all(v is None or (isinstance(v, int) and v >= 0) for v in entry["values"].values())


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(OTHER_CELLS), st.one_of(st.integers(), st.text(min_size=1, max_size=20), st.dates()))
def test_any_value_typed_outside_the_input_cells_is_refused_naming_the_cell(coordinate, value):
    book = load_workbook(io.BytesIO(TEMPLATE))
    sheet = book[excel.SHEET]
    before = "" if sheet[coordinate].value is None else str(sheet[coordinate].value).strip()
    assume(str(value).strip() not in ("", before))
    try:
        sheet[coordinate].value = value
    except IllegalCharacterError:
        assume(False)
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(Invalid) as refused:
        excel.read_workbook(buffer.getvalue(), SHEET)
    assert f"{excel.SHEET}!{coordinate}" in refused.value.errors, refused.value.errors
