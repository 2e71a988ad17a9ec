"""Report bodies as the API takes them: a value for each metric, people counted by sex."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import requests

from shared.catalog import Action
from shared.periods import Quarter


def metric_values(action: Action, value: int | None, overrides: dict | None = None) -> dict:
    """`values` and `by_sex` of one action: every metric `value` except those in `overrides`
    ({metric: value}); a metric counted by sex gets its whole value as men, so its derived total
    is the value asked for."""
    entry: dict = {"values": {}, "by_sex": {}}
    for metric in action.metrics:
        number = (overrides or {}).get(metric.id, value)
        if metric.by_sex:
            zero = None if number is None else 0
            entry["by_sex"][metric.id] = {"male": number, "female": zero, "other": zero}
        else:
            entry["values"][metric.id] = number
    return entry


_REPORT_WRITE = re.compile(r"^(.*/api/v1/reports/[^/]+/\d+/\d+)(/(submit|accept|return|reopen|xlsx))?$")


def read_before_write(method: str, path: str, headers: dict, etag_of: Callable[[str], str | None]) -> dict:
    """`headers` with the If-Match a careful client sends: the ETag of the report it writes, read just
    before (`etag_of(report_path)`), unless If-Match is already there or there is no report yet."""
    written = _REPORT_WRITE.match(path.split("?")[0])
    if not written or method.upper() not in ("PUT", "PATCH", "POST") or "If-Match" in headers:
        return headers
    etag = etag_of(written.group(1))
    return {**headers, "If-Match": etag} if etag else headers


def reopened_quarter(url: str, admin_headers: dict, bureau: str):
    """The quarter that has just ended (real clock), reopened for the bureau by an admin: it takes a
    report whatever the date (a quarter is submitted once it is over and locks 40 days later).
    Returns the quarter and its report's API path; the reopening is the report's first revision."""
    quarter = Quarter.containing(dt.date.today()).previous()
    path = f"{url}/api/v1/reports/{bureau}/{quarter.year}/{quarter.quarter}"
    reopened = requests.post(
        path + "/reopen", json={"reason": "測試：補登"}, headers=admin_headers, timeout=30
    )
    assert reopened.status_code == 200, reopened.text
    return quarter, path
