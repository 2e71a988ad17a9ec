"""The change feed's contract: what intake writes, kpi reads back, and nothing else."""

from __future__ import annotations

import datetime as dt

import pytest

from shared import changes

REPORT = changes.ReportChange(
    bureau="police",
    year=2022,
    quarter=2,
    status="submitted",
    narrative="本季依計畫辦理。",
    revision=3,
    event="submitted",
    submitted_at=dt.datetime(2022, 7, 5, 2, tzinfo=dt.UTC),
    reopened_at=None,
    updated_at=dt.datetime(2022, 7, 5, 2, tzinfo=dt.UTC),
    actions=(
        changes.ActionValues(
            action="1.police.1",
            values={"sessions": 3, "participants": 7},
            by_sex={"participants": changes.SexCounts(3, 4, 0)},
        ),
    ),
)
CASE = changes.CaseChange(
    "R-1", dt.date(2022, 1, 15), "secret_filming", (2, 5), "suspect", "male", "24-29", None, None, "banqiao"
)


@pytest.mark.parametrize("payload", [REPORT, CASE, changes.InstallationChange(None, "2022Q1")])
def test_what_intake_writes_kpi_reads_back_typed(payload):
    data = changes.write(payload)
    assert data["v"] == 1
    assert changes.read(payload.entity, data) == payload


def test_a_field_renamed_on_one_side_fails_loudly():
    data = changes.write(REPORT)
    data["state"] = data.pop("status")
    with pytest.raises(changes.ContractError, match=r"missing \['status'\], unexpected \['state'\]"):
        changes.read("report", data)


def test_a_wrong_type_or_a_newer_version_is_refused():
    data = changes.write(CASE)
    with pytest.raises(changes.ContractError, match="expected a list"):
        changes.read("case", {**data, "types": 2})
    with pytest.raises(changes.ContractError, match="version 2: this reader knows version 1"):
        changes.read("case", {**data, "v": 2})
    with pytest.raises(changes.ContractError, match="unknown kind"):
        changes.read("budget", data)


def test_a_payload_written_before_versions_reads_as_version_one():
    data = changes.write(CASE)
    del data["v"]
    assert changes.read("case", data) == CASE
