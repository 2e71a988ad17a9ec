"""The KPI metrics at /metrics: a custom collector that reads the stored snapshot.

A scrape reads a handful of snapshot rows and formats them; it never recomputes or scans the
records, and it answers the same in every web worker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from services.kpi.models import SnapshotItem, SyncState
from shared import rules
from shared.catalog import Action, Catalog
from shared.db import Database
from shared.periods import Quarter, roc_year, roc_year_label

log = logging.getLogger(__name__)

# Every code label travels with its Chinese name (README "KPI metrics"): the code is the stable
# identity for joins and rules, the name is what a person reads. Names come from the catalog or
# shared/rules.py; a name is one-to-one with its code, so it adds no series.
INDICATOR = ["indicator", "indicator_name"]
YEAR = ["year", "year_name"]
PERIOD = ["year", "quarter", "year_name", "period_name"]
GOAL = ["goal", "goal_name"]
BUREAU = ["bureau", "bureau_name"]
ACTION_METRIC = [
    "bureau",
    "bureau_name",
    "program",
    "program_name",
    "action",
    "action_name",
    "metric",
    "metric_name",
]
CELL = ["type", "type_name", "role", "role_name", "sex", "sex_name", *YEAR]
ROLE_SEX = ["role", "role_name", "sex", "sex_name"]

# name -> (help, labels); README.md ("KPI metrics") explains each one. `goal` is plan (the plan's own
# goal), continuation (a later year's goal in its terms) or none (no goal: no verdict that year).
METRICS = {
    "dgbv_current_period": (
        "1 for the current reporting quarter (the latest whose due date has passed): what to show first.",
        ["year", "quarter", "period", "year_name", "period_name"],
    ),
    "dgbv_indicator_count": ("Quarterly count of an outcome indicator.", [*INDICATOR, *PERIOD]),
    "dgbv_indicator_baseline": (
        "Baseline of an indicator in a year: the goal's baseline year (else the year before), four quarters.",
        [*INDICATOR, *YEAR],
    ),
    "dgbv_indicator_target": (
        "Year-end target of an indicator: its goal's baseline x (1 - reduction).",
        [*INDICATOR, *YEAR, *GOAL],
    ),
    "dgbv_indicator_ytd": (
        "Year-to-date count of an indicator, through its latest complete quarter.",
        [*INDICATOR, *YEAR],
    ),
    "dgbv_indicator_ytd_target": (
        "Seasonal year-to-date target: the same quarters of the baseline year x (1 - reduction).",
        [*INDICATOR, *YEAR, *GOAL],
    ),
    "dgbv_indicator_change_pct": (
        "Year-to-date change from the same quarters of the baseline year, in percent.",
        [*INDICATOR, *YEAR],
    ),
    "dgbv_indicator_projection": (
        "Projected year-end count if the rest of the year follows the baseline's season.",
        [*INDICATOR, *YEAR],
    ),
    "dgbv_indicator_seasonal_target": (
        "Target of one quarter: the baseline year's count of that quarter x (1 - reduction).",
        [*INDICATOR, *PERIOD, *GOAL],
    ),
    "dgbv_indicator_status": (
        "1 for the indicator's status in the year against that year's goal, 0 for the other statuses.",
        [*INDICATOR, *YEAR, *GOAL, "status", "status_name"],
    ),
    "dgbv_trend_count": (
        "Case records of an indicator's category and role, by sex and year, over the trend's span (the seed's charts); cells the small-cell rule withholds are absent.",
        [*INDICATOR, *ROLE_SEX, *YEAR],
    ),
    "dgbv_trend_growth_rate_pct": (
        "Compound annual growth rate (年增率) of those case records by sex over the trend's span, in percent.",
        [*INDICATOR, *ROLE_SEX, "span_name"],
    ),
    "dgbv_trend_male_female_ratio": (
        "How many times the women the men are (倍) among those case records, each year of the span.",
        [*INDICATOR, "role", "role_name", *YEAR],
    ),
    "dgbv_report_submitted": (
        "1 if the bureau has submitted its report for the quarter, else 0 (quarters whose due date passed).",
        [*BUREAU, *PERIOD],
    ),
    "dgbv_report_days_late": (
        "Days the bureau's first submission came after the due date (submitted reports only).",
        [*BUREAU, *PERIOD],
    ),
    "dgbv_report_days_overdue": (
        "Days past the due date while the bureau's report is still unsubmitted, else 0.",
        [*BUREAU, *PERIOD],
    ),
    "dgbv_report_open_gap": (
        "Days overdue of a report still unsubmitted whose quarter is not locked yet (the catalog's lock rule): a gap someone can still close.",
        [*BUREAU, *PERIOD],
    ),
    "dgbv_report_completeness_ratio": (
        "Bureaus that submitted / bureaus expected, for a quarter whose due date has passed.",
        PERIOD,
    ),
    "dgbv_report_timeliness_ratio": (
        "Bureaus that submitted on time / bureaus expected, for a quarter whose due date has passed.",
        PERIOD,
    ),
    "dgbv_action_info": (
        "1 for every action of the catalog, with its names and the full text of the 具體作法.",
        ["action", "program", "bureau", "action_name", "program_name", "bureau_name", "text"],
    ),
    "dgbv_action_progress_ratio": (
        "Year-to-date reported / planned value of a judged output metric, at the current reporting quarter.",
        ACTION_METRIC,
    ),
    "dgbv_action_behind": (
        "1 if kpi judges the output metric behind plan at the current reporting quarter, else 0.",
        ACTION_METRIC,
    ),
    "dgbv_action_caseload_ytd": (
        "Year-to-date count of a caseload metric (demand, never judged) at the current quarter, and the year before.",
        [*ACTION_METRIC, *YEAR],
    ),
    "dgbv_gbv_type_count": (
        "Case records of a type of digital gender-based violence, by role, sex and year (cells the small-cell rule withholds are absent).",
        CELL,
    ),
    "dgbv_gbv_type_count_suppressed": (
        "1 for a cell of dgbv_gbv_type_count withheld by the catalog's small-cell rule (a few records, or one that would give such a cell away).",
        CELL,
    ),
    "dgbv_sync_last_success_timestamp_seconds": (
        "Unix time of the last sync that read intake's change feed to its end.",
        [],
    ),
    "dgbv_sync_last_attempt_timestamp_seconds": (
        "Unix time of the last sync attempt, successful or not.",
        [],
    ),
    "dgbv_sync_age_seconds": ("Seconds since the last successful sync (how old the figures may be).", []),
    "dgbv_sync_source_up": ("1 if the last sync could read intake, 0 if intake was down or refused.", []),
    "dgbv_sync_cursor": ("Position in intake's change feed that the read model has reached.", []),
    "dgbv_snapshot_timestamp_seconds": ("Unix time the served snapshot was computed.", []),
    "dgbv_demo_data": ("1 if the figures include demo data (case refs DEMO-), else 0.", []),
}
# Read whole; of `progress` only the current quarter is exposed, so only that one is read.
SECTIONS = ("summary", "indicators", "outcomes", "compliance", "gbv_types", "trends")
JUDGED_STATES = ("behind", "on_plan")
# An action's short text: its first clause, at most this many characters.
SHORT_TEXT = 24


def goal_label(doc: dict) -> str:
    return doc["goal"]["kind"] if doc.get("goal") else "none"


def short_text(text: str) -> str:
    """The first clause of a 具體作法, cut to SHORT_TEXT characters: enough to recognise it."""
    clause = re.split(r"[，。；：]", text, maxsplit=1)[0]
    return clause if len(clause) <= SHORT_TEXT else clause[: SHORT_TEXT - 1] + "…"


def action_name(catalog: Catalog, action: Action) -> str:
    """The catalog's numbering and short text: 方案1・警察局第1項：深入本市各級學校及社區."""
    program = catalog.program(action.program)
    bureau = catalog.bureau(action.bureau)
    return f"方案{program.number}・{bureau.name}第{action.number}項：{short_text(action.text)}"


class Names:
    """The Chinese name of every code a series carries. A code the catalog does not know (a read
    model synced under another catalog) is its own name: the series is kept, not dropped."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.indicators = {i.id: i.name for i in catalog.indicators}
        self.bureaus = {b.id: b.name for b in catalog.bureaus}
        self.programs = {p.id: p.name for p in catalog.programs}
        self.actions = {a.id: action_name(catalog, a) for a in catalog.actions}
        self.metrics = {(a.id, m.id): m.name for a in catalog.actions for m in a.metrics}
        self.types = {str(t.number): t.name for t in catalog.gbv_types}

    def indicator(self, code: str) -> list[str]:
        return [code, self.indicators.get(code, code)]

    def bureau(self, code: str) -> list[str]:
        return [code, self.bureaus.get(code, code)]

    @staticmethod
    def year(year: int | str) -> list[str]:
        return [str(year), roc_year_label(int(year))]

    @staticmethod
    def period(year: int | str, quarter: int | str) -> list[str]:
        """year, quarter, year_name, period_name."""
        label = Quarter(int(year), int(quarter)).label_zh
        return [str(year), str(quarter), roc_year_label(int(year)), label]

    @staticmethod
    def goal(doc: dict) -> list[str]:
        kind = goal_label(doc)
        return [kind, rules.GOAL_KIND_NAMES[kind]]

    def action_metric(self, row: dict) -> list[str]:
        """bureau, program, action and metric, each with its name."""
        return [
            *self.bureau(row["bureau"]),
            row["program"],
            self.programs.get(row["program"], row["program"]),
            row["action"],
            self.actions.get(row["action"], row["action"]),
            row["metric"],
            self.metrics.get((row["action"], row["metric"]), row["metric"]),
        ]

    def cell(self, type_number, role: str, sex: str, year) -> list[str]:
        code = str(type_number)
        return [code, self.types.get(code, code), *self.role_sex(role, sex), *self.year(year)]

    @staticmethod
    def role_sex(role: str, sex: str) -> list[str]:
        return [role, rules.CASE_ROLE_NAMES.get(role, role), sex, rules.CASE_SEX_NAMES.get(sex, sex)]


class SnapshotCollector:
    """Formats the stored snapshot and sync state as Prometheus gauges, with the catalog's names."""

    def __init__(self, database: Database, clock: Callable, catalog: Catalog):
        self.database = database
        self.clock = clock
        self.catalog = catalog
        self.names = Names(catalog)

    def describe(self):
        """The metric names, without touching the database (registration calls this)."""
        return [
            GaugeMetricFamily(name, help_text, labels=labels) for name, (help_text, labels) in METRICS.items()
        ]

    def collect(self):
        try:
            state, stored = self._read()
        except sa_exc.SQLAlchemyError as error:
            log.warning("metrics: the kpi database cannot be read: %s", type(error).__name__)
            return
        families = {name: GaugeMetricFamily(name, h, labels=labels) for name, (h, labels) in METRICS.items()}
        self._sync(families, state)
        self._actions(families)
        if ("summary", "current") in stored:
            self._indicators(families, stored)
            self._trends(families, stored)
            self._reports(families, stored)
            self._progress(families, stored)
            families["dgbv_demo_data"].add_metric(
                [], 1 if stored[("summary", "current")].get("demo_data") else 0
            )
            # Absent only between migration 0003 and the scheduler's next cycle.
            gbv_types = stored.get(("gbv_types", "all"), {"counts": [], "withheld": []})
            for type_number, role, sex, year, count in gbv_types["counts"]:
                families["dgbv_gbv_type_count"].add_metric(
                    self.names.cell(type_number, role, sex, year), count
                )
            for type_number, role, sex, year in gbv_types["withheld"]:
                families["dgbv_gbv_type_count_suppressed"].add_metric(
                    self.names.cell(type_number, role, sex, year), 1
                )
        yield from families.values()

    def _read(self):
        with self.database.session(write=False) as session:
            state = session.get(SyncState, 1)
            rows = session.scalars(select(SnapshotItem).where(SnapshotItem.section.in_(SECTIONS))).all()
            stored = {(row.section, row.key): row.data for row in rows}
            current = stored.get(("summary", "current"), {}).get("current_quarter")
            if current and (progress := session.get(SnapshotItem, ("progress", current))) is not None:
                stored[("progress", current)] = progress.data
            return state, stored

    def _sync(self, families, state: SyncState | None) -> None:
        if state is None:
            return
        families["dgbv_sync_cursor"].add_metric([], state.cursor)
        if state.source_up is not None:
            families["dgbv_sync_source_up"].add_metric([], 1 if state.source_up else 0)
        if state.last_sync_at:
            families["dgbv_sync_last_attempt_timestamp_seconds"].add_metric(
                [], state.last_sync_at.timestamp()
            )
        if state.last_success_at:
            families["dgbv_sync_last_success_timestamp_seconds"].add_metric(
                [], state.last_success_at.timestamp()
            )
            age = (self.clock() - state.last_success_at).total_seconds()
            families["dgbv_sync_age_seconds"].add_metric([], max(0.0, age))
        if state.snapshot_at:
            families["dgbv_snapshot_timestamp_seconds"].add_metric([], state.snapshot_at.timestamp())

    def _actions(self, families) -> None:
        """The catalog's actions, for tables that quote a 具體作法 in full."""
        for action in self.catalog.actions:
            families["dgbv_action_info"].add_metric(
                [
                    action.id,
                    action.program,
                    action.bureau,
                    self.names.actions[action.id],
                    self.names.programs[action.program],
                    self.names.bureaus[action.bureau],
                    action.text,
                ],
                1,
            )

    def _indicators(self, families, stored) -> None:
        summary = stored[("summary", "current")]
        names = self.names
        for (section, indicator), data in stored.items():
            if section == "outcomes":
                for c in data["counts"]:
                    families["dgbv_indicator_count"].add_metric(
                        [*names.indicator(indicator), *names.period(c["year"], c["quarter"])], c["count"]
                    )
        for year in summary["indicator_years"]:
            for doc in stored[("indicators", str(year))]["items"]:
                labels, goal = [*names.indicator(doc["indicator"]), *names.year(year)], names.goal(doc)
                for name, field in (
                    ("dgbv_indicator_ytd", "ytd_actual"),
                    ("dgbv_indicator_change_pct", "change_pct"),
                    ("dgbv_indicator_projection", "projection"),
                    ("dgbv_indicator_baseline", "baseline"),
                ):
                    if doc[field] is not None:
                        families[name].add_metric(labels, doc[field])
                for name, field in (
                    ("dgbv_indicator_target", "target"),
                    ("dgbv_indicator_ytd_target", "ytd_target"),
                ):
                    if doc[field] is not None:
                        families[name].add_metric([*labels, *goal], doc[field])
                for quarter in doc["quarters"]:
                    if quarter["seasonal_target"] is not None:
                        families["dgbv_indicator_seasonal_target"].add_metric(
                            [
                                *names.indicator(doc["indicator"]),
                                *names.period(year, quarter["quarter"]),
                                *goal,
                            ],
                            quarter["seasonal_target"],
                        )
                for status in rules.INDICATOR_STATUSES:
                    families["dgbv_indicator_status"].add_metric(
                        [*labels, *goal, status, rules.INDICATOR_STATUS_NAMES[status]],
                        1 if doc["status"] == status else 0,
                    )

    def _trends(self, families, stored) -> None:
        """The seed's charts: counts by sex per year, 年增率 by sex and the male/female ratio."""
        names = self.names
        for (section, indicator), doc in stored.items():
            if section != "trends":
                continue
            span = f"{roc_year_label(doc['from_year'])}至{roc_year(doc['to_year'])}年"
            for year in doc["years"]:
                for sex in rules.CASE_SEX_NAMES:
                    if year[sex] is not None:  # withheld by the small-cell rule: absent
                        families["dgbv_trend_count"].add_metric(
                            [
                                *names.indicator(indicator),
                                *names.role_sex(doc["role"], sex),
                                *names.year(year["year"]),
                            ],
                            year[sex],
                        )
                if year["male_female_ratio"] is not None:
                    families["dgbv_trend_male_female_ratio"].add_metric(
                        [
                            *names.indicator(indicator),
                            doc["role"],
                            rules.CASE_ROLE_NAMES.get(doc["role"], doc["role"]),
                            *names.year(year["year"]),
                        ],
                        year["male_female_ratio"],
                    )
            for sex, rate in doc["growth_rate_pct_by_sex"].items():
                if rate is not None:
                    families["dgbv_trend_growth_rate_pct"].add_metric(
                        [*names.indicator(indicator), *names.role_sex(doc["role"], sex), span], rate
                    )

    def _reports(self, families, stored) -> None:
        summary = stored[("summary", "current")]
        if summary["current_quarter"]:
            current = Quarter.parse(summary["current_quarter"])
            families["dgbv_current_period"].add_metric(
                [
                    str(current.year),
                    str(current.quarter),
                    current.label_zh,
                    roc_year_label(current.year),
                    current.label_zh,
                ],
                1,
            )
        for key in summary["quarters"]:
            doc = stored[("compliance", key)]
            if not doc["due_passed"]:
                continue  # not yet due: nobody is late or missing yet
            period = self.names.period(doc["year"], doc["quarter"])
            families["dgbv_report_completeness_ratio"].add_metric(period, doc["completeness"])
            families["dgbv_report_timeliness_ratio"].add_metric(period, doc["timeliness"])
            for bureau in doc["bureaus"]:
                labels = [*self.names.bureau(bureau["bureau"]), *period]
                families["dgbv_report_submitted"].add_metric(labels, 1 if bureau["submitted"] else 0)
                families["dgbv_report_days_overdue"].add_metric(labels, bureau["days_overdue"])
                if bureau["submitted"]:
                    families["dgbv_report_days_late"].add_metric(labels, bureau["days_late"])
                # Computed with the catalog's lock rule when the snapshot was (shared/rules.py).
                if bureau["days_overdue"] > 0 and not bureau.get("locked", True):
                    families["dgbv_report_open_gap"].add_metric(labels, bureau["days_overdue"])

    def _progress(self, families, stored) -> None:
        key = stored[("summary", "current")]["current_quarter"]
        if key is None or ("progress", key) not in stored:
            return
        doc = stored[("progress", key)]
        for row in doc["actions"]:
            labels = self.names.action_metric(row)
            if row["state"] in JUDGED_STATES and row["ratio"] is not None:
                families["dgbv_action_progress_ratio"].add_metric(labels, row["ratio"])
                families["dgbv_action_behind"].add_metric(labels, 1 if row["behind"] else 0)
            elif row["state"] == "caseload":
                families["dgbv_action_caseload_ytd"].add_metric(
                    [*labels, *self.names.year(doc["year"])], row["reported_to_date"]
                )
                families["dgbv_action_caseload_ytd"].add_metric(
                    [*labels, *self.names.year(doc["year"] - 1)], row["previous_year_to_date"]
                )
