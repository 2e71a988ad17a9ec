"""Quarterly activity reports."""

from __future__ import annotations

from flask.views import MethodView

from services.intake import reports
from services.intake.api import api_blueprint
from services.intake.context import REPORT_PATH, current_rules
from services.intake.metrics import REPORTS_SUBMITTED
from services.intake.schemas import (
    ReasonSchema,
    ReportContentSchema,
    ReportQuerySchema,
    ReportSchema,
    ReportWithHistorySchema,
    ReturnSchema,
)
from shared.auth import Role, current_principal, require_roles
from shared.db import get_session
from shared.periods import Quarter

blp = api_blueprint(
    "reports", __name__, "Quarterly activity reports of the bureaus against the plan's actions."
)

READERS = (Role.ADMIN, Role.COORDINATOR, Role.VIEWER, Role.SERVICE, Role.BUREAU)
WRITERS = (Role.ADMIN, Role.BUREAU)
REVIEWERS = (Role.ADMIN, Role.COORDINATOR)


@blp.route("/reports")
class Reports(MethodView):
    @require_roles(*READERS)
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportSchema(many=True))
    def get(self, query):
        """List reports

        Bureau tokens see only their own bureau's reports.
        """
        rules = current_rules()
        return [
            reports.view(r, rules) for r in reports.list_reports(get_session(), current_principal(), **query)
        ]


@blp.route(REPORT_PATH)
class ReportByPeriod(MethodView):
    @require_roles(*READERS)
    @blp.response(200, ReportWithHistorySchema)
    def get(self, bureau, year, quarter):
        """Read a report with its whole history

        `behind` lists the actions under their planned year-to-date value, which need
        the reasons for the delay (落後原因) and countermeasures (因應對策) to submit.
        """
        rules, session = current_rules(), get_session()
        report = reports.get_report(session, current_principal(), bureau, Quarter(year, quarter))
        return reports.detail(session, rules, report)

    @require_roles(*WRITERS)
    @blp.arguments(ReportContentSchema)
    @blp.response(200, ReportSchema)
    def put(self, content, bureau, year, quarter):
        """Create or save a report

        Saves the narrative and the values of each action. A draft or returned report
        is saved as it is; a submitted or accepted report is amended, which needs a
        `reason` and a complete report. Every change writes a revision.
        """
        rules = current_rules()
        report = reports.save_report(
            get_session(), rules, current_principal(), bureau, Quarter(year, quarter), **content
        )
        return reports.view(report, rules)


@blp.route(REPORT_PATH + "/submit")
class SubmitReport(MethodView):
    @require_roles(*WRITERS)
    @blp.response(200, ReportSchema)
    def post(self, bureau, year, quarter):
        """Submit a report

        Every metric needs a value, and every action behind its plan needs the reasons
        for the delay and the countermeasures. A late submission records its days late.
        """
        rules = current_rules()
        report = reports.submit_report(
            get_session(), rules, current_principal(), bureau, Quarter(year, quarter)
        )
        REPORTS_SUBMITTED.labels(bureau).inc()
        return reports.view(report, rules)


@blp.route(REPORT_PATH + "/accept")
class AcceptReport(MethodView):
    @require_roles(*REVIEWERS)
    @blp.response(200, ReportSchema)
    def post(self, bureau, year, quarter):
        """Accept a submitted report (coordinators)"""
        rules = current_rules()
        report = reports.accept_report(
            get_session(), rules, current_principal(), bureau, Quarter(year, quarter)
        )
        return reports.view(report, rules)


@blp.route(REPORT_PATH + "/return")
class ReturnReport(MethodView):
    @require_roles(*REVIEWERS)
    @blp.arguments(ReturnSchema)
    @blp.response(200, ReportSchema)
    def post(self, body, bureau, year, quarter):
        """Return a report to its bureau with a comment (coordinators)"""
        rules = current_rules()
        report = reports.return_report(
            get_session(),
            rules,
            current_principal(),
            bureau,
            Quarter(year, quarter),
            body["comment"],
        )
        return reports.view(report, rules)


@blp.route(REPORT_PATH + "/reopen")
class ReopenQuarter(MethodView):
    @require_roles(*REVIEWERS)
    @blp.arguments(ReasonSchema)
    @blp.response(200, ReportSchema)
    def post(self, body, bureau, year, quarter):
        """Reopen a locked quarter for one bureau (coordinators)

        The bureau may edit and submit again for another lock period; the reopening is
        recorded in the report's history.
        """
        rules = current_rules()
        report = reports.reopen_quarter(
            get_session(),
            rules,
            current_principal(),
            bureau,
            Quarter(year, quarter),
            body["reason"],
        )
        return reports.view(report, rules)
