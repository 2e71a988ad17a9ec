"""The KPI metrics at /metrics: a custom collector that reads the stored snapshot.

A scrape reads a handful of snapshot rows and formats them; it never recomputes or scans the
records, and it answers the same in every web worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from services.kpi.models import SnapshotItem, SyncState
from shared import rules
from shared.db import Database
from shared.periods import Quarter

log = logging.getLogger(__name__)

# name -> (help, labels); README.md ("KPI metrics") explains each one. `goal` is plan (the plan's own
# goal), continuation (a later year's goal in its terms) or none (no goal: no verdict that year).
METRICS = {
    "dgbv_current_period": (
        "1 for the current reporting quarter (the latest whose due date has passed): what to show first.",
        ["year", "quarter", "period"],
    ),
    "dgbv_indicator_count": ("Quarterly count of an outcome indicator.", ["indicator", "year", "quarter"]),
    "dgbv_indicator_baseline": (
        "Baseline of an indicator in a year: the goal's baseline year (else the year before), four quarters.",
        ["indicator", "year"],
    ),
    "dgbv_indicator_target": (
        "Year-end target of an indicator: its goal's baseline x (1 - reduction).",
        ["indicator", "year", "goal"],
    ),
    "dgbv_indicator_ytd": (
        "Year-to-date count of an indicator, through its latest complete quarter.",
        ["indicator", "year"],
    ),
    "dgbv_indicator_ytd_target": (
        "Seasonal year-to-date target: the same quarters of the baseline year x (1 - reduction).",
        ["indicator", "year", "goal"],
    ),
    "dgbv_indicator_change_pct": (
        "Year-to-date change from the same quarters of the baseline year, in percent.",
        ["indicator", "year"],
    ),
    "dgbv_indicator_projection": (
        "Projected year-end count if the rest of the year follows the baseline's season.",
        ["indicator", "year"],
    ),
    "dgbv_indicator_seasonal_target": (
        "Target of one quarter: the baseline year's count of that quarter x (1 - reduction).",
        ["indicator", "year", "quarter", "goal"],
    ),
    "dgbv_indicator_status": (
        "1 for the indicator's status in the year against that year's goal, 0 for the other statuses.",
        ["indicator", "year", "goal", "status"],
    ),
    "dgbv_report_submitted": (
        "1 if the bureau has submitted its report for the quarter, else 0 (quarters whose due date passed).",
        ["bureau", "year", "quarter"],
    ),
    "dgbv_report_days_late": (
        "Days the bureau's first submission came after the due date (submitted reports only).",
        ["bureau", "year", "quarter"],
    ),
    "dgbv_report_days_overdue": (
        "Days past the due date while the bureau's report is still unsubmitted, else 0.",
        ["bureau", "year", "quarter"],
    ),
    "dgbv_report_completeness_ratio": (
        "Bureaus that submitted / bureaus expected, for a quarter whose due date has passed.",
        ["year", "quarter"],
    ),
    "dgbv_report_timeliness_ratio": (
        "Bureaus that submitted on time / bureaus expected, for a quarter whose due date has passed.",
        ["year", "quarter"],
    ),
    "dgbv_action_progress_ratio": (
        "Year-to-date reported / planned value of a judged output metric, at the current reporting quarter.",
        ["bureau", "program", "action", "metric"],
    ),
    "dgbv_action_behind": (
        "1 if kpi judges the output metric behind plan at the current reporting quarter, else 0.",
        ["bureau", "program", "action", "metric"],
    ),
    "dgbv_action_caseload_ytd": (
        "Year-to-date count of a caseload metric (demand, never judged) at the current quarter, and the year before.",
        ["bureau", "program", "action", "metric", "year"],
    ),
    "dgbv_gbv_type_count": (
        "Case records of a type of digital gender-based violence, by role, sex and year (cells the small-cell rule withholds are absent).",
        ["type", "role", "sex", "year"],
    ),
    "dgbv_gbv_type_count_suppressed": (
        "1 for a cell of dgbv_gbv_type_count withheld by the catalog's small-cell rule (a few records, or one that would give such a cell away).",
        ["type", "role", "sex", "year"],
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
SECTIONS = ("summary", "indicators", "outcomes", "compliance", "gbv_types")
JUDGED_STATES = ("behind", "on_plan")


def goal_label(doc: dict) -> str:
    return doc["goal"]["kind"] if doc.get("goal") else "none"


class SnapshotCollector:
    """Formats the stored snapshot and sync state as Prometheus gauges."""

    def __init__(self, database: Database, clock: Callable):
        self.database = database
        self.clock = clock

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
        if ("summary", "current") in stored:
            self._indicators(families, stored)
            self._reports(families, stored)
            self._progress(families, stored)
            families["dgbv_demo_data"].add_metric(
                [], 1 if stored[("summary", "current")].get("demo_data") else 0
            )
            # Absent only between migration 0003 and the scheduler's next cycle.
            gbv_types = stored.get(("gbv_types", "all"), {"counts": [], "withheld": []})
            for type_number, role, sex, year, count in gbv_types["counts"]:
                families["dgbv_gbv_type_count"].add_metric([str(type_number), role, sex, str(year)], count)
            for type_number, role, sex, year in gbv_types["withheld"]:
                families["dgbv_gbv_type_count_suppressed"].add_metric(
                    [str(type_number), role, sex, str(year)], 1
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

    def _indicators(self, families, stored) -> None:
        summary = stored[("summary", "current")]
        for (section, indicator), data in stored.items():
            if section == "outcomes":
                for c in data["counts"]:
                    families["dgbv_indicator_count"].add_metric(
                        [indicator, str(c["year"]), str(c["quarter"])], c["count"]
                    )
        for year in summary["indicator_years"]:
            for doc in stored[("indicators", str(year))]["items"]:
                labels, goal = [doc["indicator"], str(year)], goal_label(doc)
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
                        families[name].add_metric([*labels, goal], doc[field])
                for quarter in doc["quarters"]:
                    if quarter["seasonal_target"] is not None:
                        families["dgbv_indicator_seasonal_target"].add_metric(
                            [*labels, str(quarter["quarter"]), goal], quarter["seasonal_target"]
                        )
                for status in rules.INDICATOR_STATUSES:
                    families["dgbv_indicator_status"].add_metric(
                        [*labels, goal, status], 1 if doc["status"] == status else 0
                    )

    def _reports(self, families, stored) -> None:
        summary = stored[("summary", "current")]
        if summary["current_quarter"]:
            current = Quarter.parse(summary["current_quarter"])
            families["dgbv_current_period"].add_metric(
                [str(current.year), str(current.quarter), current.label_zh], 1
            )
        for key in summary["quarters"]:
            doc = stored[("compliance", key)]
            if not doc["due_passed"]:
                continue  # not yet due: nobody is late or missing yet
            period = [str(doc["year"]), str(doc["quarter"])]
            families["dgbv_report_completeness_ratio"].add_metric(period, doc["completeness"])
            families["dgbv_report_timeliness_ratio"].add_metric(period, doc["timeliness"])
            for bureau in doc["bureaus"]:
                labels = [bureau["bureau"], *period]
                families["dgbv_report_submitted"].add_metric(labels, 1 if bureau["submitted"] else 0)
                families["dgbv_report_days_overdue"].add_metric(labels, bureau["days_overdue"])
                if bureau["submitted"]:
                    families["dgbv_report_days_late"].add_metric(labels, bureau["days_late"])

    def _progress(self, families, stored) -> None:
        key = stored[("summary", "current")]["current_quarter"]
        if key is None or ("progress", key) not in stored:
            return
        doc = stored[("progress", key)]
        for row in doc["actions"]:
            labels = [row["bureau"], row["program"], row["action"], row["metric"]]
            if row["state"] in JUDGED_STATES and row["ratio"] is not None:
                families["dgbv_action_progress_ratio"].add_metric(labels, row["ratio"])
                families["dgbv_action_behind"].add_metric(labels, 1 if row["behind"] else 0)
            elif row["state"] == "caseload":
                families["dgbv_action_caseload_ytd"].add_metric(
                    [*labels, str(doc["year"])], row["reported_to_date"]
                )
                families["dgbv_action_caseload_ytd"].add_metric(
                    [*labels, str(doc["year"] - 1)], row["previous_year_to_date"]
                )
