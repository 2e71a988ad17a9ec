"""Quarterly activity reports: saving, the submission lifecycle and revisions."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from services.intake import feed
from services.intake.models import ActivityTarget, Report, ReportRevision
from services.intake.personal_data import refuse_personal_data
from shared import rules as plan_rules
from shared.auth import Principal, Role
from shared.catalog import Catalog
from shared.changes import ActionValues, ReportChange, SexCounts
from shared.errors import Conflict, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from shared.merge_patch import merge_patch
from shared.periods import Quarter, format_roc_date
from shared.rules import ACCEPTED, DRAFT, RETURNED, SUBMITTED, SUBMITTED_STATUSES


@dataclass(frozen=True)
class Rules:
    """What a report's lifecycle depends on besides the report: the plan, the deployment's first
    tracked quarter and the moment."""

    catalog: Catalog
    first_quarter: Quarter
    now: dt.datetime

    @property
    def reporting(self):
        return self.catalog.reporting


@dataclass(frozen=True)
class Seen:
    """Which revision of a report a writer saw: the API's If-Match (RFC 9110), or the revision a page
    was rendered from. Writes that pass none (the demo generator) act on whatever is current."""

    revisions: frozenset[int] | None  # None: If-Match: *, whatever is current; {0}: no report yet
    stated: bool = True

    @classmethod
    def revision(cls, number: int) -> Seen:
        return cls(frozenset({number}))

    @classmethod
    def any(cls) -> Seen:
        return cls(None)

    @classmethod
    def unstated(cls) -> Seen:
        """A request without If-Match: fine only while there is no report to overwrite."""
        return cls(None, stated=False)

    def matches(self, current: int) -> bool:
        return bool(current) if self.revisions is None else current in self.revisions

    @property
    def latest(self) -> int:
        """The newest revision the writer saw (0 for none)."""
        return max(self.revisions or {0})


class Stale(PreconditionFailed):
    """The report changed since the writer saw it: nothing was written."""

    def __init__(self, report: Report, seen: Seen):
        self.current, self.seen = report.revision, seen.latest
        if seen.revisions is None:
            detail = "There is no report yet, so If-Match: * matches nothing: send no If-Match to create it."
        else:
            detail = (
                f"The report changed since revision {seen.latest}: it is now revision "
                f"{report.revision} ({report.status}). Nothing was saved; read it again "
                "(GET gives the new ETag and the history) and retry."
            )
        super().__init__(detail, {"revision": [f"Current revision: {report.revision}."]}, etag(report))


def etag(report: Report) -> dict[str, str]:
    """The report's revision as an ETag header (none while there is no report yet)."""
    return {"ETag": f'"{report.revision}"'} if report.revision else {}


def _check_seen(report: Report, seen: Seen | None) -> None:
    """Refuse a write based on another revision than the current one; checked under the row lock,
    so two writers of one revision cannot both pass."""
    if seen is None:
        return
    current = report.revision
    if not seen.stated:
        if current:
            raise PreconditionRequired(
                f"The report exists (revision {current}): send If-Match with the ETag you read "
                "(GET it first), or If-Match: * to write over whatever is current.",
                headers=etag(report),
            )
    elif not seen.matches(current):
        raise Stale(report, seen)


# The texts a report carries, by the names the pages give them (the API names them too when it
# refuses personal data in one).
ACTION_TEXTS = ("note", "delay_reason", "countermeasure")
TEXT_LABELS = {
    "narrative": "綜合說明",
    "reason": "修正原因",
    "note": "備註",
    "delay_reason": "落後原因",
    "countermeasure": "因應對策",
}
RETURN_COMMENT_LABEL, REOPEN_REASON_LABEL = "退回意見", "重新開放原因"


def _report_texts(narrative: str, reason: str | None, actions: dict):
    """Every text of a report's content, as (path, Chinese name, text) for the personal-data screen."""
    yield ("narrative",), TEXT_LABELS["narrative"], narrative
    yield ("reason",), TEXT_LABELS["reason"], reason
    for action_id, entry in actions.items():
        for kind in ACTION_TEXTS:
            yield ("actions", action_id, kind), f"{action_id} {TEXT_LABELS[kind]}", entry.get(kind)


HISTORY_PAGE = 20  # revisions a report shows with it; older ones are read page by page
MAX_HISTORY_PAGE = 100


def _revisions(report: Report):
    """A report's revisions without their snapshots (a copy of the whole report each)."""
    return (
        select(ReportRevision)
        .options(defer(ReportRevision.snapshot))
        .where(ReportRevision.report_id == report.id)
    )


def revisions_page(
    session: Session, report: Report, *, before: int | None = None, limit: int = HISTORY_PAGE
) -> list[ReportRevision]:
    """Up to `limit` revisions older than `before` (the newest if None), oldest first."""
    query = _revisions(report)
    if before is not None:
        query = query.where(ReportRevision.number < before)
    newest_first = session.scalars(query.order_by(ReportRevision.number.desc()).limit(limit))
    return list(newest_first)[::-1]


def changes_since(session: Session, report: Report, revision: int) -> list[ReportRevision]:
    """The revisions written after the given one, oldest first (what a stale page missed), at
    most a page of the newest."""
    missed = revisions_page(session, report, limit=HISTORY_PAGE)
    return [written for written in missed if written.number > revision]


def latest_by_event(session: Session, report: Report) -> dict[str, ReportRevision]:
    """The newest revision of each kind (the last return with its comment, the last reopening with
    its reason), however long the history."""
    newest = (
        select(ReportRevision.event, func.max(ReportRevision.number).label("number"))
        .where(ReportRevision.report_id == report.id)
        .group_by(ReportRevision.event)
        .subquery()
    )
    found = session.scalars(
        _revisions(report).join(
            newest, and_(ReportRevision.event == newest.c.event, ReportRevision.number == newest.c.number)
        )
    )
    return {revision.event: revision for revision in found}


@dataclass(frozen=True)
class ActionEntry:
    """One action of a report as saved: its values, the parts by sex, its texts."""

    action: str
    values: dict[str, int | None]
    by_sex: dict[str, dict[str, int | None]]
    note: str | None
    delay_reason: str | None
    countermeasure: str | None


@dataclass(frozen=True)
class ReportView:
    """A report as the API shows it."""

    bureau: str
    year: int
    quarter: int
    status: str
    narrative: str
    actions: tuple[ActionEntry, ...]
    revision: int
    due_at: dt.datetime
    submitted_at: dt.datetime | None
    days_late: int | None
    reopened_at: dt.datetime | None
    open_until: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def period(self) -> str:
        return str(Quarter(self.year, self.quarter))

    @property
    def period_label(self) -> str:
        return Quarter(self.year, self.quarter).label_zh


@dataclass(frozen=True)
class ReportDetail(ReportView):
    """A report with its whole history, what is behind plan and whether it is locked."""

    history: tuple[ReportRevision, ...] = ()  # the newest page, oldest first
    latest_by_event: dict[str, ReportRevision] | None = None
    behind: dict[str, list[dict]] | None = None
    locked: bool = False

    @property
    def history_total(self) -> int:
        return self.revision  # every revision is numbered, from 1


def _entries(report: Report, catalog: Catalog) -> tuple[ActionEntry, ...]:
    order = {action.id: index for index, action in enumerate(catalog.actions)}
    return tuple(
        ActionEntry(
            action=action_id,
            values=dict(entry.get("values") or {}),
            by_sex=dict(entry.get("by_sex") or {}),
            note=entry.get("note"),
            delay_reason=entry.get("delay_reason"),
            countermeasure=entry.get("countermeasure"),
        )
        for action_id, entry in sorted(report.actions.items(), key=lambda item: order.get(item[0], 0))
    )


def _view_fields(report: Report, rules: Rules) -> dict:
    return {
        "bureau": report.bureau,
        "year": report.year,
        "quarter": report.quarter,
        "status": report.status,
        "narrative": report.narrative,
        "actions": _entries(report, rules.catalog),
        "revision": report.revision,
        "due_at": plan_rules.due_at(rules.reporting, Quarter(report.year, report.quarter)),
        "submitted_at": report.submitted_at,
        "days_late": report.days_late,
        "reopened_at": report.reopened_at,
        "open_until": plan_rules.open_until(
            rules.reporting, Quarter(report.year, report.quarter), report.reopened_at
        ),
        "created_at": report.created_at,
        "updated_at": report.updated_at,
    }


def view(report: Report, rules: Rules) -> ReportView:
    return ReportView(**_view_fields(report, rules))


def detail(session: Session, rules: Rules, report: Report) -> ReportDetail:
    quarter = Quarter(report.year, report.quarter)
    return ReportDetail(
        **_view_fields(report, rules),
        history=tuple(revisions_page(session, report)),
        latest_by_event=latest_by_event(session, report),
        behind=behind_actions(session, rules, report),
        locked=is_locked(report, quarter, rules),
    )


def change_of(report: Report, event: str) -> ReportChange:
    """The report as the change feed carries it (shared/changes.py), with the event that changed it."""
    return ReportChange(
        bureau=report.bureau,
        year=report.year,
        quarter=report.quarter,
        status=report.status,
        narrative=report.narrative,
        revision=report.revision,
        event=event,
        submitted_at=report.submitted_at,
        reopened_at=report.reopened_at,
        updated_at=report.updated_at,
        actions=tuple(
            ActionValues(
                action=action_id,
                values=dict(entry.get("values") or {}),
                by_sex={metric: SexCounts(**parts) for metric, parts in (entry.get("by_sex") or {}).items()},
            )
            for action_id, entry in report.actions.items()
        ),
    )


def find_report(session: Session, bureau: str, quarter: Quarter, *, lock: bool = False) -> Report | None:
    query = select(Report).where(
        Report.bureau == bureau, Report.year == quarter.year, Report.quarter == quarter.quarter
    )
    return session.scalar(query.with_for_update() if lock else query)


def get_report(session: Session, principal: Principal, bureau: str, quarter: Quarter) -> Report:
    """A report the principal may read; another bureau's report is simply not found."""
    report = find_report(session, bureau, quarter) if principal.may_act_for(bureau) else None
    if report is None:
        raise NotFound(f"No report of {bureau} for {quarter}.")
    return report


def list_reports(
    session: Session, principal: Principal, *, year=None, quarter=None, bureau=None, status=None
):
    query = select(Report).order_by(Report.year, Report.quarter, Report.bureau)
    if principal.role == Role.BUREAU:
        query = query.where(Report.bureau == principal.bureau)
    for column, value in (
        (Report.year, year),
        (Report.quarter, quarter),
        (Report.bureau, bureau),
        (Report.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query))


def _entry_errors(action, values: dict, by_sex: dict) -> list[str]:
    """What is wrong with one entry's metrics: unknown ones, and totals given for metrics counted by sex."""
    metrics = {metric.id: metric for metric in action.metrics}
    problems = []
    unknown = sorted((set(values) | set(by_sex)) - set(metrics))
    if unknown:
        problems.append(f"Unknown metrics of {action.id}: {', '.join(unknown)}.")
    for metric_id in sorted(set(by_sex) & set(metrics)):
        if not metrics[metric_id].by_sex:
            problems.append(f"{metric_id} is not counted by sex: give it in values.")
    for metric_id in sorted(set(values) & set(metrics)):
        metric = metrics[metric_id]
        if metric.by_sex and values[metric_id] is not None:
            derived = plan_rules.total_of(by_sex.get(metric_id))
            if metric_id not in by_sex:
                problems.append(f"{metric_id} counts people: give it by sex in by_sex; the total is derived.")
            elif derived != values[metric_id]:
                problems.append(
                    f"{metric_id}: the total {values[metric_id]} is not the sum by sex ({derived})."
                )
    return problems


def normalise_actions(catalog: Catalog, bureau: str, entries: list[dict]) -> dict:
    """Check the entries against the bureau's actions and key them by action id; a metric counted
    by sex keeps its breakdown, and its value is the breakdown's total."""
    allowed = {action.id: action for action in catalog.actions_for(bureau)}
    errors: dict = {}
    result: dict = {}
    for index, entry in enumerate(entries):
        action = allowed.get(entry["action"])
        if action is None:
            errors[str(index)] = {"action": [f"{entry['action']!r} is not an action of {bureau}."]}
            continue
        if action.id in result:
            errors[str(index)] = {"action": [f"{action.id} is given twice."]}
            continue
        values, by_sex = entry.get("values") or {}, entry.get("by_sex") or {}
        problems = _entry_errors(action, values, by_sex)
        if problems:
            errors[str(index)] = {"values": problems}
            continue
        stored = {
            "values": {},
            "by_sex": {},
            "note": entry.get("note") or None,
            "delay_reason": entry.get("delay_reason") or None,
            "countermeasure": entry.get("countermeasure") or None,
        }
        for metric in action.metrics:
            if metric.by_sex:
                parts = by_sex.get(metric.id) or {}
                stored["by_sex"][metric.id] = {sex: parts.get(sex) for sex in plan_rules.SEXES_REPORTED}
                stored["values"][metric.id] = plan_rules.total_of(parts)
            else:
                stored["values"][metric.id] = values.get(metric.id)
        if not stored["by_sex"]:
            del stored["by_sex"]
        result[action.id] = stored
    if errors:
        raise Invalid("Some actions are not valid for this bureau.", {"actions": errors})
    return result


def _diff(old, new, path="") -> list[dict]:
    """Field-by-field changes between two snapshots."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(set(old) | set(new), key=str):
            changes += _diff(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        return changes
    return [] if old == new else [{"field": path, "old": old, "new": new}]


def _snapshot(report: Report) -> dict:
    return {
        "status": report.status,
        "narrative": report.narrative,
        "actions": copy.deepcopy(report.actions),
    }


def _write_revision(
    session,
    report: Report,
    before: dict,
    event: str,
    principal: Principal,
    rules: Rules,
    *,
    reason=None,
    comment=None,
):
    after = _snapshot(report)
    report.revision += 1
    report.updated_at = rules.now
    session.add(
        ReportRevision(
            report_id=report.id,
            number=report.revision,
            event=event,
            status=report.status,
            actor=principal.name,
            at=rules.now,
            reason=reason,
            comment=comment,
            changes=_diff(before, after),
            snapshot=after,
        )
    )
    session.flush()
    feed.record(session, change_of(report, event), rules.now)


def _check_period(rules: Rules, quarter: Quarter) -> None:
    first = rules.first_quarter
    if quarter < first:
        raise Invalid(
            f"Reports start with {first} ({first.label_zh}).", {"year": [f"Must be {first} or later."]}
        )
    if not plan_rules.has_started(quarter, rules.now):
        raise Invalid(
            f"{quarter.label_zh}尚未開始，還不能填報。", {"quarter": ["This quarter has not started yet."]}
        )


def _check_ended(rules: Rules, quarter: Quarter) -> None:
    """A report can be saved as a draft at any time, but submitted only once its quarter is over."""
    if not plan_rules.has_ended(quarter, rules.now):
        first_day = format_roc_date(quarter.end + dt.timedelta(days=1))
        raise Invalid(
            f"{quarter.label_zh}尚未結束，{first_day}起才能送出報告；現在可先儲存草稿。",
            {"quarter": ["The quarter has not ended yet: it can be submitted once it is over."]},
        )


def is_locked(report: Report | None, quarter: Quarter, rules: Rules) -> bool:
    """Closed for the bureau: past the lock date, unless a coordinator reopened it since."""
    reopened_at = report.reopened_at if report is not None else None
    return plan_rules.is_locked(rules.reporting, quarter, rules.now, reopened_at)


def _load_for_update(session: Session, bureau: str, quarter: Quarter, rules: Rules) -> Report:
    """The report row, locked for this transaction; created as an empty draft if missing."""
    report = find_report(session, bureau, quarter, lock=True)
    if report is not None:
        return report
    try:
        with session.begin_nested():
            report = Report(
                bureau=bureau,
                year=quarter.year,
                quarter=quarter.quarter,
                status=DRAFT,
                narrative="",
                actions={},
                revision=0,
                created_at=rules.now,
                updated_at=rules.now,
            )
            session.add(report)
    except IntegrityError:
        report = find_report(session, bureau, quarter, lock=True)  # created concurrently
    return report


def check_access(catalog: Catalog, principal: Principal, bureau: str) -> None:
    """A bureau's reports are the bureau's own; another bureau's, or an unknown bureau's, are simply
    not found, so a bureau cannot even learn whether they exist."""
    try:
        catalog.bureau(bureau)
    except KeyError:
        raise NotFound(f"No bureau {bureau!r}.") from None
    if not principal.may_act_for(bureau):
        raise NotFound(f"No report of {bureau}.")


def _authorise_bureau_write(principal: Principal, bureau: str, rules: Rules) -> None:
    check_access(rules.catalog, principal, bureau)


def save_report(
    session,
    rules: Rules,
    principal: Principal,
    bureau: str,
    quarter: Quarter,
    *,
    narrative: str,
    actions: list[dict],
    reason: str | None,
    seen: Seen | None = None,
) -> Report:
    """Save a report's content; a submitted or accepted report is amended, which needs a reason."""
    _authorise_bureau_write(principal, bureau, rules)
    _check_period(rules, quarter)
    content = normalise_actions(rules.catalog, bureau, actions)
    refuse_personal_data(_report_texts(narrative, reason, content))
    report = _load_for_update(session, bureau, quarter, rules)
    if is_locked(report, quarter, rules):
        raise Conflict(f"{quarter.label_zh} is locked for {bureau}; ask a coordinator to reopen it.")
    _check_seen(report, seen)
    amending = report.status in (SUBMITTED, ACCEPTED)
    if amending and not reason:
        raise Invalid(
            "The report was submitted: give a reason to amend it.",
            {"reason": ["A reason is required to amend a submitted report."]},
        )
    if report.narrative == narrative and report.actions == content and report.revision > 0:
        return report  # nothing changed: no new revision
    before = _snapshot(report)
    report.narrative, report.actions = narrative, content
    if amending:
        report.status = SUBMITTED
        _require_complete(session, rules, report)
        _write_revision(session, report, before, "amended", principal, rules, reason=reason)
    else:
        _write_revision(
            session,
            report,
            before,
            "created" if report.revision == 0 else "saved",
            principal,
            rules,
            reason=reason,
        )
    return report


def patch_target(report: Report | None, catalog: Catalog) -> dict:
    """The report as a JSON Merge Patch applies to it: actions keyed by id, and no totals of metrics
    counted by sex (their parts are patched; the total follows)."""
    if report is None:
        return {"narrative": "", "actions": {}}
    counted_by_sex = {(a.id, m.id) for a in catalog.actions for m in a.metrics if m.by_sex}
    actions = {}
    for action_id, entry in report.actions.items():
        entry = copy.deepcopy(entry)
        entry["values"] = {
            metric: value
            for metric, value in (entry.get("values") or {}).items()
            if (action_id, metric) not in counted_by_sex
        }
        actions[action_id] = entry
    return {"narrative": report.narrative, "actions": actions}


def patch_report(
    session,
    rules: Rules,
    principal: Principal,
    bureau: str,
    quarter: Quarter,
    patch: dict,
    seen: Seen | None = None,
) -> Report:
    """Change only what the patch names (RFC 7396), then save as a whole report is saved."""
    _authorise_bureau_write(principal, bureau, rules)
    _check_period(rules, quarter)
    report = find_report(session, bureau, quarter, lock=True)
    patched = merge_patch(patch_target(report, rules.catalog), patch)
    entries = [{"action": action_id, **entry} for action_id, entry in patched.get("actions", {}).items()]
    try:
        return save_report(
            session,
            rules,
            principal,
            bureau,
            quarter,
            narrative=patched.get("narrative") or "",
            actions=entries,
            reason=patched.get("reason"),
            seen=seen,
        )
    except Invalid as error:
        # A patch names actions by id, not by position in a list: say which action is wrong.
        problems = (error.errors or {}).get("actions")
        if isinstance(problems, dict):
            error.errors["actions"] = {
                entries[int(key)]["action"] if key.isdigit() else key: value
                for key, value in problems.items()
            }
        raise


def behind_actions(session: Session, rules: Rules, report: Report) -> dict[str, list[dict]]:
    """The output metrics behind plan (shared/rules.py, judge), year to date: earlier quarters'
    submitted reports and this report as it stands. These need 落後原因 and 因應對策 to submit."""
    own = {action.id: action for action in rules.catalog.actions_for(report.bureau)}
    targets = session.scalars(
        select(ActivityTarget).where(ActivityTarget.year == report.year, ActivityTarget.action.in_(own))
    ).all()
    if not targets:
        return {}
    earlier = session.scalars(
        select(Report).where(
            Report.bureau == report.bureau,
            Report.year == report.year,
            Report.quarter < report.quarter,
            Report.status.in_(SUBMITTED_STATUSES),
        )
    ).all()
    behind: dict[str, list[dict]] = {}
    for target in targets:
        try:
            metric = rules.catalog.metric(target.action, target.metric)
        except KeyError:
            continue  # a target of a metric the catalog no longer has
        reported = sum(
            (r.actions.get(target.action, {}).get("values", {}).get(target.metric) or 0)
            for r in [*earlier, report]
        )
        planned = plan_rules.planned_to_date(target.annual, target.quarterly, report.quarter)
        judgement = plan_rules.judge(metric, planned, reported, rules.reporting.behind_threshold)
        if judgement.behind:
            behind.setdefault(target.action, []).append(
                {
                    "metric": target.metric,
                    "planned_to_date": float(judgement.planned_to_date),
                    "reported_to_date": judgement.reported_to_date,
                    "percent": judgement.percent,
                }
            )
    return {action_id: behind[action_id] for action_id in own if action_id in behind}


def _require_complete(session: Session, rules: Rules, report: Report) -> None:
    """A submitted report has every metric (counted by sex: every part) and explains every action
    behind plan."""
    errors: dict = {}
    for action in rules.catalog.actions_for(report.bureau):
        entry = report.actions.get(action.id, {})
        missing = [m.id for m in action.metrics if entry.get("values", {}).get(m.id) is None]
        if missing:
            errors[action.id] = {"values": [f"Missing values: {', '.join(missing)}."]}
    for action_id in behind_actions(session, rules, report):
        entry = report.actions.get(action_id, {})
        needed = {}
        if not entry.get("delay_reason"):
            needed["delay_reason"] = ["Behind plan: give the reasons for the delay (落後原因)."]
        if not entry.get("countermeasure"):
            needed["countermeasure"] = ["Behind plan: give the countermeasures (因應對策)."]
        if needed:
            errors.setdefault(action_id, {}).update(needed)
    if errors:
        raise Invalid("The report is incomplete and cannot be submitted.", {"actions": errors})


def submit_report(
    session, rules: Rules, principal: Principal, bureau: str, quarter: Quarter, seen: Seen | None = None
) -> Report:
    """Submit a draft or returned report; its days late are recorded on first submission."""
    _authorise_bureau_write(principal, bureau, rules)
    _check_period(rules, quarter)
    _check_ended(rules, quarter)
    report = find_report(session, bureau, quarter, lock=True)
    if report is None:
        raise NotFound(f"No report of {bureau} for {quarter}: save it first.")
    if is_locked(report, quarter, rules):
        raise Conflict(f"{quarter.label_zh} is locked for {bureau}; ask a coordinator to reopen it.")
    _check_seen(report, seen)
    if report.status not in (DRAFT, RETURNED):
        raise Conflict(f"The report is already {report.status}; amend it with a reason instead.")
    before = _snapshot(report)
    _require_complete(session, rules, report)
    event = "resubmitted" if report.status == RETURNED else "submitted"
    report.status = SUBMITTED
    if report.submitted_at is None:
        report.submitted_at = rules.now
        report.days_late = plan_rules.days_late(rules.reporting, quarter, rules.now)
    _write_revision(session, report, before, event, principal, rules)
    return report


def _coordinator_report(session, rules: Rules, bureau: str, quarter: Quarter) -> Report:
    try:
        rules.catalog.bureau(bureau)
    except KeyError:
        raise NotFound(f"No bureau {bureau!r}.") from None
    report = find_report(session, bureau, quarter, lock=True)
    if report is None:
        raise NotFound(f"No report of {bureau} for {quarter}.")
    return report


def accept_report(
    session, rules: Rules, principal: Principal, bureau: str, quarter: Quarter, seen: Seen | None = None
) -> Report:
    """Accept a submitted report: exactly the revision the coordinator read, when `seen` says which."""
    report = _coordinator_report(session, rules, bureau, quarter)
    if report.status != SUBMITTED:
        raise Conflict(f"Only a submitted report can be accepted; this one is {report.status}.")
    _check_seen(report, seen)
    before = _snapshot(report)
    report.status = ACCEPTED
    _write_revision(session, report, before, "accepted", principal, rules)
    return report


def return_report(
    session,
    rules: Rules,
    principal: Principal,
    bureau: str,
    quarter: Quarter,
    comment: str,
    seen: Seen | None = None,
) -> Report:
    """Return a report to its bureau with a comment saying what to fix."""
    refuse_personal_data([(("comment",), RETURN_COMMENT_LABEL, comment)])
    report = _coordinator_report(session, rules, bureau, quarter)
    if report.status not in (SUBMITTED, ACCEPTED):
        raise Conflict(f"Only a submitted or accepted report can be returned; this one is {report.status}.")
    _check_seen(report, seen)
    before = _snapshot(report)
    report.status = RETURNED
    _write_revision(session, report, before, "returned", principal, rules, comment=comment)
    return report


def reopen_quarter(
    session,
    rules: Rules,
    principal: Principal,
    bureau: str,
    quarter: Quarter,
    reason: str,
    seen: Seen | None = None,
) -> Report:
    """Let a bureau edit a locked quarter again for another lock period."""
    refuse_personal_data([(("reason",), REOPEN_REASON_LABEL, reason)])
    try:
        rules.catalog.bureau(bureau)
    except KeyError:
        raise NotFound(f"No bureau {bureau!r}.") from None
    _check_period(rules, quarter)
    report = _load_for_update(session, bureau, quarter, rules)
    _check_seen(report, seen)
    before = _snapshot(report)
    report.reopened_at = rules.now
    _write_revision(session, report, before, "reopened", principal, rules, reason=reason)
    return report
