"""The three outcome indicators against their goal: 3% (the catalog's reduction) below the baseline year.

Everything here is plain arithmetic on quarterly counts, so it can be checked by hand:

- baseline = the sum of the baseline year's four quarters (missing quarter: `no_baseline`);
- target = baseline x (1 - reduction);
- for the latest quarter q of the year such that quarters 1..q all have counts:
  ytd_actual = the year's quarters 1..q, baseline_ytd = the baseline year's quarters 1..q,
  ytd_target = baseline_ytd x (1 - reduction) (the same season of the baseline year);
- change_pct = (ytd_actual / baseline_ytd - 1) x 100;
- status: on_track if ytd_actual <= ytd_target, at_risk if ytd_target < ytd_actual <= baseline_ytd,
  off_track if ytd_actual > baseline_ytd, no_data before the first quarter; met/missed at year end;
- projection = ytd_actual x baseline / baseline_ytd (the year-end count if the rest of the year
  follows the baseline's season).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from services.kpi.numbers import HUNDRED, half_up
from shared.catalog import Catalog, Indicator

ON_TRACK, AT_RISK, OFF_TRACK = "on_track", "at_risk", "off_track"
NO_DATA, NO_BASELINE = "no_data", "no_baseline"
MET, MISSED = "met", "missed"
STATUSES = (ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA, NO_BASELINE, MET, MISSED)
QUARTERS = (1, 2, 3, 4)


def baseline_year_of(catalog: Catalog, year: int) -> int:
    """The plan's baseline year for its target year; the year before for any other year."""
    return catalog.plan.baseline_year if year == catalog.plan.target_year else year - 1


def _factor(indicator: Indicator) -> Decimal:
    change = Decimal(indicator.reduction)
    return Decimal(1) - change if indicator.direction == "decrease" else Decimal(1) + change


def _sum(counts: Mapping[int, int | None], quarters) -> int | None:
    values = [counts.get(q) for q in quarters]
    return None if any(v is None for v in values) else sum(values)


def _latest_quarter(counts: Mapping[int, int | None]) -> int | None:
    """The latest q such that quarters 1..q all have counts."""
    latest = None
    for quarter in QUARTERS:
        if counts.get(quarter) is None:
            break
        latest = quarter
    return latest


def _status(indicator: Indicator, actual: int, ytd_target: Decimal, baseline_ytd: int, year_end: bool) -> str:
    better_or_equal = (lambda a, b: a <= b) if indicator.direction == "decrease" else (lambda a, b: a >= b)
    if year_end:
        return MET if better_or_equal(actual, ytd_target) else MISSED
    if better_or_equal(actual, ytd_target):
        return ON_TRACK
    if better_or_equal(actual, baseline_ytd):
        return AT_RISK
    return OFF_TRACK


def assess(
    indicator: Indicator, year: int, baseline_year: int, counts: Mapping[tuple[int, int], int]
) -> dict:
    """The indicator's standing in `year`; `counts` maps (year, quarter) to the quarter's count."""
    factor = _factor(indicator)
    current = {q: counts.get((year, q)) for q in QUARTERS}
    base = {q: counts.get((baseline_year, q)) for q in QUARTERS}
    baseline = _sum(base, QUARTERS)
    latest = _latest_quarter(current)
    to_date = QUARTERS[:latest] if latest else ()
    ytd_actual = _sum(current, to_date) if latest else None
    baseline_ytd = _sum(base, to_date) if latest else None
    ytd_target = baseline_ytd * factor if baseline_ytd is not None else None

    change_pct = projection = None
    if ytd_actual is not None and baseline_ytd:
        change_pct = half_up((Decimal(ytd_actual) / Decimal(baseline_ytd) - 1) * HUNDRED)
        if baseline is not None:
            projection = half_up(Decimal(ytd_actual) * baseline / Decimal(baseline_ytd))

    if baseline is None:
        status = NO_BASELINE
    elif latest is None:
        status = NO_DATA
    else:
        status = _status(indicator, ytd_actual, ytd_target, baseline_ytd, year_end=latest == 4)

    return {
        "indicator": indicator.id,
        "name": indicator.name,
        "year": year,
        "baseline_year": baseline_year,
        "baseline": baseline,
        "target": baseline * factor if baseline is not None else None,
        "latest_quarter": latest,
        "ytd_actual": ytd_actual,
        "baseline_ytd": baseline_ytd,
        "ytd_target": ytd_target,
        "change_pct": change_pct,
        "status": status,
        "projection": projection,
        "quarters": [
            {
                "quarter": q,
                "count": current[q],
                "baseline_count": base[q],
                "seasonal_target": base[q] * factor if base[q] is not None else None,
            }
            for q in QUARTERS
        ],
    }


def assess_all(
    catalog: Catalog, year: int, counts: Mapping[str, Mapping[tuple[int, int], int]]
) -> list[dict]:
    """Every indicator of the catalog in `year`, in catalog order."""
    baseline_year = baseline_year_of(catalog, year)
    return [assess(i, year, baseline_year, counts.get(i.id, {})) for i in catalog.indicators]
