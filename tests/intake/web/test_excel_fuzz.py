"""Hypothesis against the workbook reader: any bytes and any cell contents are read or refused clearly."""

from __future__ import annotations

import datetime as dt
import io

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
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
