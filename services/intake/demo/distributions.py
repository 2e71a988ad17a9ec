"""The distributions file: Tables 1-3 and the yearly growth rates of the plan document, plus
labelled assumptions, read and checked against themselves and the catalog."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import marshmallow as ma
import yaml

from shared import rules as plan_rules
from shared.catalog import Catalog, flatten_messages

DISTRIBUTIONS_PATH = Path(__file__).with_name("demo_distributions.yaml")
# After the trend years the generator steers each indicator to one of these a year, a different one each.
STEERED_STATUSES = (plan_rules.ON_TRACK, plan_rules.AT_RISK, plan_rules.OFF_TRACK)
# libyaml's C loader where it is installed, as for the catalog: it parses several times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SeriesKey = tuple[str, str, str]  # (category, role, sex)
Cell = tuple[str, str | None, str | None]  # (age band, cause, relationship)


class DistributionsError(ValueError):
    """The distributions file cannot be read or does not agree with itself or the catalog."""

    def __init__(self, path, errors: dict[str, list[str]]):
        self.errors = errors
        details = "; ".join(f"{key}: {' '.join(texts)}" for key, texts in errors.items())
        super().__init__(f"invalid demo distributions {path}: {details}")


def _counts(**kwargs) -> ma.fields.List:
    return ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(min=0)), **kwargs)


def _span() -> ma.fields.List:
    return ma.fields.List(ma.fields.Float(), required=True, validate=ma.validate.Length(equal=2))


class _RowSchema(ma.Schema):
    total = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0))
    cells = _counts(required=True)


class _SexSchema(ma.Schema):
    total = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0))
    by_age = _counts()
    by_relationship = _counts()
    rows = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(_RowSchema), required=True)


class _TableSchema(ma.Schema):
    table = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["suspect", "victim"]))
    years = ma.fields.List(ma.fields.Integer(), required=True, validate=ma.validate.Length(min=1))
    sexes = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(["female", "male"])),
        values=ma.fields.Nested(_SexSchema),
        required=True,
    )


class _SeriesSchema(ma.Schema):
    category = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    sex = ma.fields.String(required=True)
    growth = ma.fields.Float(required=True, validate=ma.validate.Range(min=-0.9, max=5))


class _RatioSchema(ma.Schema):
    category = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    numerator = ma.fields.String(required=True)
    denominator = ma.fields.String(required=True)
    min = ma.fields.Float(required=True)
    max = ma.fields.Float(load_default=None)


class _TrendsSchema(ma.Schema):
    first_year = ma.fields.Integer(required=True)
    last_year = ma.fields.Integer(required=True)
    series = ma.fields.List(ma.fields.Nested(_SeriesSchema), required=True)
    ratios = ma.fields.List(ma.fields.Nested(_RatioSchema), load_default=list)


class _TypeOptionSchema(ma.Schema):
    types = ma.fields.List(ma.fields.Integer(), required=True, validate=ma.validate.Length(min=1))
    weight = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, min_inclusive=False))


class _ActivitySchema(ma.Schema):
    annual_by_unit = ma.fields.Dict(keys=ma.fields.String(), values=_span(), required=True)
    yearly_growth = _span()
    quarterly_split_share = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, max=1))
    quarterly_weights = ma.fields.List(
        ma.fields.Float(validate=ma.validate.Range(min=0)),
        required=True,
        validate=ma.validate.Length(equal=4),
    )
    lagging_share = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, max=1))
    sex_shares = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(plan_rules.SEXES_REPORTED)),
        values=ma.fields.Float(validate=ma.validate.Range(min=0)),
        required=True,
    )
    ahead_factor = _span()
    lagging_factor = _span()


class _SubmissionSchema(ma.Schema):
    never_share = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, max=1))
    late_share = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, max=1))
    max_days_late = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))
    draft_days_before = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(min=0)), required=True)
    accept_share = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, max=1))
    review_days = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(min=0)), required=True)


def _texts() -> ma.fields.List:
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1)),
        required=True,
        validate=ma.validate.Length(min=1),
    )


class _TextsSchema(ma.Schema):
    narratives = _texts()
    notes = _texts()
    delay_reasons = _texts()
    countermeasures = _texts()
    return_comment = ma.fields.String(required=True, validate=ma.validate.Length(min=1))
    amend_reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1))


class _AssumptionsSchema(ma.Schema):
    seasonality = ma.fields.List(
        ma.fields.Float(validate=ma.validate.Range(min=0)),
        required=True,
        validate=ma.validate.Length(equal=4),
    )
    yearly_change_after_trends = _span()
    indicator_factors = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(STEERED_STATUSES)), values=_span(), required=True
    )
    types = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.Nested(_TypeOptionSchema)), required=True
    )
    districts = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Float(validate=ma.validate.Range(min=0)), required=True
    )
    activity = ma.fields.Nested(_ActivitySchema, required=True)
    submission = ma.fields.Nested(_SubmissionSchema, required=True)
    texts = ma.fields.Nested(_TextsSchema, required=True)


class _DistributionsSchema(ma.Schema):
    source = ma.fields.String(required=True)
    age_bands = ma.fields.List(ma.fields.String(), required=True)
    relationships = ma.fields.List(ma.fields.String(), required=True)
    tables = ma.fields.List(ma.fields.Nested(_TableSchema), required=True)
    trends = ma.fields.Nested(_TrendsSchema, required=True)
    assumptions = ma.fields.Nested(_AssumptionsSchema, required=True)


@dataclass(frozen=True)
class Joint:
    """The persons of one printed table and sex, by cell (age band, cause, relationship)."""

    table: str
    years: tuple[int, ...]
    cells: tuple[Cell, ...]
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    def persons(self) -> list[Cell]:
        """One cell per person of the table, in the printed order."""
        return [cell for cell, count in zip(self.cells, self.counts, strict=True) for _ in range(count)]

    def shares(self) -> dict[Cell, float]:
        """Each cell's share of the table's persons of this sex."""
        return {cell: count / self.total for cell, count in zip(self.cells, self.counts, strict=True)}


@dataclass(frozen=True)
class Distributions:
    """Tables 1-3 as joint distributions, the trend of every series, and the assumptions."""

    joints: dict[SeriesKey, Joint]
    growth: dict[SeriesKey, float]
    trend_years: tuple[int, int]
    assumptions: dict

    def expected(self, key: SeriesKey, year: int) -> float:
        """Expected persons of a series in a year on its trend: the table's total, split over the
        table's years by the growth rate (年增率), carried to `year` at the same rate."""
        joint, rate = self.joints[key], 1 + self.growth[key]
        return (
            joint.total
            * rate ** (year - joint.years[0])
            / sum(rate ** (y - joint.years[0]) for y in joint.years)
        )

    def trend_counts(self, key: SeriesKey, years: Iterable[int]) -> dict[int, int]:
        """Whole yearly counts on the trend; the table's own years add up to its printed total."""
        years = list(years)
        joint = self.joints[key]
        counts = {year: round(self.expected(key, year)) for year in years}
        window = [year for year in joint.years if year in counts]
        if len(window) == len(joint.years):
            for year, count in zip(
                window, apportion(joint.total, [self.expected(key, y) for y in window]), strict=True
            ):
                counts[year] = count
        return counts


def apportion(total: int, weights: list[float]) -> list[int]:
    """Whole numbers proportional to the weights that add up to `total` (largest remainder)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    exact = [total * w / whole for w in weights]
    result = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - result[i]), i))
    for i in order[: total - sum(result)]:
        result[i] += 1
    return result


def load_distributions(catalog: Catalog, path: str | Path = DISTRIBUTIONS_PATH) -> Distributions:
    """Read the distributions file, validate its shape, and check it against itself and the catalog."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.load(f, Loader=_LOADER)
        data = _DistributionsSchema().load(raw)
    except OSError as exc:
        raise DistributionsError(path, {"<file>": [exc.strerror or str(exc)]}) from exc
    except yaml.YAMLError as exc:
        raise DistributionsError(path, {"<yaml>": [" ".join(str(exc).split())]}) from exc
    except ma.ValidationError as exc:
        raise DistributionsError(path, flatten_messages(exc.messages)) from exc
    errors: dict[str, list[str]] = defaultdict(list)
    joints = _joints(data, catalog, errors)
    growth = _trends(data, catalog, joints, errors)
    _check_assumptions(data["assumptions"], catalog, joints, errors)
    if errors:
        raise DistributionsError(path, dict(errors))
    trends = data["trends"]
    return Distributions(joints, growth, (trends["first_year"], trends["last_year"]), data["assumptions"])


def _joints(data: dict, catalog: Catalog, errors) -> dict[SeriesKey, Joint]:
    bands = [band.id for band in catalog.age_bands]
    relationships = [code.id for code in catalog.relationships]
    causes = {code.id for code in catalog.causes}
    if data["age_bands"] != bands:
        errors["age_bands"].append(f"Must be the catalog's age bands in order: {bands}.")
    if data["relationships"] != relationships:
        errors["relationships"].append(f"Must be the catalog's relationships in order: {relationships}.")
    joints: dict[SeriesKey, Joint] = {}
    for index, table in enumerate(data["tables"]):
        where = f"tables.{index}"
        try:
            catalog.crime_category(table["category"])
        except KeyError:
            errors[f"{where}.category"].append(f"Unknown crime category {table['category']!r}.")
        suspects = table["role"] == "suspect"
        columns = bands if suspects else relationships
        row_codes = causes if suspects else set(bands)
        for sex, block in table["sexes"].items():
            at = f"{where}.sexes.{sex}"
            key = (table["category"], table["role"], sex)
            if key in joints:
                errors[at].append(f"{key} is given twice.")
            cells, counts = [], []
            for code, row in block["rows"].items():
                if code not in row_codes:
                    errors[f"{at}.rows.{code}"].append("Not a code of the catalog for this table.")
                if len(row["cells"]) != len(columns):
                    errors[f"{at}.rows.{code}"].append(f"Needs {len(columns)} cells.")
                    continue
                if sum(row["cells"]) != row["total"]:
                    errors[f"{at}.rows.{code}"].append(
                        f"The cells add up to {sum(row['cells'])}, not the printed {row['total']}."
                    )
                for column, count in zip(columns, row["cells"], strict=True):
                    cells.append((code, column, None) if suspects else (code, None, column))
                    counts.append(count)
            if sum(counts) != block["total"]:
                errors[f"{at}.total"].append(f"The rows add up to {sum(counts)}, not {block['total']}.")
            margin_name = "by_age" if suspects else "by_relationship"
            margin = block.get(margin_name)
            if margin is not None:
                sums = [
                    sum(n for c, n in zip(cells, counts, strict=True) if column in c) for column in columns
                ]
                if sums != margin:
                    errors[f"{at}.{margin_name}"].append(f"The columns add up to {sums}, not {margin}.")
            if suspects:  # (cause, age band) -> (age band, cause, None)
                cells = [(band, cause, None) for cause, band, _ in cells]
            if not sum(counts):
                errors[at].append("A table with no persons cannot be drawn from.")
            joints[key] = Joint(table["table"], tuple(table["years"]), tuple(cells), tuple(counts))
    return joints


def _trends(data: dict, catalog: Catalog, joints, errors) -> dict[SeriesKey, float]:
    trends = data["trends"]
    if trends["first_year"] > trends["last_year"]:
        errors["trends.first_year"].append("Must not be after last_year.")
    growth = {}
    for index, series in enumerate(trends["series"]):
        key = (series["category"], series["role"], series["sex"])
        if key not in joints:
            errors[f"trends.series.{index}"].append(f"No table gives {key}.")
        growth[key] = series["growth"]
    for key in joints:
        if key not in growth:
            errors["trends.series"].append(f"No growth rate for {key}.")
    for index, table in enumerate(data["tables"]):
        # Only there do the trend's yearly counts add up to the printed total (see trend_counts).
        if not all(trends["first_year"] <= year <= trends["last_year"] for year in table["years"]):
            errors[f"tables.{index}.years"].append("Must lie within the trend years.")
    for indicator in catalog.indicators:
        key = (indicator.category, indicator.role, indicator.sex)
        if key not in joints or key not in growth:
            errors["trends.series"].append(f"Indicator {indicator.id} needs a table and a growth rate.")
        if indicator.direction != "decrease":
            errors["trends.series"].append(f"Indicator {indicator.id}: only decreasing goals are simulated.")
    if errors:
        return growth
    probe = Distributions(joints, growth, (trends["first_year"], trends["last_year"]), {})
    for index, ratio in enumerate(trends["ratios"]):
        top = (ratio["category"], ratio["role"], ratio["numerator"])
        bottom = (ratio["category"], ratio["role"], ratio["denominator"])
        if top not in joints or bottom not in joints:
            errors[f"trends.ratios.{index}"].append("Both series need a table.")
            continue
        for year in range(trends["first_year"], trends["last_year"] + 1):
            value = probe.expected(top, year) / probe.expected(bottom, year)
            if value < ratio["min"] or (ratio["max"] is not None and value > ratio["max"]):
                errors[f"trends.ratios.{index}"].append(
                    f"In {year} the trend gives a ratio of {value:.2f}, outside the printed range."
                )
    return growth


def _check_assumptions(assumptions: dict, catalog: Catalog, joints, errors) -> None:
    def span(where: str, values: list[float]) -> None:
        if values[0] > values[1]:
            errors[where].append("The first value must not exceed the second.")

    if abs(sum(assumptions["seasonality"]) - 1) > 1e-6:
        errors["assumptions.seasonality"].append("The quarters' shares must add up to 1.")
    span("assumptions.yearly_change_after_trends", assumptions["yearly_change_after_trends"])
    factors = assumptions["indicator_factors"]
    if set(factors) != set(STEERED_STATUSES):
        errors["assumptions.indicator_factors"].append(
            f"Give a range for each of {', '.join(STEERED_STATUSES)}."
        )
    else:
        for status, values in factors.items():
            span(f"assumptions.indicator_factors.{status}", values)
        for goal_entry in catalog.goals:
            goal = 1 - goal_entry.reduction
            if not (
                factors[plan_rules.ON_TRACK][1] <= goal
                and goal < factors[plan_rules.AT_RISK][0]
                and factors[plan_rules.AT_RISK][1] < 1
                and factors[plan_rules.OFF_TRACK][0] > 1
            ):
                errors["assumptions.indicator_factors"].append(
                    f"The ranges must fall on either side of {goal_entry.year}'s goal ({goal:.2f}) and of 1."
                )
    numbers = {gbv_type.number for gbv_type in catalog.gbv_types}
    for category in {key[0] for key in joints}:
        options = assumptions["types"].get(category)
        if not options:
            errors["assumptions.types"].append(f"Give the types of {category}.")
            continue
        if any(number not in numbers for option in options for number in option["types"]):
            errors[f"assumptions.types.{category}"].append("Types are numbered as the catalog's.")
    districts = {district.id for district in catalog.districts}
    if set(assumptions["districts"]) != districts or not sum(assumptions["districts"].values()):
        errors["assumptions.districts"].append(
            "Give a weight for every district of the catalog, and no other."
        )
    activity = assumptions["activity"]
    units = {metric.unit for action in catalog.actions for metric in action.metrics}
    for unit in sorted(units - set(activity["annual_by_unit"])):
        errors["assumptions.activity.annual_by_unit"].append(f"No annual range for the unit {unit}.")
    for unit, values in activity["annual_by_unit"].items():
        span(f"assumptions.activity.annual_by_unit.{unit}", values)
    if set(activity["sex_shares"]) != set(plan_rules.SEXES_REPORTED) or not sum(
        activity["sex_shares"].values()
    ):
        errors["assumptions.activity.sex_shares"].append("Give a share for male, female and other.")
    for name in ("yearly_growth", "ahead_factor", "lagging_factor"):
        span(f"assumptions.activity.{name}", activity[name])
    if activity["ahead_factor"][0] < 1:
        errors["assumptions.activity.ahead_factor"].append("Actions on plan report at least their plan.")
    if activity["lagging_factor"][1] >= 1:
        errors["assumptions.activity.lagging_factor"].append("Actions behind plan report less than it.")
    submission = assumptions["submission"]
    for name in ("draft_days_before", "review_days"):
        if len(submission[name]) != 2 or submission[name][0] > submission[name][1]:
            errors[f"assumptions.submission.{name}"].append("Give [fewest, most] days.")
