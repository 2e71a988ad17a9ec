"""How the pages word things: statuses, events, ROC dates, deadlines and revision changes."""

from __future__ import annotations

import datetime as dt

from shared import rules
from shared.catalog import Catalog
from shared.periods import TAIPEI, format_roc_date

# A report not yet started has no status (None) on the pages; its words are the plan's (shared/rules.py).
STATUS_LABELS = {None: rules.REPORT_STATUS_NAMES[rules.NOT_STARTED], **rules.REPORT_STATUS_NAMES}
EVENT_LABELS = {
    "created": "建立",
    "saved": "儲存草稿",
    "submitted": "送出",
    "resubmitted": "重新送出",
    "amended": "送出修正",
    "accepted": "核定",
    "returned": "退回",
    "reopened": "重新開放",
}
ROLE_LABELS = {
    "admin": "系統管理者",
    "coordinator": "管考人員",
    "bureau": "機關填報人",
    "viewer": "檢視者",
}
TEXT_FIELDS = {
    "note": "備註",
    "delay_reason": "落後原因",
    "countermeasure": "因應對策",
}


def status_label(status: str | None) -> str:
    """未填報, 草稿, 已送出, 已核定 or 已退回."""
    return STATUS_LABELS.get(status, status or "")


def roc_datetime(moment: dt.datetime | None) -> str:
    """111年7月5日 10:00, in Taipei time."""
    if moment is None:
        return ""
    local = moment.astimezone(TAIPEI)
    return f"{format_roc_date(local.date())} {local:%H:%M}"


def deadline_text(days_left: int) -> str:
    """剩餘 5 天, 今天截止 or 已逾期 3 天."""
    if days_left > 0:
        return f"剩餘 {days_left} 天"
    if days_left == 0:
        return "今天截止"
    return f"已逾期 {-days_left} 天"


def submitted_text(days_late: int | None) -> str:
    """如期送出, or 逾期 3 天送出."""
    return f"逾期 {days_late} 天送出" if days_late else "如期送出"


def _flatten(path: str, old, new) -> list[tuple[str, object, object]]:
    """A change of a whole action (first save) becomes one change per value and text."""
    if isinstance(old, dict) or isinstance(new, dict):
        old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
        changes = []
        for key in sorted(set(old) | set(new), key=str):
            changes += _flatten(f"{path}.{key}", old.get(key), new.get(key))
        return changes
    return [] if old == new else [(path, old, new)]


def field_label(path: str, catalog: Catalog) -> str:
    """'actions.1.police.1.values.sessions' -> '1.police.1 辦理場次'."""
    if path == "narrative":
        return "綜合說明"
    if path == "status":
        return "狀態"
    if path.startswith("actions."):
        rest = path[len("actions.") :]
        for action in catalog.actions:
            if rest.startswith(action.id + "."):
                field = rest[len(action.id) + 1 :]
                if field.startswith("values."):
                    metric_id = field[len("values.") :]
                    names = {m.id: m.name for m in action.metrics}
                    return f"{action.id} {names.get(metric_id, metric_id)}"
                return f"{action.id} {TEXT_FIELDS.get(field, field)}"
    return path


def shown_value(field: str, value) -> str:
    """A value in the history: blank shown as （空白）, statuses in words."""
    if value is None or value == "":
        return "（空白）"
    if field == "status":
        return status_label(value)
    return str(value)


def describe_changes(changes: list[dict], catalog: Catalog) -> list[tuple[str, str, str]]:
    """A revision's changes as (field, before, after) rows people can read."""
    rows = []
    for change in changes:
        for path, old, new in _flatten(change["field"], change.get("old"), change.get("new")):
            if path == "status":
                rows.append((field_label(path, catalog), status_label(old), status_label(new)))
            else:
                rows.append((field_label(path, catalog), shown_value(path, old), shown_value(path, new)))
    return rows
