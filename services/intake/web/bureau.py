"""Pages of the bureaus: their quarters, the report form, its history and its Excel workbook."""

from __future__ import annotations

import marshmallow as ma
from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from services.intake import excel, reports, workbooks
from services.intake.context import REPORT_PATH, current_catalog, current_rules, send_download
from services.intake.metrics import REPORTS_SUBMITTED
from services.intake.personal_data import PersonalData
from services.intake.web import bp, labels, review
from services.intake.web.auth import signed_in
from services.intake.web.common import (
    READERS,
    check_readable,
    conflict_message,
    plan_quarters,
    quarter_row,
    stale_message,
)
from services.intake.web.forms import (
    FormState,
    UploadForm,
    explain,
    report_content,
    report_form_schema,
    state_from_error,
)
from services.intake.web.report_page import report_page
from shared.auth import Role
from shared.db import get_session
from shared.errors import Conflict, DomainError, Invalid
from shared.periods import Quarter

INTENTS = ("save", "submit", "amend")
DONE_MESSAGES = {
    "save": "已儲存草稿。",
    "submit": "報告已送出，謝謝！",
    "amend": "修正已送出。",
}


@bp.get("/quarters")
@signed_in(Role.BUREAU)
def quarters():
    """My quarters: every quarter of the plan with its status and deadline."""
    rules = current_rules()
    found = {
        (r.year, r.quarter): r for r in reports.list_reports(get_session(), g.principal, bureau=g.user.bureau)
    }
    rows = [quarter_row(found.get((q.year, q.quarter)), q, rules) for q in plan_quarters(rules)]
    return render_template(
        "web/quarters.html",
        open_rows=[row for row in rows if row["needs_action"]],
        history=[row for row in rows if not row["needs_action"]],
        bureau=rules.catalog.bureau(g.user.bureau),
        first=rules.first_quarter,
    )


def render_report_form(
    session: Session,
    bureau: str,
    period: Quarter,
    *,
    state: FormState | None = None,
    content: dict | None = None,
    upload: FormState | None = None,
    status: int = 200,
    seen_revision: int | None = None,
    stale_since: int | None = None,
):
    """The report form; `state` keeps what was typed and the errors, `content` judges progress,
    `seen_revision` is the revision the page was first rendered from, `stale_since` what it missed."""
    page = report_page(
        session,
        bureau,
        period,
        content=content,
        form=state,
        upload=upload,
        seen_revision=seen_revision,
        stale_since=stale_since,
    )
    return render_template("web/report_form.html", **page.context()), status


@bp.get(REPORT_PATH)
@signed_in(*READERS)
def report(bureau: str, year: int, quarter: int):
    """The report form for the bureau; coordinators and viewers get the review page."""
    period = Quarter(year, quarter)
    check_readable(bureau)
    if g.user.role != Role.BUREAU:
        return review.render_review(get_session(), bureau, period)
    return render_report_form(get_session(), bureau, period)


def _typed(form, names) -> dict[str, str]:
    """What was typed into the named inputs, to show it again."""
    return {name: form.get(name, "") for name in names}


@bp.post(REPORT_PATH)
@signed_in(Role.BUREAU)
def save(bureau: str, year: int, quarter: int):
    """Save a draft, submit, or amend with a reason; errors come back beside the fields."""
    period = Quarter(year, quarter)
    check_readable(bureau)
    intent = request.form.get("intent")
    if intent not in INTENTS:
        abort(400)
    catalog, rules, session = current_catalog(), current_rules(), get_session()
    actions = catalog.actions_for(bureau)
    schema = report_form_schema(catalog, bureau)
    typed = _typed(request.form, schema.fields)
    try:
        data = schema.load(request.form)
    except ma.ValidationError as error:
        valid = error.valid_data or {}
        return render_report_form(
            session,
            bureau,
            period,
            state=state_from_error(typed, error),
            content=report_content(actions, valid),
            status=422,
            seen_revision=valid.get("revision"),
        )
    content, seen = report_content(actions, data), data["revision"]
    try:
        saved = reports.save_report(
            session,
            rules,
            g.principal,
            bureau,
            period,
            narrative=content["narrative"],
            actions=content["actions"],
            reason=content["reason"],
            seen=reports.Seen.revision(seen),
        )
        if intent == "submit":
            reports.submit_report(
                session, rules, g.principal, bureau, period, reports.Seen.revision(saved.revision)
            )
            REPORTS_SUBMITTED.labels(bureau).inc()
    except reports.Stale:
        session.rollback()
        # Keep what was typed; the next save is made knowing what changed, so it carries the new revision.
        state = FormState(values=typed, page_errors=[stale_message(session, bureau, period, seen)])
        return render_report_form(
            session, bureau, period, state=state, content=content, status=409, stale_since=seen
        )
    except (Invalid, Conflict) as error:
        session.rollback()  # nothing of this request is kept
        state = FormState(values=typed)
        if isinstance(error, Conflict):
            state.page_errors.append(conflict_message(session, bureau, period, rules))
        else:
            explain(error, actions, content, state)
        return render_report_form(
            session, bureau, period, state=state, content=content, status=error.status, seen_revision=seen
        )
    flash(DONE_MESSAGES[intent], "success")
    return redirect(url_for("web.report", bureau=bureau, year=year, quarter=quarter), 303)


@bp.get(REPORT_PATH + "/history")
@signed_in(*READERS)
def history(bureau: str, year: int, quarter: int):
    """The revisions of a report, newest first, a page at a time: who changed what, and when."""
    period = Quarter(year, quarter)
    check_readable(bureau)
    catalog, session = current_catalog(), get_session()
    report = reports.get_report(session, g.principal, bureau, period)
    before = request.args.get("before", type=int)
    page = reports.revisions_page(session, report, before=before if before and before > 0 else None)
    revisions = [
        {"revision": revision, "changes": labels.describe_changes(revision.changes, catalog)}
        for revision in reversed(page)
    ]
    return render_template(
        "web/history.html",
        report=report,
        bureau=catalog.bureau(bureau),
        period=period,
        revisions=revisions,
        older=page[0].number if page and page[0].number > 1 else None,
        event_label=lambda event: labels.EVENT_LABELS.get(event, event),
    )


@bp.get(REPORT_PATH + "/xlsx")
@signed_in(*READERS)
def download_workbook(bureau: str, year: int, quarter: int):
    """The report as an Excel workbook, pre-filled with what is saved."""
    found = workbooks.download(get_session(), g.principal, current_rules(), bureau, Quarter(year, quarter))
    return send_download(found.content, found.file_name, found.mimetype)


@bp.post(REPORT_PATH + "/xlsx")
@signed_in(Role.BUREAU)
def upload_workbook(bureau: str, year: int, quarter: int):
    """Take an uploaded workbook as a draft (or an amendment, with a reason); all or nothing."""
    period = Quarter(year, quarter)
    check_readable(bureau)
    rules, session = current_rules(), get_session()
    typed = {"reason": request.form.get("reason", "")}
    try:
        form = UploadForm().load(request.form)
    except ma.ValidationError as error:
        return render_report_form(session, bureau, period, upload=state_from_error(typed, error), status=422)
    upload, seen = FormState(values=typed), form["revision"]
    file = request.files.get("file")
    if file is None or not file.filename:
        upload.add("file", "請選擇要上傳的 Excel 檔（.xlsx）。")
        return render_report_form(session, bureau, period, upload=upload, status=422, seen_revision=seen)
    try:
        workbooks.upload(
            session,
            g.principal,
            rules,
            bureau,
            period,
            file.read(),
            form["reason"] or None,
            reports.Seen.revision(seen),
        )
    except reports.Stale:
        session.rollback()
        upload.page_errors.append(stale_message(session, bureau, period, seen))
        return render_report_form(session, bureau, period, upload=upload, status=409, stale_since=seen)
    except (Invalid, Conflict) as error:
        session.rollback()
        _explain_upload(error, upload, session, bureau, period, rules)
        return render_report_form(
            session, bureau, period, upload=upload, status=error.status, seen_revision=seen
        )
    flash("已匯入 Excel 並儲存。", "success")
    return redirect(url_for("web.report", bureau=bureau, year=year, quarter=quarter), 303)


def _explain_upload(error: DomainError, upload: FormState, session, bureau, period, rules) -> None:
    """Why an uploaded workbook was refused, in Chinese, for the Excel part of the page."""
    errors = error.errors or {}
    if isinstance(error, Conflict):
        upload.page_errors.append(conflict_message(session, bureau, period, rules))
    elif isinstance(error, PersonalData):
        upload.page_errors.append("上傳的 Excel 含有疑似個人資料，未儲存任何資料：")
        for found in error.found:
            upload.add("cells", f"{found.label}：{found.message_zh}")
    elif any(excel.is_cell_ref(key) for key in errors):
        upload.page_errors.append("上傳的 Excel 有錯誤，未儲存任何資料。請修正以下儲存格後再上傳：")
        for ref, texts in errors.items():
            upload.add("cells", excel.describe(ref, texts))
    elif "file" in errors:
        upload.add("file", error.detail)
    elif "reason" in errors:
        upload.add("reason", "報告已送出，以 Excel 修正時必須填寫修正原因。")
    elif "actions" in errors:
        # An amendment must leave the report complete: name what the workbook leaves missing.
        upload.page_errors.append("報告已送出，修正後的內容不完整，未儲存。請補齊以下項目：")
        for action_id, problems in errors["actions"].items():
            for problem in problems:
                upload.add("cells", f"{action_id}：{_UPLOAD_PROBLEMS.get(problem, '資料有誤')}")
    else:
        explain(error, (), {"actions": []}, upload)


_UPLOAD_PROBLEMS = {
    "values": "有未填寫的數值",
    "delay_reason": "進度落後，須填寫落後原因",
    "countermeasure": "進度落後，須填寫因應對策",
}
