"""Pages of the coordinators: every bureau's status for a quarter, and accepting or returning a report."""

from __future__ import annotations

import marshmallow as ma
from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from services.intake import reports
from services.intake.context import REPORT_PATH, current_catalog, current_rules
from services.intake.web import bp, labels
from services.intake.web.auth import signed_in
from services.intake.web.common import (
    check_readable,
    conflict_message,
    plan_quarters,
    quarter_row,
)
from services.intake.web.forms import FormState, ReturnForm, state_from_error
from services.intake.web.report_page import report_page
from shared import rules as plan_rules
from shared.auth import Role
from shared.db import get_session
from shared.errors import Conflict
from shared.periods import Quarter

REVIEWERS = (Role.ADMIN, Role.COORDINATOR)
OVERVIEW_READERS = (Role.ADMIN, Role.COORDINATOR, Role.VIEWER)


def _default_period(rules: reports.Rules) -> Quarter | None:
    """The quarter being reported now: the last one that has ended (None before the first)."""
    return plan_rules.chased_quarter(rules.first_quarter, rules.now)


@bp.get("/overview")
@signed_in(*OVERVIEW_READERS)
def overview():
    """All bureaus' status for one quarter at a glance."""
    rules = current_rules()
    choices = plan_quarters(rules)
    period = _default_period(rules) or (choices[0] if choices else None)
    wanted = request.args.get("period")
    if wanted or period is None:
        try:
            period = Quarter.parse(wanted or "")
        except ValueError:
            period = None
        if period not in choices:
            page = render_template(
                "web/overview.html",
                choices=choices,
                period=None,
                rows=[],
                counts={},
                first=rules.first_quarter,
            )
            return page, 404 if wanted else 200
    found = {
        r.bureau: r
        for r in reports.list_reports(get_session(), g.principal, year=period.year, quarter=period.quarter)
    }
    rows = [
        {"bureau": bureau, **quarter_row(found.get(bureau.id), period, rules)}
        for bureau in rules.catalog.bureaus
    ]
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return render_template(
        "web/overview.html",
        choices=choices,
        period=period,
        rows=rows,
        counts=[(labels.status_label(s), counts[s]) for s in labels.STATUS_LABELS if s in counts],
    )


def render_review(
    session: Session, bureau: str, period: Quarter, *, state: FormState | None = None, status: int = 200
):
    """A report as coordinators read it, with the accept and return forms."""
    page = report_page(session, bureau, period, form=state or FormState())
    page.may_review = g.user.role in REVIEWERS
    return render_template("web/report_review.html", **page.context()), status


@bp.post(REPORT_PATH + "/accept")
@signed_in(*REVIEWERS)
def accept(bureau: str, year: int, quarter: int):
    """Accept a submitted report."""
    period = Quarter(year, quarter)
    check_readable(bureau)
    rules, session = current_rules(), get_session()
    try:
        reports.accept_report(session, rules, g.principal, bureau, period)
    except Conflict as error:
        session.rollback()
        state = FormState(page_errors=[conflict_message(session, bureau, period, rules)])
        return render_review(session, bureau, period, state=state, status=error.status)
    flash(f"已核定{current_catalog().bureau(bureau).name}{period.label_zh}的報告。", "success")
    return redirect(url_for("web.overview", period=str(period)), 303)


@bp.post(REPORT_PATH + "/return")
@signed_in(*REVIEWERS)
def return_report(bureau: str, year: int, quarter: int):
    """Return a report to its bureau with a comment saying what to fix."""
    period = Quarter(year, quarter)
    check_readable(bureau)
    rules, session = current_rules(), get_session()
    typed = {"comment": request.form.get("comment", "")}
    try:
        data = ReturnForm().load(request.form)
    except ma.ValidationError as error:
        return render_review(session, bureau, period, state=state_from_error(typed, error), status=422)
    try:
        reports.return_report(session, rules, g.principal, bureau, period, data["comment"])
    except Conflict as error:
        session.rollback()
        state = FormState(values=typed, page_errors=[conflict_message(session, bureau, period, rules)])
        return render_review(session, bureau, period, state=state, status=error.status)
    flash(f"已退回{current_catalog().bureau(bureau).name}{period.label_zh}的報告。", "success")
    return redirect(url_for("web.overview", period=str(period)), 303)
