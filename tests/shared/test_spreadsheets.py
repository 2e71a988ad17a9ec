"""Formula injection: text written to CSV or XLSX is never evaluated as a formula."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from services.kpi.tables import Row, Table
from shared.spreadsheets import csv_text, put_text

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_is_neutralised_in_both_formats(text):
    assert csv_text(text) == "'" + text
    cell = put_text(Workbook().active["A1"], text)
    assert (cell.data_type, cell.quotePrefix, cell.value) == ("s", True, text)


def test_plain_text_numbers_and_the_zero_dash_stay_as_they_are():
    assert csv_text("妨害秘密") == "妨害秘密"
    assert csv_text("-") == "-"
    assert csv_text(42) == 42
    assert put_text(Workbook().active["A1"], "-").quotePrefix is False


def hostile_table() -> Table:
    rows = [Row(label="=cmd|' /C calc'!A0", row_type="cause", sex="male", code="x", values=[1, 0])]
    return Table("suspects", "=title", None, "全部", 2020, 2021, "@header", ["+col", "18-23歲"], rows)


def test_kpi_table_csv_writes_hostile_labels_as_text():
    rows = list(csv.reader(io.StringIO(hostile_table().to_csv())))
    assert rows[0] == ["'@header", "'+col", "18-23歲"]
    assert rows[1] == ["'=cmd|' /C calc'!A0", "1", "-"]


def test_kpi_table_xlsx_writes_hostile_labels_as_text():
    sheet = load_workbook(io.BytesIO(hostile_table().to_xlsx())).active
    for coordinate in ("A1", "A3", "B3", "A4"):
        cell = sheet[coordinate]
        assert cell.data_type == "s", coordinate
        assert cell.quotePrefix, coordinate
    assert sheet["A4"].value == "=cmd|' /C calc'!A0"
    assert sheet["C4"].value == "-"
