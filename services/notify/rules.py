"""The notification rules, each one a unit declared in this file and registered in RULES.

A rule is a `Rule` subclass under `@register`: its name, what it evaluates every day (a pure
function of what the sources said, the moment and today's date in Taipei, returning candidates)
and/or the report events of intake's change feed it answers at once (a pure function of the report
as intake has it then), how it re-checks a notification before sending, and its templates (named
after the rule). The Notifier refuses to start if one lacks a part
(service.check_rules). An evaluation runs the daily rules in the order they are declared.

They act on kpi's judgements (its compliance, its `behind` flags, its indicators' verdicts) and on
the plan's rules in shared/rules.py; they recompute none of them. A candidate's dedup key names the
one notification it may ever become (see evaluation.py, which stores them with insert-or-ignore).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from services.notify.messages import Templates
from services.notify.models import Notification
from services.notify.sources import Sources
from shared import rules as plan_rules
from shared.catalog import Catalog
from shared.periods import TAIPEI, Quarter, format_roc_date
from shared.rules import NOT_STARTED, OUTSTANDING_STATUSES


@dataclass(frozen=True)
class Thresholds:
    """How notify chases (settings REMINDER_DAYS and friends); the plan's rules are not here."""

    reminder_days: int = 7
    overdue_repeat_days: int = 7
    overdue_max_notices: int = 4
    committee_statuses: tuple[str, ...] = ("at_risk", "off_track")

    @classmethod
    def from_config(cls, config) -> Thresholds:
        return cls(
            reminder_days=config["REMINDER_DAYS"],
            overdue_repeat_days=config["OVERDUE_REPEAT_DAYS"],
            overdue_max_notices=config["OVERDUE_MAX_NOTICES"],
            committee_statuses=tuple(config["COMMITTEE_STATUSES"]),
        )


def dedup_key(rule: str, subject: str, year: int, quarter: int, stage: str) -> str:
    """rule:bureau-or-indicator:yearQquarter:stage, e.g. overdue:police:2022Q2:3."""
    return f"{rule}:{subject}:{year}Q{quarter}:{stage}"


@dataclass
class Candidate:
    """A notification a rule asks for; it becomes one outbox row unless its key exists."""

    rule: str
    year: int
    quarter: int
    stage: str
    recipients: list[str]
    facts: dict
    bureau: str | None = None
    indicator: str | None = None

    @property
    def key(self) -> str:
        return dedup_key(self.rule, self.bureau or self.indicator or "-", self.year, self.quarter, self.stage)


@dataclass
class Findings:
    """What the rules asked for, and what they would have asked for but could not."""

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"key", "reason"}

    def extend(self, other: Findings) -> None:
        self.candidates.extend(other.candidates)
        self.skipped.extend(other.skipped)

    def add(self, candidate: Candidate, without_recipients: str) -> None:
        """Keep a candidate that has recipients; otherwise record why it has none."""
        if candidate.recipients:
            self.candidates.append(candidate)
        else:
            self.skipped.append({"key": candidate.key, "reason": without_recipients})


@dataclass(frozen=True)
class Notice:
    """The latest overdue notice of a report already in the outbox."""

    number: int
    day: dt.date  # the day (Asia/Taipei) it was written


@dataclass(frozen=True)
class Inputs:
    """What the rules evaluate: the sources' answers, notify's own history and its settings."""

    directory: dict[str, dict]  # intake's bureaus by id, with their contact addresses
    returned_reports: list[dict]  # every report returned to its bureau, with its history
    indicators: list[dict]  # kpi's verdicts on the outcome indicators of its current year
    compliance: dict | None  # kpi's status of each report of the chased quarter; None if untracked
    progress: dict | None  # kpi's progress of that quarter; None whenever compliance is
    overdue_notices: dict[str, Notice]  # the latest overdue notice of that quarter, by bureau
    # Reports of tracked quarters still not submitted after their quarter's lock date, reopened or
    # not: {"bureau", "year", "quarter", "status" (kpi's), "reopened_at" (intake's history)}.
    outstanding_after_lock: list[dict]
    now: dt.datetime  # the moment of the evaluation: whether a quarter is locked is a matter of instants
    thresholds: Thresholds
    committee_emails: list[str]
    coordinator_emails: list[str]
    catalog: Catalog


@dataclass(frozen=True)
class Event:
    """A report event of intake's change feed, as a rule answers it: the report as intake has it now."""

    report: dict  # intake's report with its history
    directory: dict[str, dict]  # intake's bureaus by id, with their contact addresses
    coordinator_emails: list[str]
    catalog: Catalog
    now: dt.datetime


@dataclass(frozen=True)
class Verdict:
    """Whether a notification's reason still holds at sending time."""

    send: bool
    reason: str = ""
    unknown: bool = False  # the source could not be asked


class Current:
    """What the sources say at sending time, for the re-checks: each question asked once per batch."""

    def __init__(self, sources: Sources, now: dt.datetime, thresholds: Thresholds, catalog: Catalog):
        self.sources = sources
        self.now = now
        self.today = plan_rules.taipei_today(now)
        self.thresholds = thresholds
        self.catalog = catalog
        self._answers: dict[tuple, object] = {}

    def _ask(self, question: Callable, *args):
        key = (question, *args)
        if key not in self._answers:
            self._answers[key] = question(*args)
        return self._answers[key]

    def report_of(self, bureau: str, year: int, quarter: int) -> dict | None:
        """Intake's report of a bureau and quarter, with its history."""
        return self._ask(self.sources.report, bureau, year, quarter)

    def report(self, row: Notification) -> dict | None:
        """Intake's report of the notification's bureau and quarter."""
        return self.report_of(row.bureau, row.year, row.quarter)

    def is_locked(self, bureau: str, year: int, quarter: int) -> bool:
        """Whether the bureau's report page refuses the quarter now (shared.rules.is_locked)."""
        report = self.report_of(bureau, year, quarter)
        return plan_rules.is_locked(
            self.catalog.reporting, Quarter(year, quarter), self.now, reopened_at(report)
        )

    def progress(self, row: Notification) -> dict | None:
        """kpi's progress of the notification's bureau and quarter."""
        return self._ask(self.sources.progress, row.year, row.quarter, row.bureau)

    def indicators(self, row: Notification) -> list[dict]:
        """kpi's verdicts on the outcome indicators of the notification's year."""
        return self._ask(self.sources.indicators, row.year)


class Rule:
    """A notification rule. A subclass declares all of it:

    - `name`: in dedup keys, silences and the outbox;
    - `evaluate(inputs, today) -> Findings`: the notifications it asks for on the daily schedule;
    - `events` and `react(event) -> Findings`: the report events of intake's change feed it
      answers at once (see follower.py), and the notifications one of them asks for;
    - `recheck(row, current) -> Verdict`: whether one of them still holds when it is to be sent;
    - its templates, found by its name (`templates`).

    A rule has `evaluate`, or `events` and `react`, or both.
    """

    name: str
    events: tuple[str, ...] = ()  # intake's report events (shared.changes.ReportChange.event)

    @property
    def scheduled(self) -> bool:
        """Evaluated on the daily schedule."""
        return callable(getattr(self, "evaluate", None))

    @property
    def templates(self) -> Templates:
        """templates/<name>.subject.j2, <name>.txt.j2 and <name>.html.j2."""
        return Templates(f"{self.name}.subject.j2", f"{self.name}.txt.j2", f"{self.name}.html.j2")


RULES: dict[str, Rule] = {}  # by name, in the order declared below: the order of evaluation


def register(rule: type[Rule]) -> type[Rule]:
    """Class decorator: the rule joins RULES."""
    if rule.name in RULES:
        raise ValueError(f"notification rule {rule.name!r} is declared twice")
    RULES[rule.name] = rule()
    return rule


# -- what the rules share ------------------------------------------------------------------------
def _period_facts(quarter: Quarter) -> dict:
    return {"year": quarter.year, "quarter": quarter.quarter, "period_label": quarter.label_zh}


def _bureau_facts(
    bureau: str, name: str | None, quarter: Quarter, due: dt.date | None, directory: dict[str, dict]
) -> dict:
    """Whom and which report an e-mail to a bureau is about; the directory's name comes first."""
    return {
        "bureau": bureau,
        "bureau_name": directory.get(bureau, {}).get("name") or name or bureau,
        **_period_facts(quarter),
        "due_date": due.isoformat() if due else None,
        "due_date_roc": format_roc_date(due) if due else None,
    }


def _chased_reports(inputs: Inputs) -> list[dict]:
    """The facts of each bureau's report of the chased quarter, with kpi's status of it."""
    compliance = inputs.compliance
    if compliance is None:
        return []  # before the deployment's first quarter, or not yet tracked by kpi
    quarter = Quarter(compliance["year"], compliance["quarter"])
    due = dt.date.fromisoformat(compliance["due_date"])
    return [
        {
            **_bureau_facts(entry["bureau"], entry.get("name"), quarter, due, inputs.directory),
            "report_status": entry.get("status"),
        }
        for entry in compliance["bureaus"]
    ]


def _unsubmitted(inputs: Inputs) -> list[dict]:
    """The facts of each report of the chased quarter that is not submitted."""
    return [facts for facts in _chased_reports(inputs) if facts["report_status"] in OUTSTANDING_STATUSES]


def _days_to_due(facts: dict, today: dt.date) -> int:
    return (dt.date.fromisoformat(facts["due_date"]) - today).days


def _to_bureau(findings: Findings, directory: dict[str, dict], rule: str, stage: str, facts: dict) -> None:
    """A candidate about the bureau and quarter of `facts`, to the bureau's contacts."""
    bureau = facts["bureau"]
    entry = directory.get(bureau) or {}
    addresses = [contact["email"] for contact in entry.get("contacts", []) if contact.get("email")]
    candidate = Candidate(rule, facts["year"], facts["quarter"], stage, addresses, facts, bureau=bureau)
    findings.add(candidate, f"bureau {bureau} has no contact address")


def _still_unsubmitted(row: Notification, current: Current) -> Verdict:
    """Intake, the system of record, says the report is still not submitted."""
    report = current.report(row)
    status = report["status"] if report else NOT_STARTED
    if status not in OUTSTANDING_STATUSES:
        return Verdict(False, f"the report is {status} now")
    return Verdict(True)


def last_revision(report: dict | None, event: str) -> dict | None:
    """The report's latest revision made by `event` (returned, reopened, accepted), or None: intake
    gives the newest of each event with the report, however long its history."""
    return ((report or {}).get("latest_by_event") or {}).get(event)


def last_return(report: dict) -> dict | None:
    """The revision that returned the report most recently, with the coordinator's comment."""
    return last_revision(report, "returned")


def reopened_at(report: dict | None) -> dt.datetime | None:
    """When a coordinator last reopened the quarter, as intake's report says."""
    found = (report or {}).get("reopened_at")
    return dt.datetime.fromisoformat(found) if found else None


def closing_text(instant: dt.datetime) -> str:
    """When a quarter closes, as an e-mail says it: 111年8月9日 at the end of a day (Taipei), else with
    the minute it closes, as intake's pages write it (111年8月4日 10:00): no e-mail promises an hour
    the page refuses."""
    local = instant.astimezone(TAIPEI)
    day = format_roc_date(local.date())
    return day if local.time() == dt.time.max else f"{day} {local:%H:%M}"


def action_label(catalog: Catalog, action_id: str) -> tuple[str, str]:
    """How the plan names an action, and its text: 「初級預防－多元推廣宣導策略」第1項具體作法.
    An action the catalog does not know (kpi on another catalog) keeps its id."""
    try:
        action = catalog.action(action_id)
    except KeyError:
        return action_id, ""
    return f"「{catalog.program(action.program).name}」第{action.number}項具體作法", action.text


def _lock_facts(context: Inputs | Event, quarter: Quarter, reopened: dt.datetime | None) -> dict:
    """Whether the bureau's report page refuses the quarter now, until when it is (or was) open, and
    whom to ask to reopen it: an e-mail never asks for what the page refuses."""
    reporting = context.catalog.reporting
    return {
        "locked": plan_rules.is_locked(reporting, quarter, context.now, reopened),
        "open_until_roc": closing_text(plan_rules.open_until(reporting, quarter, reopened)),
        "coordinator_emails": list(context.coordinator_emails),
    }


def _after_lock(inputs: Inputs, bureau: str, quarter: Quarter) -> dict | None:
    """The bureau's report of the quarter among those still missing after the lock date."""
    return next(
        (
            entry
            for entry in inputs.outstanding_after_lock
            if (entry["bureau"], entry["year"], entry["quarter"]) == (bureau, quarter.year, quarter.quarter)
        ),
        None,
    )


def behind_actions(progress: dict, bureau: str, catalog: Catalog) -> list[dict]:
    """The bureau's metrics kpi judges behind plan, with kpi's figures."""
    found = []
    for item in progress.get("actions", []):
        if item.get("bureau") != bureau or not item.get("behind"):
            continue
        label, text = action_label(catalog, item["action"])
        found.append(
            {
                "action": item["action"],
                "action_label": label,
                "action_text": text,
                "metric": item.get("metric"),
                "metric_name": item.get("metric_name") or item.get("metric"),
                "unit": item.get("unit") or "",
                "planned_to_date": item.get("planned_to_date"),
                "reported_to_date": item.get("reported_to_date"),
                "ratio": item.get("ratio"),
                "percent": item.get("percent"),
            }
        )
    return found


# -- the rules, in the order of evaluation -------------------------------------------------------
@register
class Returned(Rule):
    """A coordinator returned a report (any quarter): one notice per return, quoting the comment
    (stage: the number of the returning revision), at once from the change feed and, should that
    have missed it, on the daily schedule; cancelled once the bureau resubmits. A quarter locked for
    the bureau asks it to have the coordinators reopen it first."""

    name = "returned"
    events = ("returned",)

    def evaluate(self, inputs: Inputs, today: dt.date) -> Findings:
        findings = Findings()
        for report in inputs.returned_reports:
            findings.extend(self.notice(inputs, report))
        return findings

    def react(self, event: Event) -> Findings:
        return self.notice(event, event.report)

    def notice(self, context: Inputs | Event, report: dict) -> Findings:
        """The notice of the report's latest return, if it is returned now."""
        findings = Findings()
        revision = last_return(report)
        if report.get("status") != "returned" or revision is None:
            return findings
        due = dt.datetime.fromisoformat(report["due_at"]).date() if report.get("due_at") else None
        quarter = Quarter(report["year"], report["quarter"])
        facts = {
            **_bureau_facts(report["bureau"], None, quarter, due, context.directory),
            **_lock_facts(context, quarter, reopened_at(report)),
            "comment": revision.get("comment") or "",
            "returned_at": revision.get("at"),
            "returned_by": revision.get("actor"),
            "revision": revision["number"],
        }
        _to_bureau(findings, context.directory, self.name, str(revision["number"]), facts)
        return findings

    def recheck(self, row: Notification, current: Current) -> Verdict:
        report = current.report(row)
        if report is None or report["status"] != "returned":
            return Verdict(False, f"the report is {report['status'] if report else 'gone'} now")
        latest = last_return(report)
        if latest is None or str(latest["number"]) != row.stage:
            return Verdict(False, "the report was returned again since: a newer notice follows")
        return Verdict(True)


@register
class Reopened(Rule):
    """A coordinator reopened a quarter for the bureau: the bureau hears at once until when it may fill
    in and send the report, with the coordinator's reason (stage: the reopening revision). Cancelled
    if the quarter has locked again, or was reopened again since (a newer notice follows)."""

    name = "reopened"
    events = ("reopened",)

    def react(self, event: Event) -> Findings:
        findings = Findings()
        report = event.report
        revision = last_revision(report, "reopened")
        if revision is None:
            return findings
        quarter = Quarter(report["year"], report["quarter"])
        until = plan_rules.open_until(
            event.catalog.reporting, quarter, dt.datetime.fromisoformat(revision["at"])
        )
        facts = {
            **_bureau_facts(report["bureau"], None, quarter, None, event.directory),
            "report_status": report["status"],
            "reason": revision.get("reason") or "",
            "reopened_at": revision["at"],
            "open_until": until.isoformat(),
            "open_until_roc": closing_text(until),
            "revision": revision["number"],
        }
        _to_bureau(findings, event.directory, self.name, str(revision["number"]), facts)
        return findings

    def recheck(self, row: Notification, current: Current) -> Verdict:
        latest = last_revision(current.report(row), "reopened")
        if latest is None or str(latest["number"]) != row.stage:
            return Verdict(False, "the quarter was reopened again since: a newer notice follows")
        if current.is_locked(row.bureau, row.year, row.quarter):
            return Verdict(False, "the quarter has locked again")
        return Verdict(True)


@register
class Accepted(Rule):
    """A coordinator accepted (核定) a report: a short notice to the bureau at once (stage: the
    accepting revision); cancelled if the report is no longer accepted, or was accepted again since."""

    name = "accepted"
    events = ("accepted",)

    def react(self, event: Event) -> Findings:
        findings = Findings()
        report = event.report
        revision = last_revision(report, "accepted")
        if report.get("status") != "accepted" or revision is None:
            return findings
        quarter = Quarter(report["year"], report["quarter"])
        accepted_on = dt.datetime.fromisoformat(revision["at"]).astimezone(TAIPEI).date()
        facts = {
            **_bureau_facts(report["bureau"], None, quarter, None, event.directory),
            "accepted_on_roc": format_roc_date(accepted_on),
            "revision": revision["number"],
        }
        _to_bureau(findings, event.directory, self.name, str(revision["number"]), facts)
        return findings

    def recheck(self, row: Notification, current: Current) -> Verdict:
        report = current.report(row)
        if report is None or report["status"] != "accepted":
            return Verdict(False, f"the report is {report['status'] if report else 'gone'} now")
        latest = last_revision(report, "accepted")
        if latest is None or str(latest["number"]) != row.stage:
            return Verdict(False, "the report was accepted again since: a newer notice follows")
        return Verdict(True)


@register
class Committee(Rule):
    """kpi's verdict on an outcome indicator of the current year is at risk or off track in its
    latest quarter (stage: the status, so a worsening from at_risk to off_track alerts again). A
    year without a goal has no verdict, so no alert."""

    name = "committee"

    def evaluate(self, inputs: Inputs, today: dt.date) -> Findings:
        return committee_rule(inputs.indicators, inputs.committee_emails, inputs.thresholds)

    def recheck(self, row: Notification, current: Current) -> Verdict:
        indicator = next((i for i in current.indicators(row) if i.get("indicator") == row.indicator), None)
        if indicator is None or indicator.get("status") not in current.thresholds.committee_statuses:
            return Verdict(False, f"the indicator is {indicator.get('status') if indicator else 'gone'} now")
        return Verdict(True)


INDICATOR_FIGURES = (
    "baseline_year",
    "baseline",
    "target",
    "ytd_actual",
    "baseline_ytd",
    "ytd_target",
    "change_pct",
    "projection",
)


def committee_rule(indicators: list[dict], emails: list[str], thresholds: Thresholds) -> Findings:
    """The committee alerts about kpi's `indicators` (bench/notify.py makes its messages with it)."""
    findings = Findings()
    for indicator in indicators:
        status, latest = indicator.get("status"), indicator.get("latest_quarter")
        if status not in thresholds.committee_statuses or not latest:
            continue
        quarter = Quarter(indicator["year"], latest)
        goal = indicator.get("goal") or {}
        facts = {
            "indicator": indicator["indicator"],
            "indicator_name": indicator.get("name") or indicator["indicator"],
            **_period_facts(quarter),
            "status": status,
            "goal_kind": goal.get("kind"),
            "goal_text": goal.get("text"),
            **{name: indicator.get(name) for name in INDICATOR_FIGURES},
        }
        candidate = Candidate(
            Committee.name,
            quarter.year,
            quarter.quarter,
            status,
            list(emails),
            facts,
            indicator=indicator["indicator"],
        )
        findings.add(candidate, "COMMITTEE_EMAILS is empty")
    return findings


@register
class Reminder(Rule):
    """The due date is `reminder_days` away or less and the report is not submitted; cancelled once
    it is submitted (or returned), or once the due date has passed (the overdue notice follows)."""

    name = "reminder"

    def evaluate(self, inputs: Inputs, today: dt.date) -> Findings:
        findings = Findings()
        for facts in _unsubmitted(inputs):
            days_left = _days_to_due(facts, today)
            if 0 <= days_left <= inputs.thresholds.reminder_days:
                _to_bureau(findings, inputs.directory, self.name, "1", {**facts, "days_left": days_left})
        return findings

    def recheck(self, row: Notification, current: Current) -> Verdict:
        if dt.date.fromisoformat(row.facts["due_date"]) < current.today:
            return Verdict(False, "the due date has passed: an overdue notice follows instead")
        return _still_unsubmitted(row, current)


@register
class Overdue(Rule):
    """The due date has passed and the report is still not submitted: notice n+1 comes
    `overdue_repeat_days` after notice n (`inputs.overdue_notices`), at most `overdue_max_notices`;
    cancelled once the report is submitted (or returned). Once the quarter is locked for the bureau
    the notice asks it to have the coordinators (COORDINATOR_EMAILS) reopen it, not to submit:
    cancelled, if the lock changes before it is sent, in favour of the next notice."""

    name = "overdue"

    def evaluate(self, inputs: Inputs, today: dt.date) -> Findings:
        findings = Findings()
        limits = inputs.thresholds
        for facts in _unsubmitted(inputs):
            days_overdue = -_days_to_due(facts, today)
            notice = self.next_notice(inputs.overdue_notices.get(facts["bureau"]), today, limits)
            if days_overdue > 0 and notice is not None:
                quarter = Quarter(facts["year"], facts["quarter"])
                entry = _after_lock(inputs, facts["bureau"], quarter)
                facts.update(
                    days_overdue=days_overdue,
                    notice=notice,
                    max_notices=limits.overdue_max_notices,
                    **_lock_facts(inputs, quarter, entry["reopened_at"] if entry else None),
                )
                _to_bureau(findings, inputs.directory, self.name, str(notice), facts)
        return findings

    @staticmethod
    def next_notice(last: Notice | None, today: dt.date, limits: Thresholds) -> int | None:
        """The number of the notice due today after `last`, or None."""
        if last is None:
            return 1
        if last.number < limits.overdue_max_notices and (today - last.day).days >= limits.overdue_repeat_days:
            return last.number + 1
        return None

    def recheck(self, row: Notification, current: Current) -> Verdict:
        verdict = _still_unsubmitted(row, current)
        was_locked = row.facts.get("locked", False)  # a notice written before locks were told apart
        if verdict.send and current.is_locked(row.bureau, row.year, row.quarter) != was_locked:
            return Verdict(
                False, "the quarter has been reopened since" if was_locked else "the quarter has locked since"
            )
        return verdict


@register
class Locked(Rule):
    """The coordinators' list of the quarters locked for a bureau that has still not submitted them,
    each linked to the overview where they reopen a quarter: one list a day while there is any
    (stage: the day; the notification's quarter is the day's). Cancelled if none of them is still
    locked and missing."""

    name = "locked"

    def evaluate(self, inputs: Inputs, today: dt.date) -> Findings:
        findings = Findings()
        reporting, order = inputs.catalog.reporting, [bureau.id for bureau in inputs.catalog.bureaus]
        lines = []
        for entry in inputs.outstanding_after_lock:
            quarter = Quarter(entry["year"], entry["quarter"])
            if not plan_rules.is_locked(reporting, quarter, inputs.now, entry["reopened_at"]):
                continue
            lines.append(
                {
                    **_bureau_facts(entry["bureau"], None, quarter, None, inputs.directory),
                    "period": str(quarter),
                    "report_status": entry["status"],
                    "days_overdue": plan_rules.days_overdue(reporting, quarter, inputs.now),
                    "open_until_roc": closing_text(
                        plan_rules.open_until(reporting, quarter, entry["reopened_at"])
                    ),
                }
            )
        if not lines:
            return findings
        lines.sort(key=lambda line: (line["year"], line["quarter"], order.index(line["bureau"])))
        day = Quarter.containing(today)
        facts = {"day": today.isoformat(), "day_roc": format_roc_date(today), "reports": lines}
        candidate = Candidate(
            self.name, day.year, day.quarter, today.isoformat(), list(inputs.coordinator_emails), facts
        )
        findings.add(candidate, "COORDINATOR_EMAILS is empty")
        return findings

    def recheck(self, row: Notification, current: Current) -> Verdict:
        for line in row.facts["reports"]:
            report = current.report_of(line["bureau"], line["year"], line["quarter"])
            missing = (report["status"] if report else NOT_STARTED) in OUTSTANDING_STATUSES
            if missing and current.is_locked(line["bureau"], line["year"], line["quarter"]):
                return Verdict(True)
        return Verdict(False, "every listed quarter has been submitted or reopened since")


@register
class Behind(Rule):
    """Once kpi judges the quarter (its due date has passed), each bureau with metrics kpi finds
    behind plan (a bureau that has not reported is chased by reminder and overdue instead), asked to
    act on the 因應對策 it reported and to say how in the next quarter's report (linked: its draft can
    be saved now); cancelled once none is behind any more."""

    name = "behind"

    def evaluate(self, inputs: Inputs, today: dt.date) -> Findings:
        findings = Findings()
        progress = inputs.progress
        if progress is None or not progress.get("due_passed"):
            return findings
        for facts in _chased_reports(inputs):
            actions = behind_actions(progress, facts["bureau"], inputs.catalog)
            if actions:
                upcoming = Quarter(facts["year"], facts["quarter"]).next()
                facts.update(
                    threshold_percent=progress.get("threshold_percent"),
                    actions=actions,
                    next_year=upcoming.year,
                    next_quarter=upcoming.quarter,
                    next_period_label=upcoming.label_zh,
                )
                _to_bureau(findings, inputs.directory, self.name, "1", facts)
        return findings

    def recheck(self, row: Notification, current: Current) -> Verdict:
        progress = current.progress(row)
        if progress is None or not behind_actions(progress, row.bureau, current.catalog):
            return Verdict(False, "no action is behind its plan any more")
        return Verdict(True)
