"""Pages of the coordinators: every bureau's status for a quarter, and accepting or returning a report."""

from __future__ import annotations

import marshmallow as ma
from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from services.intake import reports
from services.intake.context import REPORT_PATH, current_catalog, current_rules
from services.intake.personal_data import PersonalData
from services.intake.web import bp, labels
from services.intake.web.auth import signed_in
from services.intake.web.common import (
    check_readable,
    conflict_message,
    plan_quarters,
    quarter_row,
    stale_message,
)
from services.intake.web.forms import AcceptForm, FormState, ReopenForm, ReturnForm, state_from_error
from services.intake.web.report_page import report_page
from shared import rules as plan_rules
from shared.auth import Role
from shared.db import get_session
from shared.errors import Conflict, Invalid
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
        may_reopen=g.user.role in REVIEWERS,
    )


def render_review(
    session: Session,
    bureau: str,
    period: Quarter,
    *,
    state: FormState | None = None,
    status: int = 200,
    seen_revision: int | None = None,
    stale_since: int | None = None,
):
    """A report as coordinators read it, with the accept, return and reopen forms; they carry the
    revision on screen (`seen_revision` after an error), so what is accepted is what was read."""
    page = report_page(
        session,
        bureau,
        period,
        form=state or FormState(),
        seen_revision=seen_revision,
        stale_since=stale_since,
    )
    page.may_review = g.user.role in REVIEWERS
    return render_template("web/report_review.html", **page.context()), status


def _review_action(bureau: str, year: int, quarter: int, form_schema, act, done: str, back=None):
    """Load a review form, act on exactly the revision it was rendered from, and say what happened.
    `act(session, rules, period, data, seen)` changes the report and `done(what, report, rules)` words
    the result; a stale page or a report that no longer allows the action is shown again with the
    reason, and nothing is saved."""
    period = Quarter(year, quarter)
    check_readable(bureau)
    rules, session = current_rules(), get_session()
    typed = {name: request.form.get(name, "") for name in ("comment", "reason")}
    try:
        data = form_schema().load(request.form)
    except ma.ValidationError as error:
        valid = error.valid_data or {}
        state = state_from_error(typed, error)
        return render_review(
            session, bureau, period, state=state, status=422, seen_revision=valid.get("revision")
        )
    try:
        report = act(session, rules, period, data, reports.Seen.revision(data["revision"]))
    except reports.Stale:
        session.rollback()
        state = FormState(
            values=typed, page_errors=[stale_message(session, bureau, period, data["revision"])]
        )
        return render_review(session, bureau, period, state=state, status=409, stale_since=data["revision"])
    except (Conflict, Invalid) as error:
        session.rollback()
        state = FormState(values=typed)
        if isinstance(error, PersonalData):
            for found in error.found:
                state.add(found.path[-1], found.message_zh)
        else:
            state.page_errors.append(
                conflict_message(session, bureau, period, rules)
                if isinstance(error, Conflict)
                else error.detail
            )
        return render_review(
            session, bureau, period, state=state, status=error.status, seen_revision=data["revision"]
        )
    flash(done(f"{current_catalog().bureau(bureau).name}{period.label_zh}", report, rules), "success")
    if (back or (lambda _: "overview"))(data) == "report":
        return redirect(url_for("web.report", bureau=bureau, year=year, quarter=quarter), 303)
    return redirect(url_for("web.overview", period=str(period)), 303)


@bp.post(REPORT_PATH + "/accept")
@signed_in(*REVIEWERS)
def accept(bureau: str, year: int, quarter: int):
    """Accept the submitted report, exactly as it was on screen."""
    return _review_action(
        bureau,
        year,
        quarter,
        AcceptForm,
        lambda session, rules, period, data, seen: reports.accept_report(
            session, rules, g.principal, bureau, period, seen
        ),
        lambda what, report, rules: f"已核定{what}的報告。",
    )


@bp.post(REPORT_PATH + "/return")
@signed_in(*REVIEWERS)
def return_report(bureau: str, year: int, quarter: int):
    """Return the report on screen to its bureau with a comment saying what to fix."""
    return _review_action(
        bureau,
        year,
        quarter,
        ReturnForm,
        lambda session, rules, period, data, seen: reports.return_report(
            session, rules, g.principal, bureau, period, data["comment"], seen
        ),
        lambda what, report, rules: f"已退回{what}的報告，並以電子郵件通知機關。",
    )


@bp.post(REPORT_PATH + "/reopen")
@signed_in(*REVIEWERS)
def reopen(bureau: str, year: int, quarter: int):
    """Reopen a locked quarter for the bureau, with the reason it will read."""
    return _review_action(
        bureau,
        year,
        quarter,
        ReopenForm,
        lambda session, rules, period, data, seen: reports.reopen_quarter(
            session, rules, g.principal, bureau, period, data["reason"], seen
        ),
        lambda what, report, rules: (
            f"已重新開放{what}的填報至"
            f"{labels.roc_datetime(plan_rules.open_until(rules.reporting, Quarter(year, quarter), report.reopened_at))}，"
            "並以電子郵件通知機關。"
        ),
        back=lambda data: data["back"],
    )
