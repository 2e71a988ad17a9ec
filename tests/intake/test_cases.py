"""Anonymous case records: bulk uploads that are all or nothing, idempotent by reference, and free of PII."""

from __future__ import annotations

import logging

import pytest

from tests.helpers.databases import inserts_refused

CASES = "/api/v1/cases"


def record(ref: str, **overrides) -> dict:
    base = {
        "ref": ref,
        "date": "2021-03-04",
        "category": "secret_filming",
        "types": [2, 3],
        "role": "suspect",
        "sex": "male",
        "age_band": "24-29",
        "cause": "sexual_impulse",
        "district": "banqiao",
    }
    return {**base, **overrides}


def stored(api) -> list[dict]:
    return api.get("statistics", CASES + "?limit=1000").json


def test_a_batch_of_ten_thousand_records_is_stored_in_one_request(api):
    records = [record(f"NTPC-{i:05d}", sex="female" if i % 3 else "male") for i in range(10_000)]
    response = api.post("statistics", CASES, json={"records": records})
    assert response.status_code == 200
    assert response.json == {"received": 10_000, "created": 10_000, "updated": 0, "unchanged": 0}
    assert len(api.get("statistics", CASES + "?limit=1000&after_id=9000").json) == 1000


def test_re_uploading_a_reference_updates_it_and_never_duplicates(api):
    api.post("statistics", CASES, json={"records": [record("R-1"), record("R-2")]})
    again = api.post("statistics", CASES, json={"records": [record("R-1", age_band="30-39"), record("R-2")]})
    assert again.json == {"received": 2, "created": 0, "updated": 1, "unchanged": 1}
    rows = stored(api)
    assert [(r["ref"], r["age_band"]) for r in rows] == [("R-1", "30-39"), ("R-2", "24-29")]


def test_an_age_is_turned_into_its_band_and_not_kept(api):
    api.post(
        "statistics", CASES, json={"records": [record("R-1", age_band=None, age=17) | {"age_band": "0-17"}]}
    )
    api.post(
        "statistics",
        CASES,
        json={"records": [{k: v for k, v in record("R-2", age=60).items() if k != "age_band"}]},
    )
    rows = stored(api)
    assert [r["age_band"] for r in rows] == ["0-17", "60+"]
    assert "age" not in rows[0]


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("ref", "A123456789", "national ID"),
        ("ref", "f212345678", "national ID"),
        ("ref", "0912-345-678", "mobile phone"),
        ("ref", "0912345678", "mobile phone"),
        ("ref", "+886912345678", "mobile phone"),
        ("ref", "02-2960-3456", "telephone"),
        ("ref", "victim@example.com", "e-mail"),
        ("district", "A223456789", "national ID"),
        ("name", "王小明 0912345678", "mobile phone"),
    ],
)
def test_anything_that_looks_like_personal_data_rejects_the_whole_upload(api, field, value, kind):
    records = [record("OK-1"), record("OK-2"), {**record("OK-3"), field: value}]
    response = api.post("statistics", CASES, json={"records": records})
    assert response.status_code == 422
    assert f"Row 3, field '{field}'" in response.json["detail"]
    assert kind in response.json["detail"]
    assert stored(api) == []


def test_references_and_dates_that_merely_contain_digits_are_not_mistaken_for_pii(api):
    records = [record("NTPC-111-0001"), record("DEMO-2022Q1-000123"), record("B12-3456", date="2016-01-01")]
    assert api.post("statistics", CASES, json={"records": records}).status_code == 200


@pytest.mark.parametrize(
    "ref",
    [
        "R-2022-0001",  # 8 digits in a row: an ID or a phone number could hide in such a run
        "N-12345678",
        "case:2021/05/0001",
        "2022-0001",
        "NTPC--1",
        "NTPC-",
        "A B",
        "x" * 33,
        "x" * 64 + "\n",
    ],
)
def test_refs_outside_the_documented_pattern_are_refused_and_named(api, ref):
    response = api.post("statistics", CASES, json={"records": [record(ref)]})
    assert response.status_code == 422
    assert "at most 7 digits in a row" in str(response.json["errors"]["json"]["records"]["0"]["ref"])
    assert stored(api) == []


def test_a_long_ref_with_a_line_break_is_a_clear_422_on_every_database(api):
    for body in (
        {"records": [record("X" * 64 + "\n")]},
        {"records": [record("R-1"), record(" " * 10 + "X" * 40)]},
    ):
        response = api.post("statistics", CASES, json=body)
        assert response.status_code == 422
        assert response.content_type == "application/problem+json"
    csv = (
        "ref,date,category,role,sex,age_band\n"
        + "X" * 64
        + "Y,2021-01-02,secret_filming,suspect,male,30-39\n"
    )
    assert api.post("statistics", CASES + "/csv", data=csv, content_type="text/csv").status_code == 422
    assert stored(api) == []


def test_refs_are_trimmed_so_x_and_x_with_a_line_break_are_one_record(api):
    assert api.post("statistics", CASES, json={"records": [record("X")]}).json["created"] == 1
    again = api.post("statistics", CASES, json={"records": [record("X\n", age_band="30-39")]})
    assert again.json == {"received": 1, "created": 0, "updated": 1, "unchanged": 0}
    twice = api.post("statistics", CASES, json={"records": [record(" X"), record("X\t")]})
    assert twice.status_code == 422
    assert "appears twice" in str(twice.json["errors"])
    assert [(r["ref"], r["age_band"]) for r in stored(api)] == [("X", "30-39")]


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31", "2015-12-31", "2022-07-07"])
def test_case_dates_outside_the_plans_years_or_in_the_future_are_refused(api, clock, date):
    clock.set_taipei(2022, 7, 6, 4, 0)  # still 5 July in UTC
    for response in (
        api.post("statistics", CASES, json={"records": [record("R-1", date=date)]}),
        api.post(
            "statistics",
            CASES + "/csv",
            data=f"ref,date,category,role,sex,age_band\nR-1,{date},secret_filming,suspect,male,30-39\n",
            content_type="text/csv",
        ),
    ):
        assert response.status_code == 422
        errors = next(iter(response.json["errors"].values()))
        assert errors["date"] == [
            "Must be from 2016-01-01 to 2022-07-06: the plan's years, up to today (Asia/Taipei)."
        ]
    assert stored(api) == []


def test_case_dates_from_the_plans_first_year_to_today_in_taipei_are_accepted(api, clock):
    clock.set_taipei(2022, 7, 6, 4, 0)
    records = [record("R-1", date="2016-01-01"), record("R-2", date="2022-07-06")]
    assert api.post("statistics", CASES, json={"records": records}).status_code == 200


def test_an_upload_with_one_bad_record_saves_nothing_and_names_the_row(api):
    records = [
        record("R-1"),
        record("R-2", cause="jealousy"),
        record("R-3", role="victim", relationship="stranger"),
    ]
    response = api.post("statistics", CASES, json={"records": records})
    assert response.status_code == 422
    assert response.json["errors"]["2"]["cause"] == ["Unknown code 'jealousy'."]
    assert response.json["errors"]["3"]["cause"] == ["Only suspects have a cause."]
    assert stored(api) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"types": [11]},
        {"sex": "unknown"},
        {"age_band": "25-30"},
        {"age": 131},
        {"date": "2021-02-30"},
        {"category": "theft"},
        {"phone": "x"},
        {"ref": ""},
        {"ref": "   "},
        {"ref": "x" * 65},
    ],
)
def test_invalid_fields_are_refused(api, bad):
    response = api.post("statistics", CASES, json={"records": [record("R-1") | bad]})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert stored(api) == []


def test_csv_uploads_name_the_csv_row_and_are_all_or_nothing(api):
    good = (
        "ref,date,category,types,role,sex,age,cause,relationship,district\n"
        "C-1,2021-01-02,secret_filming,2;3,suspect,male,25,sexual_impulse,,banqiao\n"
        "C-2,2021-01-03,secret_filming,,victim,female,31,,stranger,\n"
    )
    response = api.post("statistics", CASES + "/csv", data=good.encode("utf-8-sig"), content_type="text/csv")
    assert response.json == {"received": 2, "created": 2, "updated": 0, "unchanged": 0}
    assert [(r["ref"], r["age_band"], r["types"]) for r in stored(api)] == [
        ("C-1", "24-29", [2, 3]),
        ("C-2", "30-39", []),
    ]

    bad = good.replace("C-1,", "C-3,").replace("C-2,2021-01-03", "C-4,2021-13-03")
    refused = api.post("statistics", CASES + "/csv", data=bad, content_type="text/csv")
    assert refused.status_code == 422
    assert "row 3" in refused.json["detail"]
    assert refused.json["errors"]["3"]["date"]
    assert len(stored(api)) == 2


def test_csv_upload_as_a_file_and_its_refusals(api):
    import io

    csv_text = (
        "ref,date,category,role,sex,age_band\nF-1,2021-01-02,obscene_distribution,suspect,female,40-49\n"
    )
    ok = api.post("statistics", CASES + "/csv", data={"file": (io.BytesIO(csv_text.encode()), "cases.csv")})
    assert ok.status_code == 200
    assert api.post("statistics", CASES + "/csv", data="x", content_type="application/xml").status_code == 415
    assert (
        api.post("statistics", CASES + "/csv", data=b"\xff\xfe", content_type="text/csv").status_code == 422
    )
    unknown = api.post("statistics", CASES + "/csv", data="ref,date,name\n", content_type="text/csv")
    assert "Unknown CSV columns: name" in unknown.json["detail"]


def test_a_csv_file_retried_with_its_idempotency_key_gets_the_first_answer_whatever_the_boundary(api):
    """A form is sent with a new multipart boundary on every try: the key compares what it carries."""
    csv_text = "ref,date,category,role,sex,age_band\nF-1,2021-01-02,secret_filming,suspect,male,40-49\n"

    def send(boundary: str, text: str = csv_text):
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cases.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n{text}\r\n--{boundary}--\r\n"
        )
        return api.post(
            "statistics",
            CASES + "/csv",
            data=body.encode(),
            content_type=f"multipart/form-data; boundary={boundary}",
            headers={"Idempotency-Key": "csv-batch-7"},
        )

    first = send("first-try-boundary")
    assert first.json == {"received": 1, "created": 1, "updated": 0, "unchanged": 0}
    retry = send("second-try-boundary")
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json == first.json
    other = send("third-try-boundary", csv_text.replace("F-1", "F-2"))
    assert other.status_code == 422  # the same key for another file


@pytest.mark.parametrize("who", ["viewer", "coordinator", "police", "service"])
def test_case_records_are_written_only_by_statistics_and_admin(api, who):
    assert api.post(who, CASES, json={"records": [record("R-1")]}).status_code == 403


@pytest.mark.parametrize("who", ["viewer", "coordinator", "police"])
def test_case_records_never_reach_viewers_coordinators_or_bureaus(api, who):
    api.post("statistics", CASES, json={"records": [record("R-1")]})
    assert api.get(who, CASES).status_code == 403
    assert api.get(who, "/api/v1/changes").status_code == 403
    assert api.get("service", CASES).status_code == 200


def test_case_records_never_reach_a_log_line(api, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    sentinel = "SENTINEL-CASE-7391"
    api.post("statistics", CASES, json={"records": [record(sentinel)]})
    api.post("statistics", CASES, json={"records": [record(sentinel, cause="jealousy")]})  # refused
    api.get("statistics", CASES)
    assert caplog.records
    assert not [r for r in caplog.records if sentinel in f"{r.getMessage()} {r.__dict__}"]


def test_a_database_error_during_an_upload_puts_no_case_record_in_the_logs(api, intake_db_url, caplog):
    """The database refuses the write; neither the logs (at DEBUG, where SQLAlchemy echoes its
    statements) nor the answer repeat a ref, district or cause of the batch."""
    caplog.set_level(logging.DEBUG)
    records = [record(f"LEAKCHECK-{i:03d}", district="sanxia", cause="quarrel_revenge") for i in range(20)]
    with inserts_refused(intake_db_url, "case_records"):
        refused = api.post("statistics", "/api/v1/cases", json={"records": records})
        refused_csv = api.post(
            "statistics",
            "/api/v1/cases/csv",
            data="ref,date,category,types,role,sex,age_band,cause,district\n"
            + "".join(
                f"LEAKCHECK-C{i},2021-03-04,secret_filming,2,suspect,male,24-29,quarrel_revenge,sanxia\n"
                for i in range(5)
            ),
            content_type="text/csv",
        )
    for response in (refused, refused_csv):
        assert response.status_code in (409, 500)  # SQLite: a constraint; PostgreSQL: an error
        assert "LEAKCHECK" not in response.get_data(as_text=True)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.__dict__}" for r in caplog.records)
    for value in ("LEAKCHECK", "sanxia", "quarrel_revenge"):
        assert value not in logged, value
    if refused.status_code == 500:  # the error was logged, in words that quote nothing
        assert "inserts are refused here" in logged
    assert stored(api) == []
