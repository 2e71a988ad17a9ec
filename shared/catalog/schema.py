"""The catalog's frozen dataclasses and the marshmallow schemas that validate and build them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Range, Regexp

from shared.periods import Quarter

ROLES = ("suspect", "victim")
SEXES = ("male", "female")
DIRECTIONS = ("decrease", "increase")
# output: effort the bureau controls, judged against plan; caseload: demand, shown as a trend only.
METRIC_KINDS = ("output", "caseload")
# plan: the plan document's own goal; continuation: a later year's goal the city sets in its terms.
GOAL_KINDS = ("plan", "continuation")


@dataclass(frozen=True)
class Plan:
    """The plan itself: who owns it and which years it covers."""

    id: str
    title: str
    title_en: str
    city: str
    city_en: str
    owner_bureau: str
    history_first_year: int
    timezone: str
    # The plan's own warning that the counts understate the harm (犯罪黑數), quoted wherever counts
    # of cases are shown to people; empty for a plan that has none.
    dark_figure_note: str = ""


@dataclass(frozen=True)
class Reporting:
    """The reporting rules: when a quarter's report is due and locks, and when an action is behind."""

    first_quarter: Quarter
    due_days: int
    lock_days: int
    behind_threshold: Decimal


@dataclass(frozen=True)
class Disclosure:
    """The small-cell rule: a count of case records from 1 to min_cell - 1 is never published as is.

    Such small cells can point at a victim; kpi withholds them (and the cells that would let
    anyone recompute them) in every table and metric built from case records.
    """

    min_cell: int


@dataclass(frozen=True)
class Goal:
    """The indicators' goal in one year: `reduction` below the baseline year's count."""

    year: int
    baseline_year: int
    reduction: Decimal
    kind: str
    text: str
    indicators: tuple[str, ...] = ()  # empty: every indicator of the catalog

    @property
    def is_plans_own(self) -> bool:
        return self.kind == "plan"


@dataclass(frozen=True)
class Bureau:
    """A city bureau responsible for actions."""

    id: str
    name: str
    name_en: str


@dataclass(frozen=True)
class Outcome:
    """One expected outcome (預期成效) of a program."""

    text: str
    text_en: str


@dataclass(frozen=True)
class Program:
    """One of the plan's prevention programs (方案)."""

    id: str
    number: int
    name: str
    name_en: str
    expected_outcomes: tuple[Outcome, ...]


@dataclass(frozen=True)
class Metric:
    """A quantity a bureau reports for one action and one quarter."""

    id: str
    name: str
    name_en: str
    unit: str
    unit_en: str
    kind: str
    basis: str
    by_sex: bool = False  # counts people: reported as 男/女/其他或不詳, the total derived

    @property
    def judged(self) -> bool:
        """Output metrics are judged against their plan; caseload metrics never are."""
        return self.kind == "output"


@dataclass(frozen=True)
class Action:
    """One concrete measure (具體作法) a bureau carries out under a program."""

    id: str
    program: str
    bureau: str
    number: int
    text: str
    text_en: str
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class Indicator:
    """An outcome indicator of the plan's goal, with its target change from the baseline."""

    id: str
    name: str
    name_en: str
    category: str
    role: str
    sex: str
    direction: str


@dataclass(frozen=True)
class CrimeCategory:
    """An offence category of the police crime records."""

    id: str
    name: str
    name_en: str


@dataclass(frozen=True)
class GbvType:
    """One of the Executive Yuan's types of digital gender-based violence."""

    number: int
    name: str
    name_en: str


@dataclass(frozen=True)
class Code:
    """A coded statistical label (crime cause, victim-suspect relationship)."""

    id: str
    label: str
    label_en: str
    residual: bool = False


@dataclass(frozen=True)
class AgeBand:
    """An age band of the statistics tables; max_age None means open-ended."""

    id: str
    label: str
    label_en: str
    min_age: int
    max_age: int | None


@dataclass(frozen=True)
class District:
    """An administrative district of the city."""

    id: str
    name: str
    name_en: str


# Collections looked up by id, in the order of the catalog's attributes.
_ID_COLLECTIONS = (
    "bureaus",
    "programs",
    "actions",
    "indicators",
    "crime_categories",
    "causes",
    "relationships",
    "age_bands",
    "districts",
)


@dataclass(frozen=True)
class Catalog:
    """The whole plan catalog; collections are tuples in file order."""

    plan: Plan
    reporting: Reporting
    disclosure: Disclosure
    goals: tuple[Goal, ...]
    bureaus: tuple[Bureau, ...]
    programs: tuple[Program, ...]
    actions: tuple[Action, ...]
    indicators: tuple[Indicator, ...]
    crime_categories: tuple[CrimeCategory, ...]
    gbv_types: tuple[GbvType, ...]
    causes: tuple[Code, ...]
    relationships: tuple[Code, ...]
    age_bands: tuple[AgeBand, ...]
    districts: tuple[District, ...]

    @cached_property
    def _index(self) -> dict[str, dict[str, Any]]:
        # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass.
        return {name: {item.id: item for item in getattr(self, name)} for name in _ID_COLLECTIONS}

    def _get(self, collection: str, item_id: str) -> Any:
        try:
            return self._index[collection][item_id]
        except KeyError:
            raise KeyError(item_id) from None

    def bureau(self, bureau_id: str) -> Bureau:
        """Return the bureau with this id."""
        return self._get("bureaus", bureau_id)

    def program(self, program_id: str) -> Program:
        """Return the program with this id."""
        return self._get("programs", program_id)

    def action(self, action_id: str) -> Action:
        """Return the action with this id."""
        return self._get("actions", action_id)

    def indicator(self, indicator_id: str) -> Indicator:
        """Return the indicator with this id."""
        return self._get("indicators", indicator_id)

    def crime_category(self, category_id: str) -> CrimeCategory:
        """Return the crime category with this id."""
        return self._get("crime_categories", category_id)

    def cause(self, cause_id: str) -> Code:
        """Return the crime cause with this id."""
        return self._get("causes", cause_id)

    def relationship(self, relationship_id: str) -> Code:
        """Return the victim-suspect relationship with this id."""
        return self._get("relationships", relationship_id)

    def age_band(self, band_id: str) -> AgeBand:
        """Return the age band with this id."""
        return self._get("age_bands", band_id)

    def district(self, district_id: str) -> District:
        """Return the district with this id."""
        return self._get("districts", district_id)

    def actions_for(self, bureau_id: str) -> tuple[Action, ...]:
        """Return the bureau's actions in file order."""
        self.bureau(bureau_id)
        return tuple(action for action in self.actions if action.bureau == bureau_id)

    def metric(self, action_id: str, metric_id: str) -> Metric:
        """Return one metric of one action."""
        for metric in self.action(action_id).metrics:
            if metric.id == metric_id:
                return metric
        raise KeyError(metric_id)

    def goal(self, indicator_id: str, year: int) -> Goal | None:
        """The goal of an indicator in a year, or None: that year shows counts and trend, no verdict."""
        self.indicator(indicator_id)
        for goal in self.goals:
            if goal.year == year and (not goal.indicators or indicator_id in goal.indicators):
                return goal
        return None

    def age_band_for(self, age: int) -> AgeBand:
        """Return the age band containing this age."""
        if age < 0:
            raise ValueError(f"age must not be negative, not {age}")
        for band in self.age_bands:
            if band.min_age <= age and (band.max_age is None or age <= band.max_age):
                return band
        raise ValueError(f"no age band contains age {age}")

    def to_dict(self) -> dict[str, Any]:
        """Return the catalog as a JSON-serialisable dict shaped like the YAML file."""
        return CatalogSchema().dump(self)


SNAKE_ID = Regexp(r"^[a-z][a-z0-9_]*$", error="Must be a snake_case id.")


def _text(**kwargs: Any) -> fields.String:
    return fields.String(required=True, validate=Length(min=1), **kwargs)


def _snake_id() -> fields.String:
    return fields.String(required=True, validate=[Length(min=1), SNAKE_ID])


def _list_of(schema: type[Schema]) -> fields.List:
    return fields.List(fields.Nested(schema), required=True, validate=Length(min=1))


def _valid_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone {name!r}.") from None


class Fraction(fields.Decimal):
    """A Decimal on load that dumps as a float, keeping to_dict() JSON-serialisable."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> float | None:
        return None if value is None else float(value)


class _ModelSchema(Schema):
    """Builds the schema's frozen dataclass, turning lists into tuples."""

    model: type

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return self.model(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


class QuarterField(fields.Field):
    """A quarter written as 2022Q1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Quarter:
        try:
            return Quarter.parse(value)
        except (ValueError, TypeError, AttributeError):
            raise ValidationError("Must be a quarter such as 2022Q1.") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


_YEAR = Range(min=1912, max=9999)


class PlanSchema(_ModelSchema):
    model = Plan
    id = _text()
    title = _text()
    title_en = _text()
    city = _text()
    city_en = _text()
    owner_bureau = _snake_id()
    history_first_year = fields.Integer(required=True, strict=True, validate=_YEAR)
    timezone = fields.String(required=True, validate=_valid_timezone)
    dark_figure_note = fields.String(load_default="", validate=Length(max=1000))


class ReportingSchema(_ModelSchema):
    model = Reporting
    first_quarter = QuarterField(required=True)
    due_days = fields.Integer(required=True, strict=True, validate=Range(min=0, max=366))
    lock_days = fields.Integer(required=True, strict=True, validate=Range(min=0, max=3660))
    behind_threshold = Fraction(
        required=True, validate=Range(min=0, max=1, min_inclusive=False, max_inclusive=True)
    )


class DisclosureSchema(_ModelSchema):
    model = Disclosure
    # 1 publishes every count; more than 100 would hide the plan's own tables whole.
    min_cell = fields.Integer(required=True, strict=True, validate=Range(min=1, max=100))


class GoalSchema(_ModelSchema):
    model = Goal
    year = fields.Integer(required=True, strict=True, validate=_YEAR)
    baseline_year = fields.Integer(required=True, strict=True, validate=_YEAR)
    reduction = Fraction(
        required=True, validate=Range(min=0, max=1, min_inclusive=False, max_inclusive=False)
    )
    kind = fields.String(required=True, validate=OneOf(GOAL_KINDS))
    text = _text()
    indicators = fields.List(fields.String(), load_default=list)


class BureauSchema(_ModelSchema):
    model = Bureau
    id = _snake_id()
    name = _text()
    name_en = _text()


class OutcomeSchema(_ModelSchema):
    model = Outcome
    text = _text()
    text_en = _text()


class ProgramSchema(_ModelSchema):
    model = Program
    id = _snake_id()
    number = fields.Integer(required=True, strict=True, validate=Range(min=1))
    name = _text()
    name_en = _text()
    expected_outcomes = _list_of(OutcomeSchema)


class MetricSchema(_ModelSchema):
    model = Metric
    id = _snake_id()
    name = _text()
    name_en = _text()
    unit = _text()
    unit_en = _text()
    kind = fields.String(required=True, validate=OneOf(METRIC_KINDS))
    basis = _text()
    by_sex = fields.Boolean(load_default=False)


class ActionSchema(_ModelSchema):
    model = Action
    id = _text()
    program = _snake_id()
    bureau = _snake_id()
    number = fields.Integer(required=True, strict=True, validate=Range(min=1))
    text = _text()
    text_en = _text()
    metrics = _list_of(MetricSchema)


class IndicatorSchema(_ModelSchema):
    model = Indicator
    id = _snake_id()
    name = _text()
    name_en = _text()
    category = _snake_id()
    role = fields.String(required=True, validate=OneOf(ROLES))
    sex = fields.String(required=True, validate=OneOf(SEXES))
    direction = fields.String(required=True, validate=OneOf(DIRECTIONS))


class CrimeCategorySchema(_ModelSchema):
    model = CrimeCategory
    id = _snake_id()
    name = _text()
    name_en = _text()


class GbvTypeSchema(_ModelSchema):
    model = GbvType
    number = fields.Integer(required=True, strict=True)
    name = _text()
    name_en = _text()


class CodeSchema(_ModelSchema):
    model = Code
    id = _snake_id()
    label = _text()
    label_en = _text()
    residual = fields.Boolean(load_default=False)


class AgeBandSchema(_ModelSchema):
    model = AgeBand
    id = _text()
    label = _text()
    label_en = _text()
    min_age = fields.Integer(required=True, strict=True, validate=Range(min=0))
    max_age = fields.Integer(required=True, strict=True, allow_none=True, validate=Range(min=0))


class DistrictSchema(_ModelSchema):
    model = District
    id = _snake_id()
    name = _text()
    name_en = _text()


class _Errors:
    """Collects messages under nested key paths, in marshmallow's error layout."""

    def __init__(self) -> None:
        self.messages: dict[Any, Any] = {}

    def add(self, *path: str | int, message: str) -> None:
        node = self.messages
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node.setdefault(path[-1], []).append(message)


class CatalogSchema(_ModelSchema):
    model = Catalog
    plan = fields.Nested(PlanSchema, required=True)
    reporting = fields.Nested(ReportingSchema, required=True)
    disclosure = fields.Nested(DisclosureSchema, required=True)
    goals = fields.List(fields.Nested(GoalSchema), load_default=list)
    bureaus = _list_of(BureauSchema)
    programs = _list_of(ProgramSchema)
    actions = _list_of(ActionSchema)
    indicators = _list_of(IndicatorSchema)
    crime_categories = _list_of(CrimeCategorySchema)
    gbv_types = _list_of(GbvTypeSchema)
    causes = _list_of(CodeSchema)
    relationships = _list_of(CodeSchema)
    age_bands = _list_of(AgeBandSchema)
    districts = _list_of(DistrictSchema)

    @validates_schema
    def check_references(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Check ids, cross-references and orderings that no single field can see."""
        errors = _Errors()
        for name in _ID_COLLECTIONS:
            _check_unique(errors, name, [item.id for item in data[name]], "id")
        _check_unique(errors, "programs", [p.number for p in data["programs"]], "number")

        plan: Plan = data["plan"]
        bureaus = {b.id for b in data["bureaus"]}
        programs = {p.id: p for p in data["programs"]}
        if plan.owner_bureau not in bureaus:
            errors.add("plan", "owner_bureau", message=f"Unknown bureau {plan.owner_bureau!r}.")
        if data["reporting"].first_quarter.year < plan.history_first_year:
            errors.add("reporting", "first_quarter", message="Must not be before history_first_year.")
        _check_goals(errors, data["goals"], {i.id for i in data["indicators"]}, plan.history_first_year)

        for i, action in enumerate(data["actions"]):
            program = programs.get(action.program)
            if program is None:
                errors.add("actions", i, "program", message=f"Unknown program {action.program!r}.")
            if action.bureau not in bureaus:
                errors.add("actions", i, "bureau", message=f"Unknown bureau {action.bureau!r}.")
            if program is not None:
                expected = f"{program.number}.{action.bureau}.{action.number}"
                if action.id != expected:
                    errors.add("actions", i, "id", message=f"Must be {expected!r}.")
            metric_ids = [m.id for m in action.metrics]
            _check_unique(errors, ("actions", i, "metrics"), metric_ids, "id")

        categories = {c.id for c in data["crime_categories"]}
        for i, indicator in enumerate(data["indicators"]):
            if indicator.category not in categories:
                message = f"Unknown crime category {indicator.category!r}."
                errors.add("indicators", i, "category", message=message)

        for i, gbv_type in enumerate(data["gbv_types"]):
            if gbv_type.number != i + 1:
                errors.add("gbv_types", i, "number", message=f"Must be {i + 1}.")

        _check_age_bands(errors, data["age_bands"])
        if errors.messages:
            raise ValidationError(errors.messages)


def _check_goals(errors: _Errors, goals: list[Goal], indicators: set[str], history_first_year: int) -> None:
    # Each indicator has at most one goal a year, so a year's verdict is never ambiguous.
    seen: dict[tuple[int, str], int] = {}
    for i, goal in enumerate(goals):
        if goal.baseline_year >= goal.year:
            errors.add("goals", i, "baseline_year", message="Must be before year.")
        if goal.baseline_year < history_first_year:
            errors.add(
                "goals", i, "baseline_year", message="Must not be before the plan's history_first_year."
            )
        for name in goal.indicators:
            if name not in indicators:
                errors.add("goals", i, "indicators", message=f"Unknown indicator {name!r}.")
        for name in goal.indicators or sorted(indicators):
            if (goal.year, name) in seen:
                message = f"{name} already has a goal for {goal.year} (index {seen[goal.year, name]})."
                errors.add("goals", i, "year", message=message)
            seen.setdefault((goal.year, name), i)


def _check_unique(errors: _Errors, where: str | tuple, values: list[Any], key: str) -> None:
    prefix = where if isinstance(where, tuple) else (where,)
    first_seen: dict[Any, int] = {}
    for i, value in enumerate(values):
        if value in first_seen:
            message = f"Duplicate {key} {value!r} (first at index {first_seen[value]})."
            errors.add(*prefix, i, key, message=message)
        else:
            first_seen[value] = i


def _check_age_bands(errors: _Errors, bands: list[AgeBand]) -> None:
    # Bands must tile 0..max so that age_band_for() finds exactly one band for every covered age.
    next_min = 0
    for i, band in enumerate(bands):
        if band.min_age != next_min:
            errors.add("age_bands", i, "min_age", message=f"Must be {next_min} (contiguous bands).")
        if band.max_age is None:
            if i != len(bands) - 1:
                errors.add("age_bands", i, "max_age", message="Only the last band may be open.")
            break
        if band.max_age < band.min_age:
            errors.add("age_bands", i, "max_age", message="Must not be below min_age.")
        next_min = band.max_age + 1


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested error messages into {"a.0.b": [messages]}."""
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        return {prefix or "<root>": [str(m) for m in items]}
    flat: dict[str, list[str]] = defaultdict(list)
    for key, value in messages.items():
        # Schema-level errors belong to the enclosing key, not to a "_schema" child.
        child = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
        for path, texts in flatten_messages(value, child).items():
            flat[path].extend(texts)
    return dict(flat)


__all__ = [
    "GOAL_KINDS",
    "METRIC_KINDS",
    "Action",
    "AgeBand",
    "Catalog",
    "CatalogSchema",
    "Code",
    "CrimeCategory",
    "District",
    "GbvType",
    "Goal",
    "Indicator",
    "Metric",
    "Outcome",
    "Plan",
    "Program",
    "Reporting",
    "flatten_messages",
]
