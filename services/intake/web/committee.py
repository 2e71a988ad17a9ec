"""The committee's page: the quarterly 管考 report, from kpi's judgements and the bureaus' reports."""

from __future__ import annotations

import logging

from flask import current_app, render_template, request

from services.intake import charts, quarterly_report
from services.intake.context import current_catalog, current_rules
from services.intake.kpi_client import KpiUnavailable
from services.intake.web import bp
from services.intake.web.auth import signed_in
from services.intake.web.review import OVERVIEW_READERS
from shared import rules as plan_rules
from shared.db import get_session
from shared.periods import Quarter

log = logging.getLogger(__name__)
BUSY_RETRY_SECONDS = 5


def report_quarters(rules) -> list[Quarter]:
    """The quarters a report can be asked for: every tracked quarter that has ended, newest first."""
    return plan_rules.tracked_quarters(rules.first_quarter, rules.now)[::-1]


@bp.get("/quarterly-report")
@signed_in(*OVERVIEW_READERS)
def quarterly():
    """The quarterly 管考 report of a quarter; by default the current reporting quarter."""
    rules, catalog = current_rules(), current_catalog()
    choices = report_quarters(rules)
    default = plan_rules.current_reporting_quarter(rules.reporting, rules.first_quarter, rules.now)
    page = {
        "choices": choices,
        "period": default,
        "report": None,
        "unavailable": None,
        "busy": False,
        "charts": {},
    }
    wanted = request.args.get("period")
    if wanted:
        try:
            page["period"] = Quarter.parse(wanted)
        except ValueError:
            page["period"] = None
        if page["period"] not in choices:
            return render_template(
                "web/quarterly_report.html", **{**page, "period": None, "unknown": True}
            ), 404
    if page["period"] is None:  # before the first quarter's due date: nothing to report yet
        return render_template("web/quarterly_report.html", **page, first=rules.first_quarter)
    client = current_app.extensions.get("kpi_client")
    if client is None:
        page["unavailable"] = "本系統尚未設定成效統計服務（kpi）的位址（KPI_URL）"
        return render_template("web/quarterly_report.html", **page), 503
    slots = current_app.extensions["report_slots"]
    if not slots.acquire(blocking=False):  # never wait holding a thread kpi's token check may need
        page["busy"] = True
        page_body = render_template("web/quarterly_report.html", **page)
        return page_body, 503, {"Retry-After": str(BUSY_RETRY_SECONDS)}
    try:
        figures = quarterly_report.fetch(client, catalog, page["period"])
    except KpiUnavailable as error:
        log.warning("quarterly report: kpi unavailable: %s", error.reason)
        page["unavailable"] = error.reason
        return render_template("web/quarterly_report.html", **page), 503
    finally:
        slots.release()
    reasons = quarterly_report.behind_reasons(
        get_session(), page["period"], quarterly_report.behind_rows(figures)
    )
    report = quarterly_report.assemble(catalog, page["period"], figures, reasons)
    page["report"] = report
    page["charts"] = {
        "indicators": charts.indicator_chart(report.indicators, report.indicator_year)
        if report.indicators
        else "",
        "trends": charts.trend_chart(report.trends) if report.trends else "",
        "compliance": charts.compliance_chart(report.compliance_history) if report.compliance_history else "",
    }
    return render_template("web/quarterly_report.html", **page)
