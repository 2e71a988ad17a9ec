"""Request and response schemas of the KPI API."""

from __future__ import annotations

import marshmallow as ma

from shared.fields import Code, StrictSchema

YEAR = ma.validate.Range(min=1912, max=2200)
QUARTER = ma.validate.Range(min=1, max=4)
FORMATS = ("json", "csv", "xlsx")


def _number(description: str | None = None) -> ma.fields.Float:
    return ma.fields.Float(allow_none=True, metadata={"description": description} if description else {})


def _exact() -> ma.fields.Boolean:
    return ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "Exact counts of case records, without the small-cell rule: "
            "for the statistics unit and admins only (403 to other roles)"
        },
    )


def _year_and_quarter_together(data: dict) -> None:
    if ("year" in data) != ("quarter" in data):
        raise ma.ValidationError("Give both year and quarter, or neither.", "quarter")


class DisclosureSchema(ma.Schema):
    """How the small-cell rule was applied to counts of case records."""

    exact = ma.fields.Boolean(metadata={"description": "True: no count is withheld (exact=true)"})
    min_cell = ma.fields.Integer(
        allow_none=True, metadata={"description": "Counts from 1 to min_cell - 1 are withheld"}
    )
    suppressed_cells = ma.fields.Integer(metadata={"description": "How many values are withheld"})
    note = ma.fields.String(allow_none=True, metadata={"description": "The rule, as printed under the table"})


# -- indicators --------------------------------------------------------------
class IndicatorQuerySchema(StrictSchema):
    year = ma.fields.Integer(
        validate=YEAR,
        metadata={"description": "Default: the current year (of the current reporting quarter)"},
    )


class IndicatorQuarterSchema(ma.Schema):
    quarter = ma.fields.Integer()
    count = ma.fields.Integer(allow_none=True)
    baseline_count = ma.fields.Integer(allow_none=True)
    seasonal_target = _number("The baseline year's count of this quarter x (1 - reduction)")


class GoalSchema(ma.Schema):
    kind = ma.fields.String(
        metadata={"description": "plan: the plan's own goal; continuation: a later year's goal in its terms"}
    )
    reduction = ma.fields.Float(metadata={"description": "The reduction from the baseline year, e.g. 0.03"})
    baseline_year = ma.fields.Integer()
    text = ma.fields.String(metadata={"description": "The goal as the catalog words it"})


class IndicatorSchema(ma.Schema):
    indicator = ma.fields.String()
    name = ma.fields.String()
    year = ma.fields.Integer()
    goal = ma.fields.Nested(
        GoalSchema, allow_none=True, metadata={"description": "The year's goal; null: no verdict this year"}
    )
    baseline_year = ma.fields.Integer(
        metadata={"description": "The goal's baseline year; without a goal, the year before"}
    )
    baseline = ma.fields.Integer(
        allow_none=True, metadata={"description": "Sum of the baseline year's quarters"}
    )
    target = _number("baseline x (1 - reduction)")
    latest_quarter = ma.fields.Integer(allow_none=True)
    ytd_actual = ma.fields.Integer(allow_none=True)
    baseline_ytd = ma.fields.Integer(allow_none=True)
    ytd_target = _number("baseline_ytd x (1 - reduction)")
    change_pct = _number("(ytd_actual / baseline_ytd - 1) x 100, two decimals half-up")
    status = ma.fields.String(
        metadata={
            "description": "on_track, at_risk, off_track, no_data, no_baseline, no_goal; met or missed at year end"
        }
    )
    projection = _number("ytd_actual x baseline / baseline_ytd")
    quarters = ma.fields.List(ma.fields.Nested(IndicatorQuarterSchema))


# -- trends ------------------------------------------------------------------
class TrendQuerySchema(StrictSchema):
    indicator = Code(60, required=True)
    from_year = ma.fields.Integer(
        validate=YEAR, metadata={"description": "Default: the plan's first history year"}
    )
    to_year = ma.fields.Integer(
        validate=YEAR, metadata={"description": "Default: the year before the current year"}
    )
    exact = _exact()

    @ma.validates_schema
    def check_span(self, data, **kwargs):
        if "from_year" in data and "to_year" in data and data["from_year"] > data["to_year"]:
            raise ma.ValidationError("Must not be before from_year.", "to_year")


class TrendYearSchema(ma.Schema):
    year = ma.fields.Integer()
    count = ma.fields.Integer(
        allow_none=True, metadata={"description": "The indicator's count (four quarters)"}
    )
    male = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Case records of the category and role, men; null: withheld"},
    )
    female = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Case records of the category and role, women; null: withheld"},
    )
    male_female_ratio = _number("male / female (倍), two decimals half-up; null if either is withheld")
    suppressed = ma.fields.List(
        ma.fields.String(), metadata={"description": "The counts withheld by the small-cell rule"}
    )


class RangeSchema(ma.Schema):
    min = ma.fields.Float()
    max = ma.fields.Float()


class TrendSchema(ma.Schema):
    indicator = ma.fields.String()
    name = ma.fields.String()
    category = ma.fields.String()
    role = ma.fields.String()
    sex = ma.fields.String()
    from_year = ma.fields.Integer()
    to_year = ma.fields.Integer()
    years = ma.fields.List(ma.fields.Nested(TrendYearSchema))
    growth_rate_pct = _number("Compound annual growth rate of the indicator's counts (年增率), percent")
    growth_rate_pct_by_sex = ma.fields.Dict(keys=ma.fields.String(), values=_number())
    male_female_ratio_range = ma.fields.Nested(RangeSchema, allow_none=True)
    disclosure = ma.fields.Nested(DisclosureSchema)


# -- compliance --------------------------------------------------------------
class ComplianceQuerySchema(StrictSchema):
    year = ma.fields.Integer(validate=YEAR)
    quarter = ma.fields.Integer(validate=QUARTER)

    @ma.validates_schema
    def check_pair(self, data, **kwargs):
        _year_and_quarter_together(data)


class BureauComplianceSchema(ma.Schema):
    bureau = ma.fields.String()
    name = ma.fields.String()
    status = ma.fields.String(metadata={"description": "draft, submitted, accepted, returned or not_started"})
    state = ma.fields.String(metadata={"description": "on_time, late, not_yet_due or overdue"})
    submitted = ma.fields.Boolean()
    submitted_at = ma.fields.String(
        allow_none=True, metadata={"format": "date-time", "description": "The first submission"}
    )
    days_late = ma.fields.Integer(allow_none=True)
    on_time = ma.fields.Boolean()
    days_overdue = ma.fields.Integer(
        metadata={"description": "Days past the due date while unsubmitted, else 0"}
    )
    open_until = ma.fields.String(
        metadata={
            "format": "date-time",
            "description": "The instant the quarter locks for the bureau (later if a coordinator reopened it)",
        }
    )
    locked = ma.fields.Boolean(
        metadata={"description": "True: the bureau can no longer report the quarter (closed history)"}
    )


class ComplianceSummarySchema(ma.Schema):
    year = ma.fields.Integer()
    quarter = ma.fields.Integer()
    period_label = ma.fields.String()
    due_date = ma.fields.String(
        metadata={"format": "date", "description": "The last day a report is on time"}
    )
    due_passed = ma.fields.Boolean(metadata={"description": "False: not yet due, so nobody is late yet"})
    expected = ma.fields.Integer()
    submitted = ma.fields.Integer()
    on_time = ma.fields.Integer()
    completeness = ma.fields.Float(metadata={"description": "submitted / expected"})
    timeliness = ma.fields.Float(metadata={"description": "on_time / expected"})


class ComplianceSchema(ComplianceSummarySchema):
    bureaus = ma.fields.List(ma.fields.Nested(BureauComplianceSchema))


# -- progress ----------------------------------------------------------------
class ProgressQuerySchema(StrictSchema):
    year = ma.fields.Integer(validate=YEAR)
    quarter = ma.fields.Integer(validate=QUARTER)
    bureau = Code()
    program = Code()

    @ma.validates_schema
    def check_pair(self, data, **kwargs):
        _year_and_quarter_together(data)


class SexCountsSchema(ma.Schema):
    male = ma.fields.Integer()
    female = ma.fields.Integer()
    other = ma.fields.Integer()


class ActionProgressSchema(ma.Schema):
    action = ma.fields.String()
    bureau = Code()
    program = Code()
    metric = ma.fields.String()
    metric_name = ma.fields.String()
    unit = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "output (judged against plan) or caseload (a trend)"})
    state = ma.fields.String(
        metadata={"description": "behind, on_plan, no_target, caseload, not_yet_due or not_reported"}
    )
    planned_to_date = _number("The year-to-date plan; null for caseload metrics and without a target")
    reported_to_date = ma.fields.Integer()
    by_sex_to_date = ma.fields.Nested(
        SexCountsSchema, allow_none=True, metadata={"description": "For metrics that count people"}
    )
    ratio = _number("reported_to_date / planned_to_date, four decimals half-up")
    percent = ma.fields.Integer(
        allow_none=True, metadata={"description": "The ratio in whole percent, half-up"}
    )
    previous_year_to_date = ma.fields.Integer(
        allow_none=True, metadata={"description": "Caseload: the same quarters of the year before"}
    )
    change_pct = _number("Caseload: the change from the year before, percent")
    behind = ma.fields.Boolean(
        metadata={"description": "kpi's judgement: an output metric under the threshold"}
    )


class BureauProgressSchema(ma.Schema):
    bureau = ma.fields.String()
    ratio = _number("Mean of the bureau's judged action metric ratios")
    percent = ma.fields.Integer(allow_none=True)
    behind_actions = ma.fields.List(ma.fields.String())


class ProgramProgressSchema(ma.Schema):
    program = ma.fields.String()
    ratio = _number("Mean of the program's judged action metric ratios")
    percent = ma.fields.Integer(allow_none=True)
    behind_actions = ma.fields.List(ma.fields.String())


class ProgressSchema(ma.Schema):
    year = ma.fields.Integer()
    quarter = ma.fields.Integer()
    period_label = ma.fields.String()
    due_passed = ma.fields.Boolean(metadata={"description": "False: not yet due, nothing is judged"})
    threshold = ma.fields.Float(metadata={"description": "The catalog's behind-plan threshold"})
    threshold_percent = ma.fields.Integer()
    actions = ma.fields.List(ma.fields.Nested(ActionProgressSchema))
    bureaus = ma.fields.List(ma.fields.Nested(BureauProgressSchema))
    programs = ma.fields.List(ma.fields.Nested(ProgramProgressSchema))


# -- tables ------------------------------------------------------------------
class TableQuerySchema(StrictSchema):
    from_year = ma.fields.Integer(validate=YEAR, metadata={"description": "Default: the year before to_year"})
    to_year = ma.fields.Integer(
        validate=YEAR, metadata={"description": "Default: the latest year with records"}
    )
    category = Code(metadata={"description": "A crime category of the catalog; default: all"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(FORMATS))
    exact = _exact()

    @ma.validates_schema
    def check_span(self, data, **kwargs):
        if "from_year" in data and "to_year" in data and data["from_year"] > data["to_year"]:
            raise ma.ValidationError("Must not be before from_year.", "to_year")


class TableRowSchema(ma.Schema):
    label = ma.fields.String()
    row_type = ma.fields.String(metadata={"description": "total, share (構成比), cause, age_band or type"})
    sex = ma.fields.String(allow_none=True)
    code = ma.fields.String(allow_none=True)
    values = ma.fields.List(
        ma.fields.Raw(allow_none=True),
        metadata={"description": "One number per column; null where withheld (or a share of zero)"},
    )
    suppressed = ma.fields.List(
        ma.fields.Boolean(),
        metadata={"description": "Per column: withheld by the small-cell rule"},
    )


class TableSchema(ma.Schema):
    kind = ma.fields.String()
    title = ma.fields.String()
    unit = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    category_name = ma.fields.String()
    from_year = ma.fields.Integer()
    to_year = ma.fields.Integer()
    label_header = ma.fields.String()
    columns = ma.fields.List(ma.fields.String())
    rows = ma.fields.List(ma.fields.Nested(TableRowSchema))
    disclosure = ma.fields.Nested(DisclosureSchema)


# -- status ------------------------------------------------------------------
class StatusSchema(ma.Schema):
    cursor = ma.fields.Integer(metadata={"description": "Position reached in intake's change feed"})
    last_sync_at = ma.fields.DateTime(allow_none=True)
    last_success_at = ma.fields.DateTime(allow_none=True)
    age_seconds = _number("Seconds since the last successful sync")
    source_up = ma.fields.Boolean(
        allow_none=True, metadata={"description": "Could the last sync read intake?"}
    )
    last_error = ma.fields.String(allow_none=True)
    snapshot_at = ma.fields.DateTime(allow_none=True)
    demo_data = ma.fields.Boolean(metadata={"description": "Do the figures include demo data?"})
    first_quarter = ma.fields.String(
        allow_none=True, metadata={"description": "The first quarter the deployment tracks, e.g. 2022Q1"}
    )
    current_quarter = ma.fields.String(
        allow_none=True,
        metadata={"description": "The current reporting quarter (latest whose due date passed): the default"},
    )
    current_year = ma.fields.Integer(
        allow_none=True, metadata={"description": "The indicators' default year"}
    )
