"""Report bodies as the API takes them: a value for each metric, people counted by sex."""

from __future__ import annotations

from shared.catalog import Action


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
