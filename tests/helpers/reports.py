"""Report bodies as the API takes them: a value for each metric, people counted by sex."""

from __future__ import annotations

import datetime as dt

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
