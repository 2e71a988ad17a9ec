"""The personal-data screen: IDs and phone numbers in disguise never get into a case record or a report,
and ordinary report text with numbers is not mistaken for them."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake import personal_data
from services.intake.cases import REF_MAX_LENGTH, REF_PATTERN
from tests.intake.conftest import full_report
from tests.intake.test_cases import CASES, record, stored

Q2 = "/api/v1/reports/police/2022/2"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
# Anything people put between the digits of one number: spacing (also full-width and zero-width),
# dashes, dots, slashes, underscores, brackets. List and sentence punctuation (，、；。： , ; :) ends a
# number instead (personal_data.py).
SPACING = " \u3000\t\n"
SEPARATORS = SPACING + "\u200b-－–—.．_/／\\()（）[]·~*#+'\""
FIELD_OF = {"narrative": "綜合說明", "note": "1.police.1 備註", "delay_reason": "1.police.1 落後原因"}

# Ordinary report text with dates, counts, amounts, times and public hotlines.
ORDINARY_TEXTS = [
    "111年7月10日於板橋區辦理校園宣導3場次，計1,234人次參加（男600人、女634人）。",
    "宣導內容包含1999市民專線、113保護專線、110報案專線及165反詐騙專線。",
    "男性關懷專線0800-013-999，24小時提供諮詢。",
    "110年共辦理12場，111年1至6月已辦理15場，較去年同期增加25%。",
    "活動時間09:00-12:00，地點：新北市政府行政大樓3樓301會議室。",
    "2022-07-10、2022/7/12及111.07.15各辦理一場，每場2小時。",
    "活動期間111.09.12-111.12.31，2022-09-12 09:00-12:00開幕。",
    "本季經費新臺幣1,023,456元，執行率98.5%。",
    "依計畫第3點第2項辦理，第1季至第2季累計480人，達成率103%。",
    "資訊局通過ISO 27001:2013資訊安全管理驗證，並於A1棟設置服務台。",
    "受理案件數：妨害秘密23件、散播猥褻物品7件，合計30件；另轉介社會局4案。",
]
# Personal data as the adversarial pass stored it through `ref`.
DISGUISED_REFS = [
    ("NTPCA123456789", "national ID"),
    ("2024A123456789", "national ID"),
    ("A_123456789", "national ID"),
    ("A1234.56789", "national ID"),
    ("0912.345.678", "mobile phone"),
    ("0912_345_678", "mobile phone"),
    ("0912/345/678", "mobile phone"),
    ("00886912345678", "mobile phone"),
    ("02.2960.3456", "telephone"),
]


# -- what disguised personal data looks like ---------------------------------------------------------
def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=count, max_size=count)


national_ids = st.builds(
    lambda letter, second, digits: letter + second + digits,
    st.sampled_from(LETTERS),
    st.sampled_from("1289ABCD"),  # national IDs: 1 or 2; resident certificates: 8, 9 (new), A-D (old)
    _digits(8),
)
mobiles = st.builds(
    lambda prefix, digits: prefix + "9" + digits,
    st.sampled_from(["0", "+886", "00886", "886", "+886(0)"]),
    _digits(8),
)


def _landline(prefixes: list[str], *lengths: int) -> st.SearchStrategy[str]:
    return st.builds(
        lambda prefix, digits: prefix + digits, st.sampled_from(prefixes), st.one_of(*map(_digits, lengths))
    )


# Taipei 02 + 8 digits; Taichung 04 + 7 or 8, Nantou 049 + 7; elsewhere 9 digits in all.
landlines = st.one_of(
    _landline(["02", "(02)", "+886 2", "00886-2"], 8),
    _landline(["04", "(04)"], 7, 8),
    _landline(["049"], 7),
    _landline(["03", "05", "06", "07", "(07)", "08"], 7),
    _landline(["037", "082", "089"], 6),
    _landline(["0826", "0836"], 5),
)
phones = st.one_of(mobiles, landlines)


def _full_width(character: str) -> str:
    return chr(ord(character) + 0xFEE0) if "!" <= character <= "~" else character


@st.composite
def disguised(draw, numbers, *, stuck_on: str, kept_apart: str = "") -> str:
    """A number with separators anywhere, characters full-width or not, letters in either case, and
    `stuck_on` characters (letters, digits) around it: directly, or after spacing for those
    `kept_apart` (digits stuck on a phone number make another number, not a disguise)."""
    number = draw(numbers)
    written = []
    for index, character in enumerate(number):
        if draw(st.booleans()):
            character = character.lower()
        if draw(st.booleans()):
            character = _full_width(character)
        written.append(character)
        if index < len(number) - 1:
            written.append(draw(st.text(SEPARATORS, max_size=3)))
    around = st.text(stuck_on, max_size=4)
    before, after = draw(around), draw(around)
    if before and before[-1] in kept_apart:
        before += draw(st.text(SPACING, min_size=1, max_size=2))
    if after and after[0] in kept_apart:
        after = draw(st.text(SPACING, min_size=1, max_size=2)) + after
    return before + "".join(written) + after


disguised_ids = disguised(national_ids, stuck_on=LETTERS + LETTERS.lower() + DIGITS)
disguised_phones = disguised(phones, stuck_on=LETTERS + LETTERS.lower() + DIGITS, kept_apart=DIGITS)
disguised_personal_data = st.one_of(disguised_ids, disguised_phones)
in_a_sentence = st.builds(
    lambda before, value, after: before + value + after,
    st.sampled_from(["", "聯絡人", "被害人身分證：", "請撥打"]),
    disguised_personal_data,
    st.sampled_from(["", "。", "，已轉介。", "（本人）"]),
)


def _longest_digit_run(ref: str) -> int:
    return max((len(run) for run in re.findall(r"[0-9]+", ref.replace("-", ""))), default=0)


# Refs of the documented pattern (README, "Case records"): letters, digits and single hyphens,
# starting with a letter, at most 32 characters and at most 7 digits in a row.
valid_refs = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,7}(-[A-Za-z0-9]{1,8}){0,3}", fullmatch=True).filter(
    lambda ref: len(ref) <= REF_MAX_LENGTH and _longest_digit_run(ref) <= 7
)


# -- the screen --------------------------------------------------------------------------------------
@settings(max_examples=1000, deadline=None)
@given(st.one_of(disguised_personal_data, in_a_sentence))
def test_no_disguised_id_or_phone_number_gets_past_the_screen(text):
    assert personal_data.find(text) is not None


@settings(max_examples=300, deadline=None)
@given(valid_refs)
def test_refs_of_the_documented_pattern_are_never_taken_for_personal_data(ref):
    assert REF_PATTERN.fullmatch(ref)
    assert personal_data.find(ref) is None


@pytest.mark.parametrize("text", ORDINARY_TEXTS)
def test_ordinary_report_text_with_numbers_is_not_personal_data(text):
    assert personal_data.find(text) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Ａ１２３４５６７８９", personal_data.NATIONAL_ID),
        ("ｆ２１２-３４５-６７８", personal_data.NATIONAL_ID),
        ("０９１２　３４５　６７８", personal_data.MOBILE),
        ("0912\u200b345\u200b678", personal_data.MOBILE),
        ("電話(02)2960-3456轉123", personal_data.TELEPHONE),
        ("+886 2 2960 3456", personal_data.TELEPHONE),
        ("12 0912-345-678", personal_data.MOBILE),
        ("victim＠example.com", personal_data.EMAIL),
    ],
)
def test_the_screen_names_what_it_found(text, kind):
    assert personal_data.find(text) == kind


def test_texts_screened_together_are_screened_as_if_each_were_alone():
    assert personal_data.find_in({"ref": "R-2022", "district": "-0912-345-678"}) == personal_data.MOBILE
    assert personal_data.find_in(["0912", "345678"]) is None  # two values make no number together


# -- through the API, on each database ------------------------------------------------------------------
@pytest.mark.parametrize(("ref", "kind"), DISGUISED_REFS)
def test_the_disguised_refs_once_stored_are_refused(api, ref, kind):
    response = api.post("statistics", CASES, json={"records": [record("NTPC-111-0001"), record(ref)]})
    assert response.status_code == 422
    assert f"Row 2, field 'ref' looks like a {kind}" in response.json["detail"]
    assert ref not in response.get_data(as_text=True)
    assert stored(api) == []


def test_a_field_named_with_personal_data_is_refused_without_repeating_it(api):
    response = api.post("statistics", CASES, json={"records": [record("R-1") | {"0912-345-678": "x"}]})
    assert response.status_code == 422
    assert "Row 1, a field name looks like a mobile phone number" in response.json["detail"]
    assert "0912-345-678" not in response.get_data(as_text=True)


# Examples share one app: every upload and save below is refused, so nothing accumulates between them.
through_the_app = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@through_the_app
@given(disguised_personal_data)
def test_no_disguised_id_or_phone_number_is_stored_as_a_ref(api, ref):
    response = api.post("statistics", CASES, json={"records": [record(ref)]})
    assert response.status_code == 422
    assert stored(api) == []


@through_the_app
@given(in_a_sentence, st.sampled_from(sorted(FIELD_OF)))
def test_no_disguised_id_or_phone_number_is_saved_in_a_report(api, text, field):
    body = full_report("police", 1)
    if field == "narrative":
        body["narrative"] = text
    else:
        body["actions"][0][field] = text
    response = api.put("police", Q2, json=body)
    assert response.status_code == 422
    assert FIELD_OF[field] in response.json["detail"]
    assert text.strip() not in response.get_data(as_text=True)
    assert api.get("police", Q2).status_code == 404


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(valid_refs)
def test_refs_of_the_documented_pattern_are_stored(api, ref):
    response = api.post("statistics", CASES, json={"records": [record(ref)]})
    assert response.status_code == 200, response.json


def test_ordinary_report_text_is_saved(api):
    body = full_report("police", 1, note=ORDINARY_TEXTS[1], delay_reason=ORDINARY_TEXTS[2])
    body["narrative"] = "\n".join(ORDINARY_TEXTS)
    assert api.put("police", Q2, json=body).status_code == 200
    assert api.post("police", Q2 + "/submit").status_code == 200
    assert api.post("coordinator", Q2 + "/return", json={"comment": ORDINARY_TEXTS[4]}).status_code == 200


PHONE = "0912 345 678"


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("narrative", "綜合說明"),
        ("note", "1.police.1 備註"),
        ("delay_reason", "1.police.1 落後原因"),
        ("countermeasure", "1.police.1 因應對策"),
    ],
)
def test_a_report_text_with_personal_data_is_refused_naming_the_field(api, field, label):
    body = full_report("police", 1)
    if field == "narrative":
        body["narrative"] = f"聯絡人手機{PHONE}"
        path = ["narrative"]
    else:
        body["actions"][0][field] = f"聯絡人手機{PHONE}"
        path = ["actions", "1.police.1", field]
    response = api.put("police", Q2, json=body)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    errors = response.json["errors"]
    for key in path:
        errors = errors[key]
    assert errors == [f"{label} looks like a mobile phone number: remove personal data."]
    assert label in response.json["detail"]
    assert PHONE not in response.get_data(as_text=True)
    assert api.get("police", Q2).status_code == 404


def test_amend_return_and_reopen_texts_are_screened_too(api):
    api.put("police", Q2, json=full_report("police", 1))
    api.post("police", Q2 + "/submit")
    before = api.get("coordinator", Q2).json["revision"]
    refusals = {
        "修正原因": api.put("police", Q2, json={**full_report("police", 2), "reason": f"承辦人{PHONE}"}),
        "退回意見": api.post("coordinator", Q2 + "/return", json={"comment": "請洽A123456789"}),
        "重新開放原因": api.post("coordinator", Q2 + "/reopen", json={"reason": "請洽02-2960-3456"}),
        "落後原因": api.patch(
            "police",
            Q2,
            json={"reason": "補充", "actions": {"1.police.1": {"delay_reason": "0912.345.678"}}},
            content_type="application/merge-patch+json",
        ),
    }
    for label, response in refusals.items():
        assert response.status_code == 422, label
        assert label in response.json["detail"]
    assert refusals["退回意見"].json["errors"] == {
        "comment": ["退回意見 looks like a national ID or resident certificate number: remove personal data."]
    }
    assert list(refusals["落後原因"].json["errors"]["actions"]) == ["1.police.1"]
    assert api.get("coordinator", Q2).json["revision"] == before
