"""Personal data typed into a page or a workbook is refused, naming the field in Chinese and never
showing the value back outside the input it was typed into."""

from __future__ import annotations

import re

from shared.periods import Quarter
from tests.intake.web.conftest import Q2, field_errors, file_report, full_form, stored_report, text_of
from tests.intake.web.test_excel import NARRATIVE_ROW, fill_values, saved_bytes, upload, workbook

PHONE = "0912 345 678"
REFUSED = "疑似含有手機號碼。報告不可含個人資料，請刪除後再送出（數字之間的空白或符號不影響判斷；日期請寫成「111年7月10日」）。"


def summary(response) -> list[str]:
    """The problems listed at the top of the page."""
    return re.findall(r'<li><a href="#[^"]+">([^<]+)</a></li>', text_of(response))


def test_personal_data_in_the_report_form_is_named_beside_its_field_and_nothing_is_saved(signed_in, web_app):
    police = signed_in("police")
    form = full_form(
        "police", 1, intent="save", narrative=f"聯絡人{PHONE}", **{"note-1-police-1": "身分證A123456789"}
    )
    refused = police.post(Q2, form)
    assert refused.status_code == 422
    assert field_errors(refused) == {
        "narrative": [REFUSED],
        "note-1-police-1": [REFUSED.replace("手機號碼", "身分證統一編號或居留證號碼")],
    }
    assert summary(refused) == [
        "綜合說明：" + REFUSED,
        "1.police.1 備註：" + REFUSED.replace("手機號碼", "身分證統一編號或居留證號碼"),
    ]
    assert stored_report(web_app) is None


def test_ordinary_text_with_dates_and_hotlines_is_saved_from_the_form(signed_in, web_app):
    narrative = "111年7月10日辦理宣導3場次，計1,234人參加，並宣導1999及113保護專線。"
    assert (
        signed_in("police").post(Q2, full_form("police", 1, intent="save", narrative=narrative)).status_code
        == 303
    )
    assert stored_report(web_app).narrative == narrative


def test_a_return_comment_or_reopen_reason_with_personal_data_is_refused_beside_it(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 4)
    coordinator = signed_in("coordinator")
    returned = coordinator.post(Q2 + "/return", {"comment": f"請聯絡{PHONE}"})
    assert returned.status_code == 422
    assert field_errors(returned) == {"comment": [REFUSED]}
    assert summary(returned) == ["退回意見：" + REFUSED]
    reopened = coordinator.post(Q2 + "/reopen", {"reason": f"承辦人{PHONE}"})
    assert reopened.status_code == 422
    assert summary(reopened) == ["重新開放原因：" + REFUSED]
    report = stored_report(web_app)
    assert (report.status, report.revision, report.reopened_at) == ("submitted", 2, None)


def test_personal_data_in_an_uploaded_workbook_is_refused_naming_the_field(signed_in, web_app):
    police = signed_in("police")
    ws = workbook(police.get(Q2 + "/xlsx").data)
    fill_values(ws, 2)
    ws[f"B{NARRATIVE_ROW}"] = f"聯絡人{PHONE}"
    refused = upload(police, saved_bytes(ws))
    assert refused.status_code == 422
    html = text_of(refused)
    assert "上傳的 Excel 含有疑似個人資料，未儲存任何資料" in html
    assert f"<li>綜合說明：{REFUSED}</li>" in html
    assert PHONE not in html
    assert stored_report(web_app) is None
