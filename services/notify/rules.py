"""The five rules, as pure functions of what the sources said and today's date in Taipei.

They act on kpi's judgements (its compliance, its `behind` flags, its indicators' verdicts) and on
the plan's rules in shared/rules.py; they recompute none of them. Each rule returns candidates; a
candidate's dedup key names the one notification it may ever become (see evaluation.py, which
stores them with insert-or-ignore).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from shared.catalog import Catalog
from shared.periods import Quarter, format_roc_date
from shared.rules import OUTSTANDING_STATUSES


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


def _directory(bureaus: list[dict]) -> dict[str, dict]:
    return {bureau["id"]: bureau for bureau in bureaus}


def _addresses(entry: dict | None) -> list[str]:
    return [contact["email"] for contact in (entry or {}).get("contacts", []) if contact.get("email")]


def _to_bureau(findings: Findings, candidate: Candidate, directory: dict[str, dict]) -> None:
    """Address a candidate to its bureau's contacts, or record why it cannot be."""
    candidate.recipients = _addresses(directory.get(candidate.bureau))
    if candidate.recipients:
        findings.candidates.append(candidate)
    else:
        findings.skipped.append(
            {"key": candidate.key, "reason": f"bureau {candidate.bureau} has no contact address"}
        )


def _report_facts(quarter: Quarter, bureau: dict, directory: dict[str, dict], due: dt.date) -> dict:
    entry = directory.get(bureau["bureau"], {})
    return {
        "bureau": bureau["bureau"],
        "bureau_name": entry.get("name") or bureau.get("name") or bureau["bureau"],
        "year": quarter.year,
        "quarter": quarter.quarter,
        "period_label": quarter.label_zh,
        "due_date": due.isoformat(),
        "due_date_roc": format_roc_date(due),
        "report_status": bureau.get("status"),
    }


@dataclass(frozen=True)
class Notice:
    """The latest overdue notice of a report already in the outbox."""

    number: int
    day: dt.date  # the day (Asia/Taipei) it was written


def deadline_rules(
    compliance: dict,
    bureaus: list[dict],
    today: dt.date,
    thresholds: Thresholds,
    overdue_notices: dict[str, Notice] | None = None,
) -> Findings:
    """reminder: the due date is `reminder_days` away or less and the report is not submitted.
    overdue: the due date has passed and it is still not; notice n+1 comes `overdue_repeat_days`
    after notice n (`overdue_notices`, by bureau), at most `overdue_max_notices` of them."""
    findings = Findings()
    overdue_notices = overdue_notices or {}
    quarter = Quarter(compliance["year"], compliance["quarter"])
    due = dt.date.fromisoformat(compliance["due_date"])
    days_left = (due - today).days
    directory = _directory(bureaus)
    for bureau in compliance["bureaus"]:
        if bureau.get("status") not in OUTSTANDING_STATUSES:
            continue
        facts = _report_facts(quarter, bureau, directory, due)
        if 0 <= days_left <= thresholds.reminder_days:
            candidate = Candidate(
                "reminder", quarter.year, quarter.quarter, "1", [], {**facts, "days_left": days_left}
            )
        elif days_left < 0:
            last = overdue_notices.get(bureau["bureau"])
            if last is None:
                notice = 1
            elif (
                last.number < thresholds.overdue_max_notices
                and (today - last.day).days >= thresholds.overdue_repeat_days
            ):
                notice = last.number + 1
            else:
                continue
            facts.update(days_overdue=-days_left, notice=notice, max_notices=thresholds.overdue_max_notices)
            candidate = Candidate("overdue", quarter.year, quarter.quarter, str(notice), [], facts)
        else:
            continue
        candidate.bureau = bureau["bureau"]
        _to_bureau(findings, candidate, directory)
    return findings


def last_return(report: dict) -> dict | None:
    """The revision that returned the report most recently, with the coordinator's comment."""
    returns = [revision for revision in report.get("history", []) if revision.get("event") == "returned"]
    return max(returns, key=lambda revision: revision["number"]) if returns else None


def returned_rule(reports: list[dict], bureaus: list[dict]) -> Findings:
    """returned: one notice per return of a report (stage = the number of the returning revision)."""
    findings = Findings()
    directory = _directory(bureaus)
    for report in reports:
        if report.get("status") != "returned":
            continue
        revision = last_return(report)
        if revision is None:
            continue
        quarter = Quarter(report["year"], report["quarter"])
        due = dt.datetime.fromisoformat(report["due_at"]).date() if report.get("due_at") else None
        entry = directory.get(report["bureau"], {})
        facts = {
            "bureau": report["bureau"],
            "bureau_name": entry.get("name") or report["bureau"],
            "year": quarter.year,
            "quarter": quarter.quarter,
            "period_label": quarter.label_zh,
            "due_date": due.isoformat() if due else None,
            "due_date_roc": format_roc_date(due) if due else None,
            "comment": revision.get("comment") or "",
            "returned_at": revision.get("at"),
            "returned_by": revision.get("actor"),
            "revision": revision["number"],
        }
        candidate = Candidate(
            "returned",
            quarter.year,
            quarter.quarter,
            str(revision["number"]),
            [],
            facts,
            bureau=report["bureau"],
        )
        _to_bureau(findings, candidate, directory)
    return findings


def behind_actions(progress: dict, bureau: str, catalog: Catalog) -> list[dict]:
    """The bureau's metrics kpi judges behind plan, with kpi's figures."""
    found = []
    for item in progress.get("actions", []):
        if item.get("bureau") != bureau or not item.get("behind"):
            continue
        try:
            action_text = catalog.action(item["action"]).text
        except KeyError:
            action_text = item["action"]
        found.append(
            {
                "action": item["action"],
                "action_text": action_text,
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


def behind_rule(compliance: dict, progress: dict, bureaus: list[dict], catalog: Catalog) -> Findings:
    """behind: once kpi judges a quarter (its due date has passed), each bureau with metrics kpi
    finds behind plan; a bureau that has not reported is chased by the deadline rules instead."""
    findings = Findings()
    if not progress.get("due_passed"):
        return findings
    quarter = Quarter(compliance["year"], compliance["quarter"])
    due = dt.date.fromisoformat(compliance["due_date"])
    directory = _directory(bureaus)
    for bureau in compliance["bureaus"]:
        actions = behind_actions(progress, bureau["bureau"], catalog)
        if not actions:
            continue
        facts = {
            **_report_facts(quarter, bureau, directory, due),
            "threshold_percent": progress.get("threshold_percent"),
            "actions": actions,
        }
        candidate = Candidate(
            "behind", quarter.year, quarter.quarter, "1", [], facts, bureau=bureau["bureau"]
        )
        _to_bureau(findings, candidate, directory)
    return findings


def committee_rule(indicators: list[dict], emails: list[str], thresholds: Thresholds) -> Findings:
    """committee alert: kpi's verdict on an outcome indicator of the current year is at risk or off
    track in its latest quarter (stage = the status, so a worsening from at_risk to off_track alerts
    again). A year without a goal has no verdict, so no alert."""
    findings = Findings()
    for indicator in indicators:
        status, latest = indicator.get("status"), indicator.get("latest_quarter")
        if status not in thresholds.committee_statuses or not latest:
            continue
        quarter = Quarter(indicator["year"], latest)
        facts = {
            "indicator": indicator["indicator"],
            "indicator_name": indicator.get("name") or indicator["indicator"],
            "year": quarter.year,
            "quarter": quarter.quarter,
            "period_label": quarter.label_zh,
            "status": status,
            "goal_kind": (indicator.get("goal") or {}).get("kind"),
            "goal_text": (indicator.get("goal") or {}).get("text"),
            **{
                name: indicator.get(name)
                for name in (
                    "baseline_year",
                    "baseline",
                    "target",
                    "ytd_actual",
                    "baseline_ytd",
                    "ytd_target",
                    "change_pct",
                    "projection",
                )
            },
        }
        candidate = Candidate(
            "committee",
            quarter.year,
            quarter.quarter,
            status,
            list(emails),
            facts,
            indicator=indicator["indicator"],
        )
        if emails:
            findings.candidates.append(candidate)
        else:
            findings.skipped.append({"key": candidate.key, "reason": "COMMITTEE_EMAILS is empty"})
    return findings
