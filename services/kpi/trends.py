"""Trends over the years, as the plan's text states them.

- The compound annual growth rate (年增率) from year a to year b:
  ((count_b / count_a) ^ (1 / (b - a)) - 1) x 100, in percent, two decimals half-up
  ("年增率為 10.28%").
- The male/female ratio of each year and its range over the span ("4.21 倍至 8.13 倍").

The counts by sex are counts of case records: under the small-cell rule (services/kpi/disclosure.py)
a small one is withheld (null), and so are the ratio and the growth rate it would give away.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext

from shared.catalog import Catalog, Disclosure, Indicator
from shared.numbers import HUNDRED, half_up
from shared.rules import is_small_cell


def cagr_pct(first: int | None, last: int | None, years: int) -> Decimal | None:
    """The compound annual growth rate in percent; None without two positive endpoints."""
    if not first or last is None or years <= 0 or first < 0:
        return None
    if last == 0:
        return Decimal("-100.00")
    with localcontext() as context:
        context.prec = 40
        growth = (Decimal(last) / Decimal(first)) ** (Decimal(1) / Decimal(years))
        return half_up((growth - 1) * HUNDRED)


def times(numerator: int | None, denominator: int | None) -> Decimal | None:
    """How many times the denominator the numerator is (倍), two decimals half-up."""
    if numerator is None or not denominator:
        return None
    return half_up(Decimal(numerator) / Decimal(denominator))


def _range(values: list[Decimal | None]) -> dict | None:
    known = [v for v in values if v is not None]
    return {"min": min(known), "max": max(known)} if known else None


def trend(
    indicator: Indicator,
    yearly: Mapping[int, int | None],
    by_sex: Mapping[str, Mapping[int, int]],
    from_year: int,
    to_year: int,
    disclosure: Disclosure | None = None,
) -> dict:
    """The indicator's yearly counts, growth rates and male/female ratios from from_year to to_year.

    `yearly` holds the indicator's counts (None for a year with a missing quarter); `by_sex`
    the case records' counts of the indicator's category and role per sex and year, shown under
    the small-cell rule `disclosure` (None: exact).
    """
    span = to_year - from_year
    years = []
    for year in range(from_year, to_year + 1):
        counts = {sex: by_sex.get(sex, {}).get(year, 0) for sex in ("male", "female")}
        withheld = [sex for sex, n in counts.items() if disclosure and is_small_cell(n, disclosure)]
        shown = {sex: None if sex in withheld else n for sex, n in counts.items()}
        years.append(
            {
                "year": year,
                "count": yearly.get(year),
                **shown,
                "male_female_ratio": times(shown["male"], shown["female"]),
                "suppressed": withheld,
            }
        )
    return {
        "indicator": indicator.id,
        "name": indicator.name,
        "category": indicator.category,
        "role": indicator.role,
        "sex": indicator.sex,
        "from_year": from_year,
        "to_year": to_year,
        "years": years,
        "growth_rate_pct": cagr_pct(yearly.get(from_year), yearly.get(to_year), span),
        "growth_rate_pct_by_sex": {
            sex: cagr_pct(years[0][sex], years[-1][sex], span) for sex in ("male", "female")
        },
        "male_female_ratio_range": _range([y["male_female_ratio"] for y in years]),
        "disclosure": {
            "exact": disclosure is None,
            "min_cell": disclosure.min_cell if disclosure else None,
            "suppressed_cells": sum(len(y["suppressed"]) for y in years),
        },
    }


def default_span(catalog: Catalog, current_year: int) -> tuple[int, int]:
    """From the plan's first year of history to the last full year before the current one."""
    first = catalog.plan.history_first_year
    return first, max(first, current_year - 1)


def indicator_trend(
    indicator: Indicator,
    outcome_counts: list[dict],
    case_years: dict | None,
    from_year: int,
    to_year: int,
    disclosure: Disclosure | None,
) -> dict:
    """`trend` from the snapshot's sections: the indicator's `outcomes` (a year counts once its four
    quarters are in) and the `case_years` of its category, of its role."""
    quarters: dict[int, dict[int, int]] = {}
    for c in outcome_counts:
        quarters.setdefault(c["year"], {})[c["quarter"]] = c["count"]
    yearly = {year: sum(q.values()) if len(q) == 4 else None for year, q in quarters.items()}
    by_role = (case_years or {}).get(indicator.role, {})
    by_sex = {sex: {int(year): n for year, n in years.items()} for sex, years in by_role.items()}
    return trend(indicator, yearly, by_sex, from_year, to_year, disclosure)
