"""Demo data: a seeded, reproducible history of the plan, written through intake's own logic.

`python -m services.intake demo-data` fills an empty intake database with activity targets,
bureaus' quarterly reports, outcome statistics from the plan's history year on, and anonymous
case records. Every write goes through the functions the API itself calls (`set_target`,
`save_report`, `submit_report`, `accept_report`, `return_report`, `record_counts`,
`upsert_records`) at a simulated moment, in time order, so revisions, days late, the year-to-date
checks and the change feed are the real ones.

Everything it writes is marked as demo data: case refs start with `DEMO-`, report narratives
(and the coordinator's comments) with `【示範資料】`, and every actor is `示範資料產生器`.

The numbers come from `demo_distributions.yaml`: Tables 1-3 and the yearly growth rates of the
plan document, plus labelled assumptions. Each part of the data draws from its own random stream
named after the seed, so the same seed and `--until` give the same data.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import marshmallow as ma
import yaml
from sqlalchemy import func, select

from services.intake import directory, installation
from services.intake.cases import upsert_records
from services.intake.models import ActivityTarget, BureauContact, CaseRecord, Change, OutcomeCount, Report
from services.intake.outcomes import record_counts
from services.intake.reports import (
    Rules,
    accept_report,
    behind_actions,
    find_report,
    return_report,
    save_report,
    submit_report,
)
from services.intake.targets import set_target
from shared import rules as plan_rules
from shared.auth import Principal, Role
from shared.catalog import Catalog, flatten_messages
from shared.db import Database
from shared.periods import TAIPEI, Quarter

DEMO_MARK = "【示範資料】"
DEMO_ACTOR = "示範資料產生器"
DEMO_REF_PREFIX = "DEMO-"
DEMO_CONTACT_DOMAIN = "demo.example.org"  # RFC 2606: never a real mailbox
DISTRIBUTIONS_PATH = Path(__file__).with_name("demo_distributions.yaml")
CASE_BATCH = 10_000  # records per transaction, as the upload endpoints allow
STATUSES = ("on_track", "at_risk", "off_track")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SeriesKey = tuple[str, str, str]  # (category, role, sex)
Cell = tuple[str, str | None, str | None]  # (age band, cause, relationship)


class DistributionsError(ValueError):
    """The distributions file cannot be read or does not agree with itself or the catalog."""

    def __init__(self, path, errors: dict[str, list[str]]):
        self.errors = errors
        details = "; ".join(f"{key}: {' '.join(texts)}" for key, texts in errors.items())
        super().__init__(f"invalid demo distributions {path}: {details}")


class NotEmpty(Exception):
    """Demo data goes only into an empty database: it would mix with real records otherwise."""


# -- the distributions file ----------------------------------------------------------------
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
        keys=ma.fields.String(validate=ma.validate.OneOf(STATUSES)), values=_span(), required=True
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
    if set(factors) != set(STATUSES):
        errors["assumptions.indicator_factors"].append(f"Give a range for each of {', '.join(STATUSES)}.")
    else:
        for status, values in factors.items():
            span(f"assumptions.indicator_factors.{status}", values)
        for goal_entry in catalog.goals:
            goal = 1 - goal_entry.reduction
            if not (
                factors["on_track"][1] <= goal
                and goal < factors["at_risk"][0]
                and factors["at_risk"][1] < 1
                and factors["off_track"][0] > 1
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


# -- the generator ---------------------------------------------------------------------------
def taipei_moment(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    """A moment of a day in Taipei, in UTC as the services store it."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TAIPEI).astimezone(dt.UTC)


@dataclass(order=True)
class _Event:
    at: dt.datetime
    order: int
    run: Callable[[dt.datetime], None] = field(compare=False)


@dataclass
class _ReportPlan:
    """What one bureau does with one quarter's report, drawn before anything is written."""

    bureau: str
    quarter: Quarter
    narrative: str
    entries: list[dict]
    reasons: tuple[int, int]
    draft_at: dt.datetime | None
    submit_at: dt.datetime | None
    accept_at: dt.datetime | None = None


class DemoGenerator:
    """Plans every write first (from seeded random streams), then runs them in time order."""

    def __init__(
        self,
        database: Database,
        catalog: Catalog,
        distributions: Distributions,
        *,
        seed: int,
        until: dt.date,
        batch_size: int = CASE_BATCH,
        progress: Callable[[str], None] | None = None,
    ):
        self.database = database
        self.catalog = catalog
        self.dist = distributions
        self.assume = distributions.assumptions
        self.seed = seed
        self.batch_size = batch_size
        self.progress = progress or (lambda text: None)
        # Everything happens before the start of `until` in Taipei.
        self.until_at = taipei_moment(until, 0)
        # The demo keeps the plan's whole history: it tracks from the plan's own first quarter.
        first = catalog.reporting.first_quarter
        self.rules = Rules(catalog, first, self.until_at)
        plan = catalog.plan
        self.quarters = list(
            itertools.takewhile(lambda q: q.end < until, _quarters_from(Quarter(plan.history_first_year, 1)))
        )
        self.reporting = [q for q in self.quarters if q >= first]
        due_passed = [q for q in self.reporting if plan_rules.due_at(catalog.reporting, q) < self.until_at]
        self.latest_due = due_passed[-1] if due_passed else None
        # The system starts in the plan's first reporting quarter: the history is loaded then.
        self.history_loaded_at = taipei_moment(first.start + dt.timedelta(days=14))
        # A correction of the history, as statisticians do: a case registered late makes one
        # count one higher, some months after the history was loaded.
        self.revised = (catalog.indicators[-1].id, Quarter(distributions.trend_years[0] + 2, 2))
        self.revised_at = self.history_loaded_at + dt.timedelta(days=100)
        self.bureau_as = {
            b.id: Principal("demo-data", DEMO_ACTOR, Role.BUREAU, b.id) for b in catalog.bureaus
        }
        self.coordinator = Principal("demo-data", DEMO_ACTOR, Role.COORDINATOR)
        self.statistician = Principal("demo-data", DEMO_ACTOR, Role.STATISTICS)
        self.drawer = CaseDrawer(distributions, seed)
        self._cases_written = self._cases_planned = 0
        self._events: list[_Event] = []
        self._order = itertools.count()
        self.missing_bureau: str | None = None
        self.returned: tuple[str, Quarter] | None = None

    def _rng(self, *names) -> random.Random:
        return random.Random(":".join(str(part) for part in (self.seed, *names)))

    def _at_most_until(self, moment: dt.datetime) -> dt.datetime:
        return min(moment, self.until_at - dt.timedelta(minutes=1))

    def _add(self, at: dt.datetime | None, run: Callable[[dt.datetime], None]) -> bool:
        """Schedule `run` at `at`; nothing happens on or after `until` (then False)."""
        if at is None or at >= self.until_at:
            return False
        self._events.append(_Event(at, next(self._order), run))
        return True

    def _with_rules(self, now: dt.datetime) -> Rules:
        return replace(self.rules, now=now)

    # -- run --------------------------------------------------------------------------------
    def run(self) -> dict:
        """Write the demo data; the database must hold no records yet."""
        started = time.monotonic()
        with self.database.session(write=False) as session:
            if installation.holds_data(session):
                raise NotEmpty(
                    "the database already holds targets, reports, outcome counts or case records; "
                    "demo data goes only into an empty database"
                )
        with self.database.transaction() as session:
            installation.set_installed_on(session, self.catalog, None, self.history_loaded_at)
        self._contacts()
        targets = self._plan_targets()
        self._plan_reports(targets)
        counts = self._plan_outcomes()
        self._plan_cases(counts)
        for event in sorted(self._events):
            event.run(event.at)
        return {**self.summary(), "seconds": round(time.monotonic() - started, 1)}

    def summary(self) -> dict:
        with self.database.session(write=False) as session:
            statuses = dict(
                session.execute(select(Report.status, func.count()).group_by(Report.status)).all()
            )
            return {
                "targets": session.scalar(select(func.count()).select_from(ActivityTarget)),
                "reports": statuses,
                "outcome_counts": session.scalar(select(func.count()).select_from(OutcomeCount)),
                "case_records": session.scalar(select(func.count()).select_from(CaseRecord)),
                "changes": session.scalar(select(func.count()).select_from(Change)),
                "latest_due_quarter": str(self.latest_due) if self.latest_due else None,
                "missing_bureau": self.missing_bureau,
                "returned": f"{self.returned[0]}/{self.returned[1]}" if self.returned else None,
            }

    # -- bureau directory -------------------------------------------------------------------
    def _contacts(self) -> None:
        """A demo address for each bureau without one, so notify's reminders have a recipient."""
        with self.database.transaction() as session:
            known = set(session.scalars(select(BureauContact.bureau)))
            for bureau in self.catalog.bureaus:
                if bureau.id not in known:
                    directory.replace_contacts(
                        session,
                        self.catalog,
                        bureau.id,
                        [
                            {
                                "email": f"{bureau.id}@{DEMO_CONTACT_DOMAIN}",
                                "name": f"{bureau.name}承辦人（示範資料）",
                            }
                        ],
                    )

    # -- targets ----------------------------------------------------------------------------
    def _plan_targets(self) -> dict[tuple[int, str, str], list[tuple[dt.datetime, int, list | None]]]:
        """Each year's target of every action metric, set on 5 January; one mid-year revision."""
        rng = self._rng("targets")
        activity = self.assume["activity"]
        level = {
            (action.id, metric.id): rng.uniform(*activity["annual_by_unit"][metric.unit])
            for action in self.catalog.actions
            for metric in action.metrics
        }
        plans: dict[tuple[int, str, str], list] = {}
        first = self.catalog.reporting.first_quarter.year
        for year in range(first, self.until_at.astimezone(TAIPEI).year + 1):
            at = taipei_moment(dt.date(year, 1, 5))
            if at >= self.until_at:
                break
            for (action, metric), value in level.items():
                if year > first:
                    level[(action, metric)] = value = value * (1 + rng.uniform(*activity["yearly_growth"]))
                annual = max(1, round(value))
                split = rng.random() < activity["quarterly_split_share"]
                quarterly = apportion(annual, activity["quarterly_weights"]) if split else None
                plans[(year, action, metric)] = [(at, annual, quarterly)]
            self._add(at, functools.partial(self._write_targets, year, plans))
        revised_year = first + 1
        candidates = sorted(
            k
            for k, v in plans.items()
            if k[0] == revised_year and v[0][2] is not None and self.catalog.metric(k[1], k[2]).judged
        )
        revision_at = taipei_moment(dt.date(revised_year, 7, 1))
        if candidates and revision_at < self.until_at:
            key = rng.choice(candidates)
            _, annual, quarterly = plans[key][0]
            step = max(1, round(annual * 0.05))
            quarterly = [quarterly[0], quarterly[1], quarterly[2] + step, quarterly[3] + step]
            plans[key].append((revision_at, sum(quarterly), quarterly))
            self._add(revision_at, functools.partial(self._write_target, key, sum(quarterly), quarterly))
        return plans

    def _write_targets(self, year: int, plans: dict, now: dt.datetime) -> None:
        """The year's targets of the output metrics; a caseload metric's plan is only the demo's
        expected volume (it has no target: it is never judged)."""
        with self.database.transaction() as session:
            for (y, action, metric), versions in plans.items():
                if y == year and self.catalog.metric(action, metric).judged:
                    _, annual, quarterly = versions[0]
                    set_target(
                        session,
                        self.catalog,
                        self.coordinator,
                        year=y,
                        action=action,
                        metric=metric,
                        annual=annual,
                        quarterly=quarterly,
                        now=now,
                    )

    def _write_target(self, key: tuple[int, str, str], annual: int, quarterly, now: dt.datetime) -> None:
        year, action, metric = key
        with self.database.transaction() as session:
            set_target(
                session,
                self.catalog,
                self.coordinator,
                year=year,
                action=action,
                metric=metric,
                annual=annual,
                quarterly=quarterly,
                now=now,
            )

    @staticmethod
    def _planned_in(plans: dict, quarter: Quarter, action: str, metric: str) -> float:
        """The plan for this quarter alone, from the target in force at the quarter's end."""
        end = taipei_moment(quarter.end, 23, 59)
        versions = plans.get((quarter.year, action, metric), [])
        in_force = [v for v in versions if v[0] <= end]
        if not in_force:
            return 0.0
        _, annual, quarterly = in_force[-1]
        to_date = plan_rules.planned_to_date(annual, quarterly, quarter.quarter)
        return float(to_date - plan_rules.planned_to_date(annual, quarterly, quarter.quarter - 1))

    # -- reports ----------------------------------------------------------------------------
    def _plan_reports(self, plans: dict) -> None:
        activity, submission = self.assume["activity"], self.assume["submission"]
        texts = self.assume["texts"]
        reporting = self.catalog.reporting
        max_late = max(1, min(submission["max_days_late"], reporting.lock_days))
        lagging: dict[tuple[str, int], bool] = {}
        for year in sorted({q.year for q in self.reporting}):
            rng = self._rng("lagging", year)
            for action in self.catalog.actions:
                lagging[(action.id, year)] = rng.random() < activity["lagging_share"]
        self._one_lagging_now(lagging)
        reports: list[_ReportPlan] = []
        for quarter in self.reporting:
            rng = self._rng("reports", quarter)
            missing = rng.choice(self.catalog.bureaus).id if quarter == self.latest_due else None
            self.missing_bureau = missing or self.missing_bureau
            first_day = taipei_moment(quarter.end + dt.timedelta(days=1), 8)
            for bureau in self.catalog.bureaus:
                never = rng.random() < submission["never_share"]
                keeps_draft = rng.random() < 0.5
                if rng.random() < submission["late_share"]:
                    offset = reporting.due_days + rng.randint(1, max_late)
                else:
                    offset = rng.randint(1, max(1, reporting.due_days))
                submit_at = taipei_moment(
                    quarter.end + dt.timedelta(days=offset), rng.randint(9, 17), rng.randint(0, 59)
                )
                draft_at = submit_at - dt.timedelta(
                    days=rng.randint(*submission["draft_days_before"]), hours=rng.randint(0, 3)
                )
                accepted = rng.random() < submission["accept_share"]
                review = dt.timedelta(days=rng.randint(*submission["review_days"]), hours=rng.randint(0, 5))
                entries = self._entries(rng, bureau.id, quarter, plans, lagging)
                narrative = DEMO_MARK + rng.choice(texts["narratives"])
                reasons = (
                    rng.randrange(len(texts["delay_reasons"])),
                    rng.randrange(len(texts["countermeasures"])),
                )
                if quarter == self.latest_due:
                    # Exactly one bureau has not submitted the latest quarter that is due.
                    never = bureau.id == missing
                    if not never and submit_at >= self.until_at:
                        submit_at = max(
                            first_day + dt.timedelta(hours=2),
                            self.until_at - dt.timedelta(hours=rng.randint(2, 30)),
                        )
                draft_at = max(first_day, draft_at)
                if draft_at >= submit_at:
                    draft_at = submit_at - dt.timedelta(hours=1)
                plan = _ReportPlan(bureau.id, quarter, narrative, entries, reasons, draft_at, submit_at)
                if never:
                    plan.submit_at = None
                    if keeps_draft:  # started, never finished: one action left empty
                        plan.entries = [dict(e) for e in entries]
                        plan.entries[-1] = {
                            **plan.entries[-1],
                            "values": dict.fromkeys(plan.entries[-1]["values"]),
                        }
                    else:
                        plan.draft_at = None
                elif accepted:
                    plan.accept_at = submit_at + review
                reports.append(plan)
        self._plan_review_events(reports)
        for plan in reports:
            self._add(plan.draft_at, functools.partial(self._draft, plan))
            self._add(plan.submit_at, functools.partial(self._submit, plan))
            self._add(plan.accept_at, functools.partial(self._accept, plan))

    def _one_lagging_now(self, lagging: dict[tuple[str, int], bool]) -> None:
        """At least one output action of a reporting bureau runs behind in the latest due quarter's
        year, so that the demo shows a behind-plan notice and the reasons a bureau gives."""
        if self.latest_due is None:
            return
        year = self.latest_due.year
        # The same first draw as the latest due quarter's: the bureau that does not report it.
        missing = self._rng("reports", self.latest_due).choice(self.catalog.bureaus).id
        candidates = [
            action.id
            for action in self.catalog.actions
            if action.bureau != missing and any(metric.judged for metric in action.metrics)
        ]
        if not any(lagging[(action, year)] for action in candidates):
            lagging[(self._rng("lagging-now", year).choice(candidates), year)] = True

    def _entries(
        self, rng: random.Random, bureau: str, quarter: Quarter, plans: dict, lagging: dict
    ) -> list[dict]:
        """Values around the plan: actions on plan meet or beat it, lagging actions fall short."""
        activity, notes = self.assume["activity"], self.assume["texts"]["notes"]
        entries = []
        shares = [activity["sex_shares"][sex] for sex in plan_rules.SEXES_REPORTED]
        for action in self.catalog.actions_for(bureau):
            behind = lagging[(action.id, quarter.year)]
            values, by_sex = {}, {}
            for metric in action.metrics:
                planned = self._planned_in(plans, quarter, action.id, metric.id)
                if behind:
                    value = math.floor(planned * rng.uniform(*activity["lagging_factor"]))
                else:
                    value = math.ceil(planned * rng.uniform(*activity["ahead_factor"]))
                if metric.by_sex:
                    by_sex[metric.id] = dict(
                        zip(plan_rules.SEXES_REPORTED, apportion(value, shares), strict=True)
                    )
                else:
                    values[metric.id] = value
            entry = {"action": action.id, "values": values, "by_sex": by_sex}
            if rng.random() < 0.3:
                entry["note"] = rng.choice(notes)
            entries.append(entry)
        return entries

    def _plan_review_events(self, reports: list[_ReportPlan]) -> None:
        """One report of the latest due quarter returned with a comment; one earlier report amended."""
        texts = self.assume["texts"]
        submitted = [p for p in reports if p.submit_at is not None and p.submit_at < self.until_at]
        latest = sorted((p for p in submitted if p.quarter == self.latest_due), key=lambda p: p.submit_at)
        if latest:
            plan = latest[0]
            plan.accept_at = None
            return_at = self._at_most_until(plan.submit_at + dt.timedelta(days=2))
            if return_at <= plan.submit_at:
                return_at = plan.submit_at + (self.until_at - plan.submit_at) / 2
            self.returned = (plan.bureau, plan.quarter)
            comment = DEMO_MARK + texts["return_comment"]
            self._add(return_at, functools.partial(self._return, plan, comment))
        rng = self._rng("amend")
        earlier = [
            p
            for p in submitted
            if self.latest_due is not None and p.quarter < self.latest_due and p.accept_at is None
        ]
        if earlier:
            plan = rng.choice(earlier)
            amend_at = plan.submit_at + dt.timedelta(days=2)
            if amend_at <= plan_rules.lock_at(self.catalog.reporting, plan.quarter):
                self._add(amend_at, functools.partial(self._amend, plan, DEMO_MARK + texts["amend_reason"]))

    def _draft(self, plan: _ReportPlan, now: dt.datetime) -> None:
        with self.database.transaction() as session:
            save_report(
                session,
                self._with_rules(now),
                self.bureau_as[plan.bureau],
                plan.bureau,
                plan.quarter,
                narrative=plan.narrative,
                actions=plan.entries,
                reason=None,
            )

    def _submit(self, plan: _ReportPlan, now: dt.datetime) -> None:
        """Explain every action intake finds behind plan (落後原因, 因應對策), then submit."""
        rules, principal = self._with_rules(now), self.bureau_as[plan.bureau]
        texts = self.assume["texts"]
        with self.database.transaction() as session:
            report = find_report(session, plan.bureau, plan.quarter)
            behind = behind_actions(session, rules, report)
            if behind:
                entries = []
                for index, entry in enumerate(plan.entries):
                    if entry["action"] in behind:
                        delay, counter = plan.reasons
                        entry = {
                            **entry,
                            "delay_reason": texts["delay_reasons"][
                                (delay + index) % len(texts["delay_reasons"])
                            ],
                            "countermeasure": texts["countermeasures"][
                                (counter + index) % len(texts["countermeasures"])
                            ],
                        }
                    entries.append(entry)
                save_report(
                    session,
                    rules,
                    principal,
                    plan.bureau,
                    plan.quarter,
                    narrative=plan.narrative,
                    actions=entries,
                    reason=None,
                )
            submit_report(session, rules, principal, plan.bureau, plan.quarter)

    def _accept(self, plan: _ReportPlan, now: dt.datetime) -> None:
        with self.database.transaction() as session:
            accept_report(session, self._with_rules(now), self.coordinator, plan.bureau, plan.quarter)

    def _return(self, plan: _ReportPlan, comment: str, now: dt.datetime) -> None:
        with self.database.transaction() as session:
            return_report(
                session, self._with_rules(now), self.coordinator, plan.bureau, plan.quarter, comment
            )

    def _amend(self, plan: _ReportPlan, reason: str, now: dt.datetime) -> None:
        """A bureau corrects a submitted report: one more person-time reported (needs a reason)."""
        rules = self._with_rules(now)
        with self.database.transaction() as session:
            report = find_report(session, plan.bureau, plan.quarter)
            entries = [{"action": action, **entry} for action, entry in report.actions.items()]
            first = entries[0]
            metric = next(iter(first["values"]))
            entries[0] = {**first, "values": {**first["values"], metric: first["values"][metric] + 1}}
            save_report(
                session,
                rules,
                self.bureau_as[plan.bureau],
                plan.bureau,
                plan.quarter,
                narrative=report.narrative,
                actions=entries,
                reason=reason,
            )

    # -- outcome statistics -----------------------------------------------------------------
    def _plan_outcomes(self) -> dict[tuple[str, Quarter], int]:
        """Quarterly counts of every indicator: on the seed's trend up to its last year, then each
        year the indicators are steered to different statuses (on track, at risk, off track)."""
        rng = self._rng("outcomes")
        factors = self.assume["indicator_factors"]
        ended = set(self.quarters)
        years = sorted({q.year for q in self.quarters})
        last_trend_year = self.dist.trend_years[1]
        counts: dict[tuple[str, Quarter], int] = {}
        for indicator in self.catalog.indicators:
            key = (indicator.category, indicator.role, indicator.sex)
            yearly = self.dist.trend_counts(key, [y for y in years if y <= last_trend_year])
            for year, total in yearly.items():
                for quarter, count in self._by_season(rng, year, total).items():
                    counts[(indicator.id, quarter)] = count
        for year in (y for y in years if y > last_trend_year):
            statuses = list(STATUSES)
            rng.shuffle(statuses)
            for index, indicator in enumerate(self.catalog.indicators):
                status = statuses[index % len(statuses)]
                factor = rng.uniform(*factors[status])
                rounding = math.floor if status == "on_track" else math.ceil
                base = cumulative = 0
                for q in range(1, 5):
                    quarter = Quarter(year, q)
                    if quarter not in ended:
                        break
                    base += counts.get((indicator.id, Quarter(year - 1, q)), 0)
                    to_date = rounding(factor * base)
                    counts[(indicator.id, quarter)] = to_date - cumulative
                    cumulative = to_date
        by_time: dict[dt.datetime, list[dict]] = defaultdict(list)
        for (indicator, quarter), count in counts.items():
            at = max(taipei_moment(quarter.end + dt.timedelta(days=20)), self.history_loaded_at)
            item = {"indicator": indicator, "year": quarter.year, "quarter": quarter.quarter, "count": count}
            by_time[self._at_most_until(at)].append(item)
        for at, items in by_time.items():
            self._add(at, functools.partial(self._record, items))
        if self.revised in counts:
            indicator, quarter = self.revised
            item = {"indicator": indicator, "year": quarter.year, "quarter": quarter.quarter}
            self._add(
                self.revised_at,
                functools.partial(self._record, [{**item, "count": counts[self.revised] + 1}]),
            )
        return counts

    def _by_season(self, rng: random.Random, year: int, total: int) -> dict[Quarter, int]:
        """A year's persons split over its quarters by season; only the quarters that have ended."""
        split = Counter(rng.choices(range(4), weights=self.assume["seasonality"], k=total))
        ended = set(self.quarters)
        return {Quarter(year, q + 1): split[q] for q in range(4) if Quarter(year, q + 1) in ended}

    def _record(self, items: list[dict], now: dt.datetime) -> None:
        with self.database.transaction() as session:
            record_counts(session, self.catalog, self.statistician, items, now)

    # -- case records -----------------------------------------------------------------------
    def _plan_cases(self, counts: dict[tuple[str, Quarter], int]) -> None:
        """One record per person counted, so that records and outcome counts agree; in a table's
        years the records of its series are the printed cells."""
        persons = self._persons(counts)
        series_of = {i.id: (i.category, i.role, i.sex) for i in self.catalog.indicators}
        late = None
        if self.revised in counts:  # the late-registered case behind the revised count
            late = (series_of[self.revised[0]], self.revised[1])
            persons[late] += 1
        given = self._table_cells(persons)
        records: dict[Quarter, list[dict]] = {}
        for quarter in self.quarters:
            allocation = [
                (key, persons[(key, quarter)]) for key in self.dist.joints if persons[(key, quarter)]
            ]
            records[quarter] = list(self.drawer.records(quarter, allocation, given.get(quarter)))
        held_back = []
        if late:  # its series' last record of the quarter comes in with the revision
            series, quarter = late
            of_series = [
                i for i, r in enumerate(records[quarter]) if (r["category"], r["role"], r["sex"]) == series
            ]
            held_back.append(records[quarter].pop(of_series[-1]))
        # The history is uploaded a few days after the outcome counts; then each quarter's records
        # about 25 days after it ends.
        history = self.history_loaded_at + dt.timedelta(days=5)
        by_time: dict[dt.datetime, list[dict]] = defaultdict(list)
        for quarter, drawn in records.items():
            at = max(taipei_moment(quarter.end + dt.timedelta(days=25), 10), history)
            by_time[self._at_most_until(at)].extend(drawn)
        for at, batch in by_time.items():
            self._add_upload(at, batch)
        if held_back:
            self._add_upload(self.revised_at, held_back)

    def _persons(self, counts: dict[tuple[str, Quarter], int]) -> dict[tuple[SeriesKey, Quarter], int]:
        """Persons of every series in every quarter that has ended: the outcome counts for the
        indicators' series; the others follow their trend, then drift yearly, split by season."""
        indicator_of = {(i.category, i.role, i.sex): i.id for i in self.catalog.indicators}
        drift = self.assume["yearly_change_after_trends"]
        years = sorted({q.year for q in self.quarters})
        last_trend_year = self.dist.trend_years[1]
        persons: dict[tuple[SeriesKey, Quarter], int] = {}
        for key in self.dist.joints:
            if key in indicator_of:
                persons |= {(key, q): counts[(indicator_of[key], q)] for q in self.quarters}
                continue
            rng = self._rng("persons", *key)
            yearly = self.dist.trend_counts(key, [y for y in years if y <= last_trend_year])
            expected = self.dist.expected(key, last_trend_year)
            for year in (y for y in years if y > last_trend_year):
                expected *= 1 + rng.uniform(*drift)
                yearly[year] = round(expected)
            for year, total in yearly.items():
                persons |= {(key, q): n for q, n in self._by_season(rng, year, total).items()}
        return persons

    def _table_cells(
        self, persons: dict[tuple[SeriesKey, Quarter], int]
    ) -> dict[Quarter, dict[SeriesKey, list[Cell]]]:
        """Each table's printed cells dealt out in a seeded shuffled order to the records of its
        series in the table's years, so that those years reproduce the table exactly."""
        given: dict[Quarter, dict[SeriesKey, list[Cell]]] = defaultdict(dict)
        for key, joint in self.dist.joints.items():
            window = [q for q in self.quarters if q.year in joint.years]
            if len(window) < 4 * len(joint.years):
                continue  # the table's years have not all ended: their records are drawn
            sizes = [persons[(key, q)] for q in window]
            # trend_counts makes the table's years add up to its total (load_distributions checks
            # that they are trend years); a revised count there would break it.
            if sum(sizes) != joint.total:
                raise ValueError(
                    f"{joint.table} {key}: {sum(sizes)} records in {joint.years}, not the printed {joint.total}"
                )
            cells = joint.persons()
            self._rng("table", *key).shuffle(cells)
            dealt = iter(cells)
            for quarter, size in zip(window, sizes, strict=True):
                given[quarter][key] = list(itertools.islice(dealt, size))
        return given

    def _add_upload(self, at: dt.datetime, records: list[dict]) -> None:
        """Schedule an upload; the progress counts only the records that will be written."""
        if self._add(at, functools.partial(self._upload, records)):
            self._cases_planned += len(records)

    def _upload(self, records: list[dict], now: dt.datetime) -> None:
        """Upload the records in batches, one transaction each (all or nothing, as the API)."""
        for start in range(0, len(records), self.batch_size):
            batch = records[start : start + self.batch_size]
            with self.database.transaction() as session:
                upsert_records(session, self.catalog, batch, now)
            before, self._cases_written = self._cases_written, self._cases_written + len(batch)
            step = max(self.batch_size, self._cases_planned // 10)
            if before // step != self._cases_written // step or self._cases_written == self._cases_planned:
                self.progress(f"case records {self._cases_written:,} of {self._cases_planned:,}")


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
                    "ref": f"{DEMO_REF_PREFIX}{quarter}-{number:07d}",
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


def generate(
    database: Database,
    catalog: Catalog,
    *,
    seed: int = 1,
    until: dt.date,
    batch_size: int = CASE_BATCH,
    distributions: Distributions | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Fill an empty intake database with demo data up to (not including) `until`; return a summary."""
    generator = DemoGenerator(
        database,
        catalog,
        distributions or load_distributions(catalog),
        seed=seed,
        until=until,
        batch_size=batch_size,
        progress=progress,
    )
    return generator.run()
