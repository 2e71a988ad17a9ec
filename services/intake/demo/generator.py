"""The generator: plans every write of the demo's history from seeded random streams, then runs
them in time order through the functions the API itself calls (`set_target`, `save_report`,
`submit_report`, `accept_report`, `return_report`, `record_counts`, `upsert_records`), so
revisions, days late, the year-to-date checks and the change feed are the real ones.

Each part of the data draws from its own random stream named after the seed, so the same seed and
`until` give the same data.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy import func, select

from services.intake import directory, installation
from services.intake.cases import upsert_records
from services.intake.demo.cases import CaseDrawer
from services.intake.demo.distributions import (
    STEERED_STATUSES,
    Cell,
    Distributions,
    SeriesKey,
    apportion,
    load_distributions,
)
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
from shared.catalog import Catalog
from shared.db import Database
from shared.demo_marks import DEMO_ACTOR, DEMO_CONTACT_DOMAIN, DEMO_MARK
from shared.periods import TAIPEI, Quarter

CASE_BATCH = 10_000  # records per transaction, as the upload endpoints allow


class NotEmpty(Exception):
    """Demo data goes only into an empty database: it would mix with real records otherwise."""


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
        # The quarters that have ended, from the first of the plan's history.
        self.quarters = plan_rules.tracked_quarters(Quarter(plan.history_first_year, 1), self.until_at)
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
            targets = []
            for (action, metric), value in level.items():
                if year > first:
                    level[(action, metric)] = value = value * (1 + rng.uniform(*activity["yearly_growth"]))
                annual = max(1, round(value))
                split = rng.random() < activity["quarterly_split_share"]
                quarterly = apportion(annual, activity["quarterly_weights"]) if split else None
                plans[(year, action, metric)] = [(at, annual, quarterly)]
                # A caseload metric's plan is only the demo's expected volume: it is never judged,
                # so it has no target.
                if self.catalog.metric(action, metric).judged:
                    targets.append(((year, action, metric), annual, quarterly))
            self._add(at, functools.partial(self._write_targets, targets))
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
            self._add(revision_at, functools.partial(self._write_targets, [(key, sum(quarterly), quarterly)]))
        return plans

    def _write_targets(
        self, targets: list[tuple[tuple[int, str, str], int, list | None]], now: dt.datetime
    ) -> None:
        """Set each (year, action, metric) target to its annual and quarterly plan, in one transaction."""
        with self.database.transaction() as session:
            for (year, action, metric), annual, quarterly in targets:
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
            statuses = list(STEERED_STATUSES)
            rng.shuffle(statuses)
            for index, indicator in enumerate(self.catalog.indicators):
                status = statuses[index % len(statuses)]
                factor = rng.uniform(*factors[status])
                rounding = math.floor if status == plan_rules.ON_TRACK else math.ceil
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
