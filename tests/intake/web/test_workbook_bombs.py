"""Workbook bombs (issue 14) from the upload page and the API: 422 naming the limit, nothing stored,
memory bounded. A 10 KB merged range of a million cells took openpyxl 21 s and 285 MB; 5,000 sheets
pointing at one part 86 s and 1 GB. Time is not asserted here: `python -m bench.workbook_bombs`
measures it (docs/reliability.md)."""

from __future__ import annotations

import functools
import io
import tracemalloc

import pytest

from services.intake import excel
from tests.helpers.workbook_bombs import BOMBS
from tests.intake.test_workbook_limits import filled
from tests.intake.web.conftest import Q2, stored_report, text_of
from tests.intake.web.test_excel_fuzz import empty_sheet

API = "/api/v1/reports/police/2022/2/xlsx"
# What handling one refused bomb may allocate in the process, page rendering included: openpyxl took
# 285 MB for the smallest of them.
MEMORY_BOUND = 32 * 1024 * 1024


@functools.cache
def bomb(name: str) -> bytes:
    make, _ = BOMBS[name]
    return make(excel.build_workbook(empty_sheet("police")))


def measured(send):
    """The response to send() and the most it allocated on the way (tracemalloc)."""
    tracemalloc.start()
    try:
        response = send()
        return response, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_bomb_uploaded_from_the_page_is_refused_naming_the_limit(signed_in, web_app, name):
    police = signed_in("police")
    raw = bomb(name)
    refused, peak = measured(lambda: police.post(Q2 + "/xlsx", {"file": (io.BytesIO(raw), "季報.xlsx")}))
    assert refused.status_code == 422
    page = text_of(refused)
    assert BOMBS[name][1] in page
    assert 'id="file-error"' in page  # beside the file input, which the error list links to
    assert peak < MEMORY_BOUND, peak
    assert stored_report(web_app) is None


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_bomb_uploaded_through_the_api_is_a_422_problem_naming_the_limit(api, intake_app, name):
    raw = bomb(name)
    refused, peak = measured(lambda: api.post("police", API, data={"file": (io.BytesIO(raw), "report.xlsx")}))
    assert refused.status_code == 422
    assert refused.content_type == "application/problem+json"
    assert BOMBS[name][1] in refused.json["detail"]
    assert refused.json["errors"]["file"]
    assert peak < MEMORY_BOUND, peak
    assert api.get("police", "/api/v1/reports/police/2022/2").status_code == 404


def test_a_template_filled_to_every_length_limit_still_uploads(signed_in, web_app):
    police = signed_in("police")
    raw = filled(police.get(Q2 + "/xlsx").data)
    saved = police.post(Q2 + "/xlsx", {"file": (io.BytesIO(raw), "季報.xlsx")})
    assert saved.status_code == 303, text_of(saved)
    report = stored_report(web_app)
    assert report.narrative == "字" * excel.NARRATIVE_LENGTH
    assert report.actions["1.police.1"]["note"] == "字" * excel.NOTE_LENGTH
