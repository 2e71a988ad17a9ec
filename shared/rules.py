"""The plan's rules, defined once: intake's form, kpi's figures and notify's e-mails all ask here.

Every number comes from the catalog (`reporting`, `goals`, each metric's `kind`); nothing here reads
a setting, a clock or a database, so the services cannot disagree about a due date, about which
actions are behind plan or about an indicator's verdict. kpi publishes the judgements; notify reads
kpi's and recomputes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.catalog import Catalog, Disclosure, Goal, Indicator, Metric, Reporting
from shared.numbers import HUNDRED, half_up, ratio
from shared.periods import TAIPEI, Quarter

# -- report statuses ------------------------------------------------------------------------------
NOT_STARTED, DRAFT, SUBMITTED, ACCEPTED, RETURNED = (
    "not_started",
    "draft",
    "submitted",
    "accepted",
    "returned",
)
REPORT_STATUSES = (DRAFT, SUBMITTED, ACCEPTED, RETURNED)
# Counted as submitted: handed in and not taken back. A returned report was submitted and sent back
# for correction, so it counts for timeliness and its values count toward progress.
SUBMITTED_STATUSES = frozenset({SUBMITTED, ACCEPTED, RETURNED})
# Still to hand in: what reminders and overdue notices chase.
OUTSTANDING_STATUSES = frozenset({NOT_STARTED, DRAFT})
# The words for each status, on intake's pages, the quarterly report and notify's e-mails alike.
REPORT_STATUS_NAMES = {
    NOT_STARTED: "未填報",
    DRAFT: "草稿",
    SUBMITTED: "已送出",
    ACCEPTED: "已核定",
    RETURNED: "已退回",
}

# How a bureau's report of a quarter stands (kpi's compliance; notify acts on it).
ON_TIME, LATE, NOT_YET_DUE, OVERDUE = "on_time", "late", "not_yet_due", "overdue"


def counts_as_submitted(status: str | None) -> bool:
    return status in SUBMITTED_STATUSES


# -- dates ----------------------------------------------------------------------------------------
def _end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.max, tzinfo=TAIPEI)


def taipei_today(now: dt.datetime) -> dt.date:
    return now.astimezone(TAIPEI).date()


def case_dates(catalog: Catalog, now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The first and last day a case record may fall on: from 1 January of the plan's first year of
    history (the catalog's `plan.history_first_year`) to today in Taipei."""
    return dt.date(catalog.plan.history_first_year, 1, 1), taipei_today(now)


def due_date(reporting: Reporting, quarter: Quarter) -> dt.date:
    """The last day on which the quarter's report is on time."""
    return quarter.end + dt.timedelta(days=reporting.due_days)


def due_at(reporting: Reporting, quarter: Quarter) -> dt.datetime:
    """The instant the report becomes late: the end of its due date in Taipei."""
    return _end_of_day(due_date(reporting, quarter))


def lock_at(reporting: Reporting, quarter: Quarter) -> dt.datetime:
    """The instant the quarter closes for the bureau, `lock_days` after its due date."""
    return _end_of_day(due_date(reporting, quarter) + dt.timedelta(days=reporting.lock_days))


def open_until(reporting: Reporting, quarter: Quarter, reopened_at: dt.datetime | None) -> dt.datetime:
    """The instant the quarter closes for the bureau: its lock date, or `lock_days` after a
    coordinator reopened it if that is later."""
    closes = lock_at(reporting, quarter)
    if reopened_at is not None:
        closes = max(closes, reopened_at + dt.timedelta(days=reporting.lock_days))
    return closes


def is_locked(
    reporting: Reporting, quarter: Quarter, now: dt.datetime, reopened_at: dt.datetime | None
) -> bool:
    """Closed for the bureau: past the lock date, unless a coordinator reopened it within `lock_days`."""
    return now > open_until(reporting, quarter, reopened_at)


def days_late(reporting: Reporting, quarter: Quarter, submitted_at: dt.datetime) -> int:
    """Whole Taipei calendar days between the due date and the submission (0 if on time)."""
    return max(0, (taipei_today(submitted_at) - due_date(reporting, quarter)).days)


def days_until_due(reporting: Reporting, quarter: Quarter, now: dt.datetime) -> int:
    """Taipei calendar days from today to the due date (negative once it has passed)."""
    return (due_date(reporting, quarter) - taipei_today(now)).days


def has_started(quarter: Quarter, now: dt.datetime) -> bool:
    return quarter.start <= taipei_today(now)


def has_ended(quarter: Quarter, now: dt.datetime) -> bool:
    """A quarter's report can be submitted once the quarter is over (drafts can be saved before)."""
    return quarter.end < taipei_today(now)


def first_tracked_quarter(reporting: Reporting, installed_on: dt.date | None) -> Quarter:
    """The plan's first quarter, or the deployment's first full quarter if it was installed later:
    a new installation is not asked for years of reports from before it existed."""
    if installed_on is None:
        return reporting.first_quarter
    installed = Quarter.containing(installed_on)
    first_full = installed if installed_on == installed.start else installed.next()
    return max(reporting.first_quarter, first_full)


def chased_quarter(first: Quarter, now: dt.datetime) -> Quarter | None:
    """The quarter that has just ended: the one whose report is asked for now (None before `first`)."""
    quarter = Quarter.containing(taipei_today(now)).previous()
    return quarter if quarter >= first else None


def tracked_quarters(first: Quarter, now: dt.datetime) -> list[Quarter]:
    """Every quarter from the first tracked one to the one that has just ended, oldest first."""
    last = chased_quarter(first, now)
    quarters, quarter = [], first
    while last is not None and quarter <= last:
        quarters.append(quarter)
        quarter = quarter.next()
    return quarters


def current_reporting_quarter(reporting: Reporting, first: Quarter, now: dt.datetime) -> Quarter | None:
    """The latest tracked quarter whose due date has passed: what the pages, figures and alerts
    show first. A quarter not yet due is never judged as behind or missing."""
    due = [q for q in tracked_quarters(first, now) if now > due_at(reporting, q)]
    return due[-1] if due else None


def report_state(
    reporting: Reporting, quarter: Quarter, status: str | None, submitted_at: dt.datetime | None, now
) -> str:
    """on_time or late once submitted; before that not_yet_due, then overdue."""
    if counts_as_submitted(status) and submitted_at is not None:
        return LATE if days_late(reporting, quarter, submitted_at) else ON_TIME
    return OVERDUE if now > due_at(reporting, quarter) else NOT_YET_DUE


def days_overdue(reporting: Reporting, quarter: Quarter, now: dt.datetime) -> int:
    return max(0, -days_until_due(reporting, quarter, now))


# -- progress against plan ------------------------------------------------------------------------
def planned_to_date(annual: int, quarterly: list[int] | tuple[int, ...] | None, quarter: int) -> Decimal:
    """The plan for quarters 1..quarter: the target's quarterly split, or an even share of the year."""
    if quarterly:
        return Decimal(sum(quarterly[:quarter]))
    return Decimal(annual) * quarter / 4


def percent(share: Decimal | None) -> int | None:
    """A share as a whole percent, rounded half-up: 0.565 -> 57."""
    return None if share is None else int(half_up(share * HUNDRED, 0))


@dataclass(frozen=True)
class Judgement:
    """An action metric's year to date: the plan, what was reported, and whether it is behind."""

    planned_to_date: Decimal | None
    reported_to_date: int
    ratio: Decimal | None
    percent: int | None
    behind: bool


def judge(metric: Metric, planned: Decimal | None, reported: int, threshold: Decimal) -> Judgement:
    """Behind when an output metric's reported value is under `threshold` of its plan to date.
    Compared exactly, so 0.89996 of plan is behind though it shows as 90%. A caseload metric
    (demand, not effort) and a metric without a plan are never behind."""
    if planned is None or not metric.judged:
        return Judgement(planned, reported, None, None, False)
    share = ratio(reported, planned)
    behind = planned > 0 and Decimal(reported) < planned * threshold
    return Judgement(planned, reported, share, percent(share), behind)


# -- the indicators' goals ------------------------------------------------------------------------
ON_TRACK, AT_RISK, OFF_TRACK = "on_track", "at_risk", "off_track"
MET, MISSED = "met", "missed"
NO_DATA, NO_BASELINE, NO_GOAL = "no_data", "no_baseline", "no_goal"
INDICATOR_STATUSES = (ON_TRACK, AT_RISK, OFF_TRACK, MET, MISSED, NO_DATA, NO_BASELINE, NO_GOAL)
# The words for each status, in kpi's metrics, the dashboards and notify's e-mails alike.
INDICATOR_STATUS_NAMES = {
    ON_TRACK: "符合目標進度",
    AT_RISK: "有未達目標之風險",
    OFF_TRACK: "偏離目標",
    MET: "已達成年度目標",
    MISSED: "未達成年度目標",
    NO_DATA: "尚無資料",
    NO_BASELINE: "缺基準年資料",
    NO_GOAL: "該年未訂目標",
}
# A continuation is never presented as the plan's own goal; "none" is a year without a goal.
GOAL_KIND_NAMES = {"plan": "方案目標", "continuation": "延續目標（非原方案所訂）", "none": "未訂目標"}
# Statuses that are verdicts on a goal (the others say why there is none).
VERDICTS = (ON_TRACK, AT_RISK, OFF_TRACK, MET, MISSED)
QUARTERS = (1, 2, 3, 4)


def _factor(indicator: Indicator, goal: Goal) -> Decimal:
    change = Decimal(goal.reduction)
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


def _verdict(
    indicator: Indicator, actual: int, ytd_target: Decimal, baseline_ytd: int, year_end: bool
) -> str:
    better_or_equal = (lambda a, b: a <= b) if indicator.direction == "decrease" else (lambda a, b: a >= b)
    if year_end:
        return MET if better_or_equal(actual, ytd_target) else MISSED
    if better_or_equal(actual, ytd_target):
        return ON_TRACK
    if better_or_equal(actual, baseline_ytd):
        return AT_RISK
    return OFF_TRACK


def assess_indicator(
    indicator: Indicator, year: int, goal: Goal | None, counts: Mapping[tuple[int, int], int]
) -> dict:
    """An indicator's standing in `year` against its goal; `counts` maps (year, quarter) to a count.

    - baseline = the goal's baseline year, four quarters (without a goal: the year before, as a trend);
    - for the latest q such that quarters 1..q all have counts: ytd_actual and baseline_ytd are the
      sums of quarters 1..q, ytd_target = baseline_ytd x (1 - reduction), the same season;
    - change_pct = (ytd_actual / baseline_ytd - 1) x 100; projection = ytd_actual x baseline / baseline_ytd;
    - status: on_track (at or under the seasonal target), at_risk (up to baseline_ytd), off_track
      (above it); met or missed once the fourth quarter is in; no_goal for a year without a goal,
      no_baseline when a baseline quarter is missing, no_data before the year's first count.
    """
    baseline_year = goal.baseline_year if goal else year - 1
    factor = _factor(indicator, goal) if goal else None
    current = {q: counts.get((year, q)) for q in QUARTERS}
    base = {q: counts.get((baseline_year, q)) for q in QUARTERS}
    baseline = _sum(base, QUARTERS)
    latest = _latest_quarter(current)
    to_date = QUARTERS[:latest] if latest else ()
    ytd_actual = _sum(current, to_date) if latest else None
    baseline_ytd = _sum(base, to_date) if latest else None
    ytd_target = baseline_ytd * factor if factor is not None and baseline_ytd is not None else None

    change_pct = projection = None
    if ytd_actual is not None and baseline_ytd:
        change_pct = half_up((Decimal(ytd_actual) / Decimal(baseline_ytd) - 1) * HUNDRED)
        if baseline is not None:
            projection = half_up(Decimal(ytd_actual) * baseline / Decimal(baseline_ytd))

    if goal is None:
        status = NO_GOAL
    elif baseline is None:
        status = NO_BASELINE
    elif latest is None:
        status = NO_DATA
    else:
        status = _verdict(indicator, ytd_actual, ytd_target, baseline_ytd, year_end=latest == 4)

    return {
        "indicator": indicator.id,
        "name": indicator.name,
        "year": year,
        "goal": None
        if goal is None
        else {
            "kind": goal.kind,
            "reduction": goal.reduction,
            "baseline_year": goal.baseline_year,
            "text": goal.text,
        },
        "baseline_year": baseline_year,
        "baseline": baseline,
        "target": baseline * factor if factor is not None and baseline is not None else None,
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
                "seasonal_target": base[q] * factor if factor is not None and base[q] is not None else None,
            }
            for q in QUARTERS
        ],
    }


def assess_indicators(
    catalog: Catalog, year: int, counts: Mapping[str, Mapping[tuple[int, int], int]]
) -> list[dict]:
    """Every indicator of the catalog in `year`, in catalog order."""
    return [
        assess_indicator(i, year, catalog.goal(i.id, year), counts.get(i.id, {})) for i in catalog.indicators
    ]


def current_year(reporting: Reporting, first: Quarter, now: dt.datetime) -> int:
    """The year the committee looks at: the current reporting quarter's (this year before any is due)."""
    quarter = current_reporting_quarter(reporting, first, now)
    return quarter.year if quarter else taipei_today(now).year


# -- metrics that count people --------------------------------------------------------------------
# A metric with `by_sex` is reported as these three counts; its value is their sum.
SEXES_REPORTED = ("male", "female", "other")
SEX_LABELS = {"male": "男", "female": "女", "other": "其他或不詳"}
# Case records' roles and sexes as the plan's tables name them.
CASE_ROLE_NAMES = {"suspect": "嫌疑人", "victim": "被害人"}
CASE_SEX_NAMES = {"female": "女性", "male": "男性"}


def total_of(by_sex: Mapping[str, int | None] | None) -> int | None:
    """The derived total of a breakdown by sex; None until every part is given."""
    parts = [(by_sex or {}).get(sex) for sex in SEXES_REPORTED]
    return None if any(part is None for part in parts) else sum(parts)


# -- small cells ----------------------------------------------------------------------------------
def is_small_cell(count: int, disclosure: Disclosure) -> bool:
    """A count of case records too small to publish: at least one person, fewer than min_cell.

    Zero is published: nobody can be recognised in an empty cell.
    """
    return 0 < count < disclosure.min_cell
