"""Tables 1-3 of the plan, reproduced cell by cell from anonymous case records."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

import openpyxl
import pytest

from services.intake import demo
from services.kpi import tables
from shared.catalog import default_catalog
from shared.db import Database
from shared.numbers import share_pct

CATALOG = default_catalog()

# 表一 近二年新北市妨害秘密(偷拍行為)案犯罪原因—年齡別 (單位：人、%), as printed in the plan.
TABLE_1 = """
犯罪原因別	總計	17歲以下	18-23歲	24-29歲	30-39歲	40-49歲	50-59歲	60歲以上
女性總計	36	-	2	2	12	8	4	8
構成比	100.00	-	5.56	5.56	33.33	22.22	11.11	22.22
無故	14	-	-	1	2	3	3	5
故意	5	-	1	-	3	1	-	-
曲解法令(觀念錯誤)	4	-	-	-	2	-	-	2
貪心謀財或投機圖利	3	-	-	-	3	-	-	-
口角、一時衝動	3	-	-	-	-	2	-	1
其他(含不明)	7	-	1	1	2	2	1	-
男性總計	195	5	30	46	56	31	21	6
構成比	100.00	2.56	15.38	23.59	28.72	15.90	10.77	3.08
情慾衝動	55	3	12	19	12	5	4	-
貪心謀財或投機圖利	30	-	3	6	11	5	5	-
無故	22	-	2	4	6	3	6	1
曲解法令(觀念錯誤)	21	-	7	5	5	2	1	1
口角、仇恨、尋仇、報復、一時衝動	18	-	1	3	4	4	2	4
好奇(好玩)	16	2	2	4	6	2	-	-
故意	16	-	3	3	5	3	2	-
其他(含不明)	17	-	-	2	7	7	1	-
"""

# 表二 近二年新北市妨害秘密(偷拍行為)案被害人與嫌疑人關係 (單位：人、%).
TABLE_2 = """
年齡別	總計	陌生	認識	配偶、同居、家屬、親戚	鄰居	朋友	其他(含不詳)
女性總計	181	86	32	20	19	13	11
構成比	100.00	47.51	17.68	11.05	10.50	7.18	6.08
17歲以下	11	8	-	2	-	-	1
18-23歲	46	20	13	3	5	3	2
24-29歲	40	18	8	3	2	7	2
30-39歲	52	29	8	5	8	-	2
40-49歲	24	7	3	6	2	3	3
50-59歲	6	4	-	-	1	-	1
60歲以上	2	-	-	1	1	-	-
男性總計	61	20	14	6	12	5	4
構成比	100.00	32.79	22.95	9.84	19.67	8.20	6.56
17歲以下	2	1	-	-	-	-	1
18-23歲	1	-	1	-	-	-	-
24-29歲	15	7	4	1	-	1	2
30-39歲	15	5	2	2	4	2	-
40-49歲	12	4	2	1	2	2	1
50-59歲	9	2	1	1	5	-	-
60歲以上	7	1	4	1	1	-	-
"""

# 表三 近二年新北市妨害風化(散播販賣陳覽猥褻物品)案犯罪原因—年齡別 (單位：人、%).
TABLE_3 = """
犯罪原因別	總計	17歲以下	18-23歲	24-29歲	30-39歲	40-49歲	50-59歲	60歲以上
女性總計	9	-	2	1	1	4	1	-
構成比	100.00	-	22.22	11.11	11.11	44.44	11.11	-
貪心謀財或投機圖利	4	-	-	-	-	4	-	-
家庭(感情)糾紛	2	-	-	1	-	-	1	-
情慾衝動	1	-	1	-	-	-	-	-
故意	1	-	1	-	-	-	-	-
不明	1	-	-	-	1	-	-	-
男性總計	41	2	10	7	9	10	2	1
構成比	100.00	4.88	24.39	17.07	21.95	24.39	4.88	2.44
貪心謀財或投機圖利	16	1	4	1	3	6	1	-
情慾衝動	7	-	3	2	1	-	-	1
故意	5	-	1	3	1	-	-	-
曲解法令(觀念錯誤)	3	-	1	-	1	1	-	-
口角、一時衝動含看不順眼	2	-	1	-	-	1	-	-
好奇(好玩)	2	1	-	-	1	-	-	-
家庭(感情)糾紛	2	-	-	-	1	-	1	-
無故	2	-	-	1	-	1	-	-
不明	2	-	-	-	1	1	-	-
"""


def rows_of(printed: str) -> list[list[str]]:
    return [line.split("\t") for line in printed.strip().splitlines()]


def records_behind(printed: str, category: str, role: str, prefix: str) -> list[dict]:
    """Case records whose counts are the printed table's cells (2020 and 2021 alternately)."""
    header, *rows = rows_of(printed)
    bands = {band.label: band.id for band in CATALOG.age_bands}
    codes = {code.label: code.id for code in (CATALOG.causes if role == "suspect" else CATALOG.relationships)}
    records, sex = [], None
    for label, _total, *cells in rows:
        if label.endswith("總計"):
            sex = "female" if label.startswith("女") else "male"
            continue
        if label == "構成比":
            continue
        for column, cell in zip(header[2:], cells, strict=True):
            count = 0 if cell == "-" else int(cell)
            for _ in range(count):
                record = {
                    "ref": f"{prefix}-{len(records):04d}",
                    "date": f"{2020 + len(records) % 2}-0{1 + len(records) % 9}-15",
                    "category": category,
                    "role": role,
                    "sex": sex,
                }
                if role == "suspect":  # rows are causes, columns age bands
                    record |= {"cause": codes[label], "age_band": bands[column]}
                else:  # rows are age bands, columns relationships
                    record |= {"age_band": bands[label], "relationship": codes[column]}
                records.append(record)
    return records


def records_outside_the_tables() -> list[dict]:
    """Records that must not count: other years, another category."""
    base = {"role": "suspect", "sex": "male", "age_band": "30-39", "cause": "greed"}
    return [
        {**base, "ref": "OUT-1", "date": "2019-12-31", "category": "secret_filming"},
        {**base, "ref": "OUT-2", "date": "2022-01-01", "category": "secret_filming"},
        {**base, "ref": "OUT-3", "date": "2021-05-01", "category": "defamation"},
        {**base, "ref": "OUT-4", "date": "2021-05-01", "category": "obscene_distribution", "sex": "female"}
        | {"date": "2018-05-01"},
    ]


@pytest.fixture
def seed_cases(intake, kpi):
    """The case records behind Tables 1-3, uploaded to intake in random order and synced."""
    records = (
        records_behind(TABLE_1, "secret_filming", "suspect", "T1")
        + records_behind(TABLE_2, "secret_filming", "victim", "T2")
        + records_behind(TABLE_3, "obscene_distribution", "suspect", "T3")
        + records_outside_the_tables()
    )
    random.Random(3).shuffle(records)  # the order of the rows must come from the counts
    assert intake.cases(records)["created"] == 36 + 195 + 181 + 61 + 9 + 41 + 4
    assert kpi.sync().ok
    return kpi


def csv_rows(kpi, kind: str, category: str, exact: bool = True) -> list[list[str]]:
    """The table as the statistics unit downloads it: exact (as it publishes it) or by default."""
    response = kpi.get(
        "statistics",
        f"/api/v1/tables/{kind}?from_year=2020&to_year=2021&category={category}&format=csv"
        + ("&exact=true" if exact else ""),
    )
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_the_three_seed_tables_are_reproduced_cell_by_cell(seed_cases):
    assert csv_rows(seed_cases, "suspects", "secret_filming") == rows_of(TABLE_1)
    assert csv_rows(seed_cases, "victims", "secret_filming") == rows_of(TABLE_2)
    assert csv_rows(seed_cases, "suspects", "obscene_distribution") == rows_of(TABLE_3)


def test_the_demo_datas_records_of_109_and_110_are_the_three_seed_tables(intake_db_url, intake, kpi):
    # The demo data generator deals the printed cells out to its records of 2020 and 2021.
    database = Database(intake_db_url)
    try:
        demo.generate(database, CATALOG, until=dt.date(2022, 7, 1))
    finally:
        database.dispose()
    assert kpi.sync().ok
    assert csv_rows(kpi, "suspects", "secret_filming") == rows_of(TABLE_1)
    assert csv_rows(kpi, "victims", "secret_filming") == rows_of(TABLE_2)
    assert csv_rows(kpi, "suspects", "obscene_distribution") == rows_of(TABLE_3)


def test_the_json_form_has_numbers_and_the_verbatim_labels(seed_cases):
    table = seed_cases.json(
        "statistics", "/api/v1/tables/suspects?from_year=2020&to_year=2021&category=secret_filming&exact=1"
    )
    assert table["title"] == "民國109年至110年新北市妨害秘密(偷拍行為)案犯罪原因—年齡別"
    assert (table["unit"], table["label_header"]) == ("人、%", "犯罪原因別")
    assert table["columns"] == rows_of(TABLE_1)[0][1:]
    female_total, female_share, first_cause = table["rows"][:3]
    assert female_total == {
        "label": "女性總計",
        "row_type": "total",
        "sex": "female",
        "code": None,
        "values": [36, 0, 2, 2, 12, 8, 4, 8],
        "suppressed": [False] * 8,
    }
    assert table["disclosure"] == {"exact": True, "min_cell": None, "suppressed_cells": 0, "note": None}
    assert female_share["values"] == [100.0, 0.0, 5.56, 5.56, 33.33, 22.22, 11.11, 22.22]
    assert (first_cause["label"], first_cause["code"], first_cause["values"][0]) == ("無故", "no_reason", 14)


def test_the_xlsx_form_shows_the_same_cells(seed_cases):
    response = seed_cases.get(
        "admin",
        "/api/v1/tables/victims?from_year=2020&to_year=2021&category=secret_filming&format=xlsx&exact=true",
    )
    assert response.status_code == 200
    assert 'filename="victims_secret_filming_2020-2021.xlsx"' in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    assert sheet["A1"].value == "民國109年至110年新北市妨害秘密(偷拍行為)案被害人與嫌疑人關係"
    assert sheet["A2"].value == "單位：人、%"

    def shown(cell) -> str:
        """What Excel displays: shares with the sheet's two-decimal format."""
        if cell.number_format == "0.00":
            return f"{cell.value:.2f}"
        return str(cell.value)

    assert [[shown(cell) for cell in row] for row in sheet.iter_rows(min_row=3)] == rows_of(TABLE_2)


NOTE = "說明：x 表示不陳示。為保護被害人，未滿3人之格，及可由總計與同列或同欄其他格推算之格，均不陳示。"


def test_by_default_a_table_withholds_small_counts_and_what_would_give_them_away(seed_cases):
    for printed, kind, category in (
        (TABLE_1, "suspects", "secret_filming"),
        (TABLE_2, "victims", "secret_filming"),
        (TABLE_3, "suspects", "obscene_distribution"),
    ):
        header, *rows, note = csv_rows(seed_cases, kind, category, exact=False)
        assert header == rows_of(printed)[0]
        assert note == [NOTE]
        for row, exact in zip(rows, rows_of(printed)[1:], strict=True):
            assert row[0] == exact[0]
            for shown, value in zip(row[1:], exact[1:], strict=True):
                assert shown in ("x", value)  # a value is withheld or shown as printed ...
                assert shown not in ("1", "2")  # ... and never 1 or 2
    header, women, shares = csv_rows(seed_cases, "suspects", "obscene_distribution", exact=False)[:3]
    assert women == ["女性總計", "9", "-", "x", "x", "x", "x", "x", "-"]
    assert shares == ["構成比", "100.00", "-", "x", "x", "x", "x", "x", "-"]


def test_a_withheld_value_is_null_and_flagged_in_json_and_marked_in_xlsx(seed_cases):
    path = "/api/v1/tables/suspects?from_year=2020&to_year=2021&category=obscene_distribution"
    table = seed_cases.json("statistics", path)
    women = table["rows"][0]
    assert women["values"] == [9, 0, None, None, None, None, None, 0]
    assert women["suppressed"] == [False, False, True, True, True, True, True, False]
    assert table["disclosure"] == {
        "exact": False,
        "min_cell": 3,
        "suppressed_cells": sum(row["suppressed"].count(True) for row in table["rows"]),
        "note": NOTE,
    }
    sheet = openpyxl.load_workbook(
        io.BytesIO(seed_cases.get("service", path + "&format=xlsx").get_data())
    ).active
    assert [cell.value for cell in sheet[4]] == ["女性總計", 9, "-", "x", "x", "x", "x", "x", "-"]
    assert sheet.cell(sheet.max_row, 1).value == NOTE


def test_exact_tables_are_for_the_statistics_unit_and_admins_who_ask(seed_cases):
    path = "/api/v1/tables/types?from_year=2020&to_year=2021"
    for who in ("statistics", "admin"):
        assert seed_cases.json(who, path + "&exact=true")["disclosure"]["exact"] is True, who
        assert seed_cases.json(who, path)["disclosure"]["exact"] is False, who
    refused = seed_cases.get("service", path + "&exact=true")
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"
    assert "exact=true" in refused.json["detail"]
    assert seed_cases.get("service", path).status_code == 200


def test_the_latest_two_years_are_the_default_span(seed_cases):
    # The records reach into 2022 (one outside the printed tables), so 近二年 is 2021-2022 here.
    table = seed_cases.json("statistics", "/api/v1/tables/suspects?category=secret_filming")
    assert (table["from_year"], table["to_year"]) == (2021, 2022)
    later = seed_cases.json("statistics", "/api/v1/tables/suspects?from_year=2024")
    assert (later["from_year"], later["to_year"], later["rows"][0]["values"][0]) == (2024, 2024, 0)
    assert (
        seed_cases.get("statistics", "/api/v1/tables/suspects?to_year=2010&from_year=2011").status_code == 422
    )
    assert (
        seed_cases.get("statistics", "/api/v1/tables/suspects?from_year=2023&to_year=2022").status_code == 422
    )


def test_only_roles_that_may_read_case_records_get_the_tables(seed_cases):
    path = "/api/v1/tables/suspects?category=secret_filming"
    for who in ("admin", "statistics", "service"):
        assert seed_cases.get(who, path).status_code == 200, who
    for who in ("viewer", "coordinator", "police"):
        refused = seed_cases.get(who, path)
        assert refused.status_code == 403, who
        assert refused.content_type == "application/problem+json"


def test_unknown_kinds_categories_and_parameters_are_refused(seed_cases):
    assert seed_cases.get("statistics", "/api/v1/tables/districts").status_code == 404
    assert seed_cases.get("statistics", "/api/v1/tables/suspects?category=theft").status_code == 404
    assert seed_cases.get("statistics", "/api/v1/tables/suspects?format=pdf").status_code == 422
    assert (
        seed_cases.get("statistics", "/api/v1/tables/suspects?from_year=2021&to_year=2020").status_code == 422
    )


def test_a_span_ending_in_roc_year_1_has_no_year_before_it(seed_cases):
    empty = seed_cases.get("statistics", "/api/v1/tables/suspects?to_year=1912")
    assert empty.status_code == 200
    assert empty.json["from_year"] == empty.json["to_year"] == 1912


# -- the rules of the layout, on cells counted directly -------------------------------------
def suspects(**attributes) -> dict:
    return {
        "year": 2021,
        "category": "secret_filming",
        "role": "suspect",
        "relationship": None,
        "types": [],
    } | attributes


class Record:
    def __init__(self, **attributes):
        self.__dict__.update(attributes)


def table_of(kind: str, records: list[dict], category="secret_filming") -> list[list[str]]:
    cells, type_cells = tables.count_cells(Record(**r) for r in records)
    return tables.build(kind, CATALOG, cells, type_cells, category, 2021, 2021).text_rows()


def test_ties_follow_the_catalog_order_and_residual_causes_come_last_whatever_their_count():
    records = (
        [suspects(sex="male", age_band="18-23", cause="other_unknown")] * 5
        + [suspects(sex="male", age_band="18-23", cause="intentional")] * 2
        + [suspects(sex="male", age_band="18-23", cause="curiosity")] * 2
        + [suspects(sex="male", age_band="18-23", cause=None)]  # unrecorded: counted as 其他(含不明)
    )
    labels = [row[0] for row in table_of("suspects", records)]
    assert labels == [
        "犯罪原因別",
        "女性總計",
        "構成比",
        "男性總計",
        "構成比",
        "好奇(好玩)",
        "故意",
        "其他(含不明)",
    ]
    rows = table_of("suspects", records)
    assert rows[1] == ["女性總計", "-", "-", "-", "-", "-", "-", "-", "-"]
    assert rows[2] == ["構成比", "-", "-", "-", "-", "-", "-", "-", "-"]
    assert rows[-1] == ["其他(含不明)", "6", "-", "6", "-", "-", "-", "-", "-"]


def test_shares_are_rounded_half_up_where_python_rounds_to_even():
    # 1 of 800 is 0.125%: half-up gives 0.13, Python's round gives 0.12.
    assert round(1 / 800 * 100, 2) == 0.12
    assert share_pct(1, 800) == Decimal("0.13")
    # 107 of 4000 is 2.675%: the float is just under it, so round() gives 2.67.
    assert round(107 / 4000 * 100, 2) == 2.67
    assert share_pct(107, 4000) == Decimal("2.68")
    assert share_pct(0, 0) is None

    records = [suspects(sex="female", age_band="0-17", cause="no_reason")] + [
        suspects(sex="female", age_band="30-39", cause="no_reason")
    ] * 799
    share_row = table_of("suspects", records)[2]
    assert share_row == ["構成比", "100.00", "0.13", "-", "-", "99.88", "-", "-", "-"]  # 99.875 -> 99.88


def test_the_types_table_counts_each_type_of_a_record_by_role_and_sex():
    records = [
        suspects(sex="male", age_band="24-29", cause="greed", types=[2, 5]),
        suspects(sex="female", age_band="24-29", cause="greed", types=[2]),
        {**suspects(sex="female", age_band="24-29", cause=None, types=[2, 3]), "role": "victim"},
        suspects(sex="male", age_band="24-29", cause="greed", types=[10], category="defamation"),
    ]
    rows = table_of("types", records)
    assert rows[0] == [
        "類型別",
        "嫌疑人總計",
        "嫌疑人女性",
        "嫌疑人男性",
        "被害人總計",
        "被害人女性",
        "被害人男性",
    ]
    assert rows[2] == ["2.惡意或未經同意散布與性/性別有關個人私密資料", "2", "1", "1", "1", "1", "-"]
    assert rows[3] == ["3.網路性騷擾", "-", "-", "-", "1", "1", "-"]
    assert rows[5] == ["5.性勒索", "1", "-", "1", "-", "-", "-"]
    assert rows[10] == ["10.偽造或冒用身分", "-", "-", "-", "-", "-", "-"]  # another category
    everything = tables.build(
        "types", CATALOG, *tables.count_cells(Record(**r) for r in records), None, 2021, 2021
    )
    assert everything.text_rows()[10][1] == "1"
