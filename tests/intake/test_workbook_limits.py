"""The workbook limits come from the report template: every bureau's template, every input cell filled to
its length limit, fits well within each of them, and each limit refuses a template that passes it by one."""

from __future__ import annotations

import dataclasses
import io
import re
import xml.etree.ElementTree as ET
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell

from services.intake import excel
from services.intake.workbook_limits import LIMITS, WorkbookLimits, inspect
from shared.catalog import default_catalog
from shared.errors import Invalid
from tests.intake.web.test_excel_fuzz import empty_sheet

BUREAUS = [bureau.id for bureau in default_catalog().bureaus]
# What a limit of the template may use at most: a legitimate workbook stays this far inside it.
MARGIN = 4


def filled_template(bureau: str, text: str = "字") -> bytes:
    """A bureau's template with every input cell filled: the longest notes and narrative allowed."""
    return filled(excel.build_workbook(empty_sheet(bureau)), text)


def filled(template: bytes, text: str = "字") -> bytes:
    """A template with every input cell filled, as openpyxl saves it."""
    book = load_workbook(io.BytesIO(template))
    for row in book[excel.SHEET].iter_rows():
        for cell in row:
            if cell.protection.locked is False and not isinstance(cell, MergedCell):
                if cell.column_letter in "OPQ":
                    cell.value = text * excel.NOTE_LENGTH
                elif cell.column_letter == "B":
                    cell.value = text * excel.NARRATIVE_LENGTH
                else:
                    cell.value = 99_999
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def measured(raw: bytes) -> dict[str, int]:
    """What a workbook uses of each limit, measured with openpyxl and ElementTree (not the inspector)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    elements = {
        name: [element for _, element in ET.iterparse(io.BytesIO(data), events=("start",))]
        for name, data in parts.items()
    }
    items = sum(1 + len(element.attrib) for found in elements.values() for element in found)
    cells = [
        sum(element.tag.endswith("}c") for element in found)
        for name, found in elements.items()
        if name.startswith("xl/worksheets/")
    ]
    runs = [len(run) for data in parts.values() for run in re.findall(rb"<[^<]*", data)]
    book = load_workbook(io.BytesIO(raw))
    sheets = book.worksheets
    return {
        "compressed_bytes": len(raw),
        "unpacked_bytes": sum(len(data) for data in parts.values()),
        "parts": len(parts),
        "sheets": len(sheets),
        "rows": max(ws.max_row for ws in sheets),
        "columns": max(ws.max_column for ws in sheets),
        "cells": max(cells),
        "merged_ranges": max(len(ws.merged_cells.ranges) for ws in sheets),
        "merged_cells": max(
            sum(r.size["rows"] * r.size["columns"] for r in ws.merged_cells.ranges) for ws in sheets
        ),
        "items": items,
        "run_bytes": max(runs),
    }


@pytest.fixture(scope="module")
def largest() -> bytes:
    return filled_template("police")


@pytest.mark.parametrize("bureau", BUREAUS)
def test_every_bureaus_filled_in_template_stays_well_within_every_limit(bureau):
    raw = filled_template(bureau)
    inspect(raw)
    used = measured(raw)
    for name, value in used.items():
        if name == "run_bytes":  # the narrative: 60 KB of 20,000 CJK characters, checked below
            assert value * 2 <= LIMITS.run_bytes, (name, value)
        else:
            assert value * MARGIN <= getattr(LIMITS, name), (name, value)


def test_the_longest_narrative_in_its_longest_escaped_form_still_passes():
    inspect(filled_template("police", "&"))  # each & written as &amp;: 100 KB in one run


@pytest.mark.parametrize("name", [field.name for field in dataclasses.fields(WorkbookLimits)])
def test_each_limit_takes_the_template_at_it_and_refuses_it_one_below(largest, name):
    at = measured(largest)[name]
    inspect(largest, dataclasses.replace(LIMITS, **{name: at}))
    with pytest.raises(Invalid) as refused:
        inspect(largest, dataclasses.replace(LIMITS, **{name: at - 1}))
    assert refused.value.detail.startswith("檔案超過上限：")
    assert refused.value.errors == {"file": [refused.value.detail]}


def test_a_file_that_is_not_a_zip_is_unreadable_not_over_a_limit():
    with pytest.raises(Invalid) as refused:
        inspect(b"PK\x03\x04 not really")
    assert refused.value.detail == "無法讀取檔案：請上傳由本系統下載的 Excel 檔（.xlsx）。"


TEMPLATE = excel.build_workbook(empty_sheet("police"))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, len(TEMPLATE) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_damaged_template_passes_or_is_refused_clearly(changes):
    """Any bytes of the template changed: the inspection passes it or refuses it with a message, never
    anything else (a damaged entry, a bad CRC, a broken header)."""
    raw = bytearray(TEMPLATE)
    for at, value in changes:
        raw[at] = value
    try:
        inspect(bytes(raw))
    except Invalid as refused:
        assert refused.errors["file"]
