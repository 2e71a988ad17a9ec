"""What the bureau and coordinator pages share: periods, access to a bureau, and report states."""

from __future__ import annotations

from flask import g

from services.intake import reports
from services.intake.context import current_catalog
from services.intake.web import labels
from shared import rules as plan_rules
from shared.auth import Role
from shared.periods import Quarter

READERS = (Role.ADMIN, Role.COORDINATOR, Role.VIEWER, Role.BUREAU)


def plan_quarters(rules: reports.Rules) -> list[Quarter]:
    """Every quarter this deployment tracks, up to the one in progress, newest first."""
    last = Quarter.containing(plan_rules.taipei_today(rules.now))
    quarter, found = rules.first_quarter, []
    while quarter <= last:
        found.append(quarter)
        quarter = quarter.next()
    return found[::-1]


def quarter_row(report, quarter: Quarter, rules: reports.Rules) -> dict:
    """One line of 'my quarters': status, due date and days left or late."""
    started = plan_rules.has_started(quarter, rules.now)
    status = report.status if report else None
    done = plan_rules.counts_as_submitted(status)
    days_left = plan_rules.days_until_due(rules.reporting, quarter, rules.now)
    if not started:
        timing = "尚未開始"
    elif status == reports.RETURNED:
        timing = "已退回，請修正後重新送出"
    elif done:
        timing = labels.submitted_text(report.days_late)
    elif not plan_rules.has_ended(quarter, rules.now):
        timing = "本季進行中，季末後可送出"
    else:
        timing = labels.deadline_text(days_left)
    return {
        "quarter": quarter,
        "status": status,
        "due": plan_rules.due_date(rules.reporting, quarter),
        "timing": timing,
        "late": started and not done and days_left < 0,
        "started": started,
        "ended": plan_rules.has_ended(quarter, rules.now),
        "locked": started and reports.is_locked(report, quarter, rules),
        "report": report,
        "revision": report.revision if report else 0,
        # What the bureau can still act on: an open quarter not yet submitted, or returned to it.
        "needs_action": started
        and not reports.is_locked(report, quarter, rules)
        and (not done or status == reports.RETURNED),
    }


def check_readable(bureau: str) -> None:
    """A bureau user sees only their own bureau; an unknown bureau is simply not found."""
    reports.check_access(current_catalog(), g.principal, bureau)


def returned_comment(session, report) -> str | None:
    """The coordinator's comment, while the report is returned."""
    if report is None or report.status != reports.RETURNED:
        return None
    returned = reports.latest_by_event(session, report).get("returned")
    return returned.comment if returned else None


def conflict_message(session, bureau: str, period: Quarter, rules: reports.Rules) -> str:
    """Why the report refused a change: locked, or in a state that does not allow it."""
    report = reports.find_report(session, bureau, period)
    if reports.is_locked(report, period, rules):
        return "本季已鎖定，不能再修改；如需修改，請聯絡管考單位重新開放。"
    return (
        f"報告目前為「{labels.status_label(report.status if report else None)}」，"
        "無法進行這個操作，請重新整理頁面後再試。"
    )


def by_program(sheet) -> list[tuple]:
    """The sheet's actions grouped under their programs, in catalog order."""
    groups: list[tuple] = []
    for action in sheet.actions:
        if not groups or groups[-1][0] != action.program:
            groups.append((action.program, []))
        groups[-1][1].append(action)
    return groups


def stale_message(session, bureau: str, period: Quarter, seen: int) -> str:
    """Why a write from a stale page was refused, and what to do: nothing of it was saved."""
    report = reports.find_report(session, bureau, period)
    status = report.status if report else None
    message = (
        f"您開啟這個頁面之後，報告已由第 {seen} 版更新為第 {report.revision if report else 0} 版"
        f"（目前狀態：{labels.status_label(status)}），這次的操作沒有儲存。"
        "請先看下方「您開啟頁面後的變更」，確認後再操作一次。"
    )
    if plan_rules.counts_as_submitted(status) and status != reports.RETURNED:
        message += "報告已送出，不需要再送出；如需修改，請填寫修正原因後按「送出修正」。"
    return message
