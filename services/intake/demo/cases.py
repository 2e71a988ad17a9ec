"""Anonymous case records drawn from the distributions, for the generator and the benchmarks."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import defaultdict
from collections.abc import Iterator

from services.intake.demo.distributions import Cell, Distributions, SeriesKey, apportion
from shared.demo_marks import DEMO_REF_PREFIX
from shared.periods import Quarter


def allocate_cases(
    distributions: Distributions,
    quarters: list[Quarter],
    count: int,
    rng: random.Random,
) -> dict[Quarter, list[tuple[SeriesKey, int]]]:
    """Share `count` records out over the series and quarters, in proportion to the expected persons:
    the trend in the trend years, then a yearly drift, split by season."""
    seasonality = distributions.assumptions["seasonality"]
    drift = distributions.assumptions["yearly_change_after_trends"]
    last_trend_year = distributions.trend_years[1]
    cells: list[tuple[SeriesKey, Quarter]] = []
    weights: list[float] = []
    for key in distributions.joints:
        expected = None
        for year in sorted({q.year for q in quarters}):
            expected = (
                distributions.expected(key, year)
                if year <= last_trend_year or expected is None
                else expected * (1 + rng.uniform(*drift))
            )
            for quarter in (q for q in quarters if q.year == year):
                cells.append((key, quarter))
                weights.append(expected * seasonality[quarter.quarter - 1])
    per_quarter: dict[Quarter, list[tuple[SeriesKey, int]]] = defaultdict(list)
    for (key, quarter), n in zip(cells, apportion(count, weights), strict=True):
        if n:
            per_quarter[quarter].append((key, n))
    return per_quarter


class CaseDrawer:
    """Draws anonymous case records from the distributions; needs no database."""

    def __init__(self, distributions: Distributions, seed: int):
        self.dist = distributions
        self.seed = seed
        assume = distributions.assumptions
        self._types = {
            category: (
                [tuple(o["types"]) for o in options],
                list(itertools.accumulate(o["weight"] for o in options)),
            )
            for category, options in assume["types"].items()
        }
        self._districts = list(assume["districts"])
        self._district_weights = list(itertools.accumulate(assume["districts"].values()))

    def records(
        self,
        quarter: Quarter,
        allocation: list[tuple[SeriesKey, int]],
        cells: dict[SeriesKey, list[Cell]] | None = None,
    ) -> Iterator[dict]:
        """A quarter's records: each drawn from its table's joint distribution unless `cells` gives
        its series' cells, with types and a district; the quarter has a random stream of its own, so
        quarters can be drawn in any order."""
        rng = random.Random(f"{self.seed}:cases:{quarter}")
        days = (quarter.end - quarter.start).days + 1
        number = 0
        for (category, role, sex), n in allocation:
            if cells and (category, role, sex) in cells:
                drawn = cells[(category, role, sex)]
            else:
                joint = self.dist.joints[(category, role, sex)]
                drawn = rng.choices(joint.cells, cum_weights=list(itertools.accumulate(joint.counts)), k=n)
            kinds = rng.choices(self._types[category][0], cum_weights=self._types[category][1], k=n)
            places = rng.choices(self._districts, cum_weights=self._district_weights, k=n)
            for (age_band, cause, relationship), kind, place in zip(drawn, kinds, places, strict=True):
                number += 1
                yield {
                    "ref": f"{DEMO_REF_PREFIX}{quarter}-{number:06d}",
                    "date": quarter.start + dt.timedelta(days=rng.randrange(days)),
                    "category": category,
                    "types": list(kind),
                    "role": role,
                    "sex": sex,
                    "age_band": age_band,
                    "cause": cause,
                    "relationship": relationship,
                    "district": place,
                }

    def sample(self, count: int, first: Quarter, last: Quarter) -> Iterator[dict]:
        """`count` records spread over the quarters first..last like the demo's (for benchmarks)."""
        quarters = list(itertools.takewhile(lambda q: q <= last, _quarters_from(first)))
        per_quarter = allocate_cases(self.dist, quarters, count, random.Random(f"{self.seed}:case-trends"))
        for quarter in quarters:
            yield from self.records(quarter, per_quarter.get(quarter, []))


def _quarters_from(first: Quarter) -> Iterator[Quarter]:
    quarter = first
    while True:
        yield quarter
        quarter = quarter.next()
