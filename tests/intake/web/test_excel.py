"""The Excel round trip: a pre-filled, protected template out; a checked draft back in, all or nothing."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from shared.catalog import default_catalog
from shared.periods import Quarter
from tests.intake.web.conftest import Q2, file_report, full_form, set_target, stored_report, text_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
POLICE_METRICS = sum(len(a.metrics) for a in default_catalog().actions_for("police"))
LAST_ROW = 6 + POLICE_METRICS
NARRATIVE_ROW = LAST_ROW + 2


def workbook(raw: bytes):
    return load_workbook(io.BytesIO(raw))["季報"]


def saved_bytes(ws) -> bytes:
    output = io.BytesIO()
    ws.parent.save(output)
    return output.getvalue()


def upload(person, raw: bytes, path=Q2, **fields):
    return person.post(path + "/xlsx", {"file": (io.BytesIO(raw), "季報.xlsx"), **fields})


def fill_values(ws, value: int) -> None:
    """Type `value` into every metric's cell: the value, or for a metric counted by sex `value`
    men and no women or others."""
    for row in range(7, LAST_ROW + 1):
        if ws[f"K{row}"].data_type == "f":
            ws[f"L{row}"], ws[f"M{row}"], ws[f"N{row}"] = value, 0, 0
        else:
            ws[f"K{row}"] = value


def upload_errors(response) -> list[str]:
    return re.findall(r"<li>(工作表「季報」[^<]+)</li>", text_of(response))


def outside(ref: str, value) -> str:
    return f"工作表「季報」儲存格 {ref}：這裡不是填寫欄位，「{value}」不會匯入：請填在黃色儲存格，或刪除後再上傳。"


def test_the_template_is_prefilled_with_actions_metrics_units_plans_and_values(signed_in, web_app, clock):
    set_target(web_app, "1.police.1", "sessions", 40)
    clock.set_taipei(2022, 4, 6, 9, 0)
    file_report(web_app, "police", Quarter(2022, 1), 12)
    clock.set_taipei(2022, 7, 5, 10, 0)
    police = signed_in("police")
    police.post(
        Q2, full_form("police", 3, intent="save", **{"note-1-police-1": "校園 3 場", "narrative": "綜合"})
    )
    download = police.get(Q2 + "/xlsx")
    assert download.status_code == 200
    assert download.mimetype == XLSX
    assert "filename*=UTF-8''police-2022Q2-" in download.headers["Content-Disposition"]
    ws = workbook(download.data)
    assert (ws["D2"].value, ws["D3"].value, ws["B3"].value, ws["B4"].value) == (
        "police",
        "2022Q2",
        "民國111年第2季",
        "111年7月10日",
    )
    assert [c.value for c in ws[7]][:15] == [
        "初級預防－多元推廣宣導策略",
        "1.police.1",
        default_catalog().action("1.police.1").text,
        "sessions",
        "辦理場次",
        "場次",
        40,
        12,
        "—",
        "—",
        3,
        "—",
        "—",
        "—",
        "校園 3 場",
    ]
    # Participants are counted by sex: the parts are typed, the total is a formula Excel computes.
    assert (ws["B8"].value, ws["D8"].value, ws["G8"].value) == ("1.police.1", "participants", "未設定")
    assert [ws[f"{column}8"].value for column in "LMN"] == [3, 0, 0]
    assert ws["K8"].value == '=IF(COUNT(L8:N8)=3,SUM(L8:N8),"")'
    caseload_row = next(row for row in range(7, LAST_ROW + 1) if ws[f"D{row}"].value == "cases_found")
    assert ws[f"G{caseload_row}"].value == "案件量，不設目標"
    assert ws[f"B{LAST_ROW}"].value == "3.police.2"
    assert ws[f"B{LAST_ROW + 1}"].value is None
    assert (ws[f"A{NARRATIVE_ROW}"].value, ws[f"B{NARRATIVE_ROW}"].value) == ("本季辦理情形綜合說明", "綜合")
    assert ws["R7"].value == "進度落後：辦理場次累計 15 場次，目標累計 20 場次"


def test_input_cells_are_marked_and_unlocked_and_the_rest_is_protected(signed_in):
    ws = workbook(signed_in("police").get(Q2 + "/xlsx").data)
    assert ws.protection.sheet is True
    # What the cells drawn from saved data showed, for comparing the upload with: out of sight.
    assert [(s.title, s.sheet_state) for s in ws.parent.worksheets] == [
        ("季報", "visible"),
        ("範本原值", "veryHidden"),
    ]
    for ref in ("K7", "L8", "M8", "N8", "O7", "P7", "Q7", f"B{NARRATIVE_ROW}"):
        assert ws[ref].protection.locked is False, ref
        assert ws[ref].fill.fgColor.rgb == "00FFF2CC", ref
    for ref in ("A7", "B7", "C7", "D7", "G7", "H7", "K8", "L7", "O8", "D2", "D3"):
        assert ws[ref].protection.locked is True, ref
        assert ws[ref].fill.fgColor.rgb != "00FFF2CC", ref
    validation = ws.data_validations.dataValidation[0]
    assert (validation.type, validation.formula1) == ("whole", "0")
    assert "K7" in str(validation.sqref)


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example","點我")', "+1+2", "-2+3", "@SUM(A1:A2)"])
def test_text_that_looks_like_a_formula_is_written_as_text(signed_in, text):
    police = signed_in("police")
    police.post(Q2, full_form("police", 1, intent="save", **{"note-1-police-1": text, "narrative": text}))
    raw = police.get(Q2 + "/xlsx").data
    ws = workbook(raw)
    for ref in ("O7", f"B{NARRATIVE_ROW}"):
        assert (ws[ref].value, ws[ref].data_type, ws[ref].quotePrefix) == (text, "s", True)
    sheet_xml = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet1.xml").decode()
    # The only formulas are the totals of the metrics counted by sex, none from typed text.
    formulas = re.findall(r"<f>([^<]*)</f>", sheet_xml)
    assert formulas and all(
        re.fullmatch(r'IF\(COUNT\(L\d+:N\d+\)=3,SUM\(L\d+:N\d+\),""\)', f) for f in formulas
    )


def test_a_changed_template_uploaded_from_the_page_is_saved_as_a_draft(signed_in, web_app):
    police = signed_in("police")
    ws = workbook(police.get(Q2 + "/xlsx").data)
    fill_values(ws, 2)
    ws["K7"] = 9
    ws["O7"] = "以 Excel 填寫"
    ws[f"B{NARRATIVE_ROW}"] = "本季由 Excel 匯入。"
    done = upload(police, saved_bytes(ws))
    assert done.status_code == 303
    assert "已匯入 Excel 並儲存" in text_of(police.get(Q2))
    report = stored_report(web_app)
    assert report.status == "draft"
    assert report.actions["1.police.1"] == {
        "values": {"sessions": 9, "participants": 2},
        "by_sex": {"participants": {"male": 2, "female": 0, "other": 0}},
        "note": "以 Excel 填寫",
        "delay_reason": None,
        "countermeasure": None,
    }
    assert report.narrative == "本季由 Excel 匯入。"


def test_wrong_cells_reject_the_whole_upload_naming_sheet_cell_and_problem(signed_in, web_app):
    police = signed_in("police")
    police.post(Q2, full_form("police", 1, intent="save"))
    ws = workbook(police.get(Q2 + "/xlsx").data)
    ws["K7"] = "三場"
    ws["M8"] = -4
    ws["K9"] = "=1+1"
    ws["K10"] = 2.5
    ws["K12"] = True
    ws["B13"] = "9.police.9"
    ws["O7"] = "=A1"
    refused = upload(police, saved_bytes(ws))
    assert refused.status_code == 422
    assert upload_errors(refused) == [
        "工作表「季報」儲存格 K7：應為數值，不可填入文字（「三場」）。",
        "工作表「季報」儲存格 O7：不可使用公式，請直接填入文字。",
        "工作表「季報」儲存格 M8：不可為負數（-4）。",
        "工作表「季報」儲存格 K9：不可使用公式，請直接填入數值。",
        "工作表「季報」儲存格 K10：應為整數，不可有小數（2.5）。",
        "工作表「季報」儲存格 K12：應為數值，不可為 TRUE/FALSE。",
        "工作表「季報」儲存格 B13：作法編號應為「1.police.4」，檔案中為「9.police.9」：請勿變更、插入或刪除列。",
    ]
    assert "Excel 未匯入" in text_of(refused)
    assert stored_report(web_app).revision == 1  # nothing saved


@pytest.mark.parametrize(
    "ref",
    [
        f"A{NARRATIVE_ROW + 2}",
        f"K{NARRATIVE_ROW + 2}",
        "S7",
        f"K{LAST_ROW + 1}",
        "O8",
        f"C{NARRATIVE_ROW}",
        "BZ1000",
    ],
    ids=[
        "below the table",
        "below the values",
        "right of the last column",
        "the empty row above the narrative",
        "the locked note of a second metric",
        "beside the narrative",
        "the last cell a workbook may use",
    ],
)
def test_a_value_typed_outside_the_input_cells_refuses_the_file_naming_the_cell(signed_in, web_app, ref):
    police = signed_in("police")
    ws = workbook(police.get(Q2 + "/xlsx").data)
    fill_values(ws, 2)
    if ref == f"C{NARRATIVE_ROW}":  # typing beside the narrative needs its merged cell split first
        ws.unmerge_cells(f"B{NARRATIVE_ROW}:R{NARRATIVE_ROW}")
    ws[ref] = 12
    refused = upload(police, saved_bytes(ws))
    assert refused.status_code == 422
    assert upload_errors(refused) == [outside(ref, 12)]
    assert stored_report(web_app) is None


@pytest.mark.parametrize("ref", ["XFD1048576", "CA7", "A1001"])
def test_a_value_typed_beyond_the_cells_a_workbook_may_use_names_the_cell_and_the_limit(
    signed_in, web_app, ref
):
    police = signed_in("police")
    ws = workbook(police.get(Q2 + "/xlsx").data)
    fill_values(ws, 2)
    ws[ref] = 12
    refused = upload(police, saved_bytes(ws))
    assert refused.status_code == 422
    assert (
        f"檔案超過上限：工作表「季報」儲存格 {ref} 超出可用的範圍 A1:BZ1000（最多 1,000 列、78 欄）。"
        "請重新下載範本，填寫後再上傳。"
    ) in text_of(refused)
    assert stored_report(web_app) is None


@pytest.mark.parametrize(
    ("ref", "value", "message"),
    [
        ("G7", 99, "年度目標應為「未設定」，檔案中為「99」：受保護的儲存格不可變更。"),
        ("H7", 5, "第1季應為「—」，檔案中為「5」：受保護的儲存格不可變更。"),
        ("L7", 3, "其中男應為「—」，檔案中為「3」：受保護的儲存格不可變更。"),
        ("K8", 7, "合計由其中男、女、其他或不詳自動計算，不可變更：請填寫其中男、女、其他或不詳。"),
        ("R7", "已完成", "這裡不是填寫欄位，「已完成」不會匯入：請填在黃色儲存格，或刪除後再上傳。"),
        ("A6", "類別", "應為「方案」，檔案中為「類別」：受保護的儲存格不可變更。"),
        (f"A{NARRATIVE_ROW}", None, "應為「本季辦理情形綜合說明」，檔案中為「」：受保護的儲存格不可變更。"),
    ],
)
def test_a_changed_fixed_cell_refuses_the_file_naming_the_cell(signed_in, web_app, ref, value, message):
    police = signed_in("police")
    ws = workbook(police.get(Q2 + "/xlsx").data)
    fill_values(ws, 2)
    ws[ref] = value
    refused = upload(police, saved_bytes(ws))
    assert refused.status_code == 422
    assert upload_errors(refused) == [f"工作表「季報」儲存格 {ref}：{message}"]
    assert stored_report(web_app) is None


@pytest.mark.parametrize(
    ("change", "row", "what"),
    [
        (lambda ws: ws.insert_rows(9), 9, "多了一列"),
        (lambda ws: ws.delete_rows(9), 9, "少了一列"),
        (lambda ws: ws.insert_rows(12, amount=3), 12, "多了 3 列"),
        (lambda ws: ws.delete_rows(LAST_ROW), LAST_ROW, "少了一列"),
        (lambda ws: ws.delete_rows(LAST_ROW + 1), LAST_ROW + 1, "少了一列"),
        (lambda ws: ws.insert_rows(2), 2, "多了一列"),
    ],
    ids=[
        "inserted",
        "deleted",
        "three inserted",
        "the last deleted",
        "the empty row deleted",
        "above the codes",
    ],
)
def test_an_inserted_or_deleted_row_is_named_once(signed_in, web_app, change, row, what):
    police = signed_in("police")
    ws = workbook(police.get(Q2 + "/xlsx").data)
    fill_values(ws, 2)
    change(ws)
    refused = upload(police, saved_bytes(ws))
    assert refused.status_code == 422
    assert upload_errors(refused) == [
        f"工作表「季報」第 {row} 列：{what}：請勿插入或刪除列，請重新下載範本後再填寫。"
    ]
    assert stored_report(web_app) is None


def test_a_file_downloaded_before_the_data_changed_is_compared_with_what_it_showed(signed_in, web_app, clock):
    set_target(web_app, "1.police.1", "sessions", 40)
    clock.set_taipei(2022, 4, 6, 9, 0)
    file_report(web_app, "police", Quarter(2022, 1), 12)
    clock.set_taipei(2022, 7, 5, 10, 0)
    police = signed_in("police")
    police.post(Q2, full_form("police", 3, intent="save"))
    ws = workbook(police.get(Q2 + "/xlsx").data)
    # Since the download the draft was saved again and the target revised: the plan and the
    # progress the file shows are no longer today's, and that is no reason to refuse it.
    police.post(Q2, full_form("police", 30, intent="save"))
    set_target(web_app, "1.police.1", "sessions", 60)
    today = workbook(police.get(Q2 + "/xlsx").data)
    assert (today["G7"].value, ws["G7"].value) == (60, 40)
    assert today["R7"].value != ws["R7"].value
    ws["K7"] = 9
    assert upload(police, saved_bytes(ws)).status_code == 303
    assert stored_report(web_app).actions["1.police.1"]["values"]["sessions"] == 9
    # A file without the hidden record of what it showed is compared with today's data.
    del ws.parent["範本原值"]
    refused = upload(police, saved_bytes(ws))
    assert (
        "工作表「季報」儲存格 G7：年度目標應為「60」，檔案中為「40」：受保護的儲存格不可變更。"
        in upload_errors(refused)
    )


def test_another_bureaus_or_quarters_workbook_is_refused(signed_in, web_app):
    other = workbook(signed_in("coordinator").get("/reports/education/2022/2/xlsx").data)
    refused = upload(signed_in("police"), saved_bytes(other))
    assert refused.status_code == 422
    assert upload_errors(refused) == [
        "工作表「季報」儲存格 D2：機關代碼應為「police」（警察局），檔案中為「education」：這不是本季本機關的報表。"
    ]
    earlier = workbook(signed_in("police").get("/reports/police/2022/3/xlsx").data)
    refused = upload(signed_in("police"), saved_bytes(earlier))
    assert "期別代碼應為「2022Q2」" in upload_errors(refused)[0]
    assert stored_report(web_app) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not a spreadsheet", "無法讀取檔案：請上傳由本系統下載的 Excel 檔（.xlsx）。"),
        (None, "檔案超過上限：解壓後 60.0 MB，上限 8.0 MB。請重新下載範本，填寫後再上傳。"),
    ],
)
def test_files_that_are_not_our_workbook_are_refused(signed_in, web_app, raw, message):
    if raw is None:  # a small zip that would unpack to 60 MB
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))
        raw = buffer.getvalue()
    refused = upload(signed_in("police"), raw)
    assert refused.status_code == 422
    assert message in text_of(refused)
    assert stored_report(web_app) is None


def test_an_upload_without_a_file_is_named_beside_the_file_input(signed_in):
    police = signed_in("police")
    refused = police.post(Q2 + "/xlsx", {})
    assert refused.status_code == 422
    assert '<p class="field-error" id="file-error">請選擇要上傳的 Excel 檔（.xlsx）。</p>' in text_of(refused)


def test_uploading_after_submission_amends_and_needs_a_reason(signed_in, web_app):
    police = signed_in("police")
    police.post(Q2, full_form("police", 2, intent="submit"))
    ws = workbook(police.get(Q2 + "/xlsx").data)
    ws["K7"] = 5
    refused = upload(police, saved_bytes(ws))
    assert refused.status_code == 422
    assert "報告已送出，以 Excel 修正時必須填寫修正原因。" in text_of(refused)
    assert stored_report(web_app).actions["1.police.1"]["values"]["sessions"] == 2
    amended = upload(police, saved_bytes(ws), reason="依 Excel 更正")
    assert amended.status_code == 303
    report = stored_report(web_app)
    assert (report.status, report.revisions[-1].event, report.revisions[-1].reason) == (
        "submitted",
        "amended",
        "依 Excel 更正",
    )


def test_only_the_bureau_uploads_and_only_its_own_report(signed_in, web_app):
    raw = signed_in("police").get(Q2 + "/xlsx").data
    assert upload(signed_in("coordinator"), raw).status_code == 403
    assert upload(signed_in("education"), raw, path="/reports/police/2022/2").status_code == 404
    assert signed_in("education").get(Q2 + "/xlsx").status_code == 404


# -- the same round trip through the API -------------------------------------------------
API = "/api/v1/reports/police/2022/2/xlsx"


def test_the_api_serves_the_template_to_readers(api):
    download = api.get("police", API)
    assert download.status_code == 200
    assert download.mimetype == XLSX
    assert workbook(download.data)["D2"].value == "police"
    assert api.get("coordinator", API).status_code == 200
    assert api.get("education", API).status_code == 404
    assert api.get("police", "/api/v1/reports/police/2022/7/xlsx").status_code == 404


def test_the_api_takes_an_upload_as_a_draft(api):
    ws = workbook(api.get("police", API).data)
    fill_values(ws, 1)
    saved = api.post("police", API, data={"file": (io.BytesIO(saved_bytes(ws)), "report.xlsx")})
    assert saved.status_code == 200
    assert saved.json["status"] == "draft"
    assert saved.json["actions"][0]["values"] == {"sessions": 1, "participants": 1}
    submitted = api.post("police", "/api/v1/reports/police/2022/2/submit")
    assert submitted.json["status"] == "submitted"
    ws["K7"] = 4
    amended = api.post(
        "police", API, data={"file": (io.BytesIO(saved_bytes(ws)), "report.xlsx"), "reason": "更正場次"}
    )
    assert amended.status_code == 200
    assert api.get("police", "/api/v1/reports/police/2022/2").json["history"][-1]["event"] == "amended"


def test_the_api_refuses_a_wrong_cell_as_a_problem_naming_it(api):
    ws = workbook(api.get("police", API).data)
    ws["L8"] = "n/a"
    refused = api.post("police", API, data={"file": (io.BytesIO(saved_bytes(ws)), "report.xlsx")})
    assert refused.status_code == 422
    assert refused.content_type == "application/problem+json"
    assert refused.json["errors"] == {"季報!L8": ["應為數值，不可填入文字（「n/a」）。"]}
    assert "工作表「季報」儲存格 L8" in refused.json["detail"]
    assert api.get("police", "/api/v1/reports/police/2022/2").status_code == 404


def test_the_api_names_an_inserted_row_once_and_the_problems_above_it(api):
    ws = workbook(api.get("police", API).data)
    ws["K7"] = -1
    ws.insert_rows(12)
    refused = api.post("police", API, data={"file": (io.BytesIO(saved_bytes(ws)), "report.xlsx")})
    assert refused.status_code == 422
    assert refused.json["errors"] == {
        "季報!K7": ["不可為負數（-1）。"],
        "季報!12:12": ["多了一列：請勿插入或刪除列，請重新下載範本後再填寫。"],
    }
    assert "工作表「季報」第 12 列：多了一列" in refused.json["detail"]


def test_the_api_upload_needs_a_multipart_file(api):
    assert api.post("police", API, json={}).status_code == 415
    missing = api.post("police", API, data={"reason": "x"}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert missing.json["errors"]["files"]["file"] == ["Missing data for required field."]
    unknown = api.post("police", API, data={"file": (io.BytesIO(b"x"), "a.xlsx"), "other": "y"})
    assert unknown.status_code == 422
