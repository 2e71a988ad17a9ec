"""Quarterly activity reports."""

from __future__ import annotations

from flask.views import MethodView

from services.intake import reports
from services.intake.api import api_blueprint
from services.intake.api.conditional import ETAG, answer, seen_in_request, writes
from services.intake.context import REPORT_PATH, current_rules
from services.intake.metrics import REPORTS_SUBMITTED
from services.intake.schemas import (
    HistoryPageSchema,
    HistoryQuerySchema,
    ReasonSchema,
    ReportContentSchema,
    ReportPatchSchema,
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
    body_media_types = {"PUT": ("application/json",), "PATCH": ("application/merge-patch+json",)}

    @require_roles(*READERS)
    @blp.response(200, ReportWithHistorySchema, headers=ETAG)
    def get(self, bureau, year, quarter):
        """Read a report with its whole history

        `behind` lists the actions under their planned year-to-date value, which need
        the reasons for the delay (落後原因) and countermeasures (因應對策) to submit.
        The `ETag` is the revision: send it back in `If-Match` to change the report.
        """
        rules, session = current_rules(), get_session()
        report = reports.get_report(session, current_principal(), bureau, Quarter(year, quarter))
        return reports.detail(session, rules, report), reports.etag(report)

    @require_roles(*WRITERS)
    @blp.arguments(ReportContentSchema)
    @writes(blp, blp.response(200, ReportSchema, headers=ETAG))
    def put(self, content, bureau, year, quarter):
        """Create or replace a report

        A full replacement: the narrative and every action as given; an action or value
        left out is cleared (use PATCH to change some fields only). A draft or returned
        report is saved as it is; a submitted or accepted report is amended, which needs
        a `reason` and a complete report. Every change writes a revision.
        """
        rules = current_rules()
        report = reports.save_report(
            get_session(),
            rules,
            current_principal(),
            bureau,
            Quarter(year, quarter),
            **content,
            seen=seen_in_request(),
        )
        return answer(report, rules)

    @require_roles(*WRITERS)
    @blp.arguments(ReportPatchSchema, content_type="application/merge-patch+json")
    @writes(blp, blp.response(200, ReportSchema, headers=ETAG))
    def patch(self, patch, bureau, year, quarter):
        """Change some fields of a report

        A JSON Merge Patch (RFC 7396, `application/merge-patch+json`): only the members
        named change, `null` clears one. Actions are keyed by id, e.g.
        `{"actions": {"1.police.1": {"values": {"sessions": 3}}}}`; a metric counted by
        sex is patched by its parts (`by_sex`), and its total follows. The result is
        saved as a PUT of the whole report would be.
        """
        rules = current_rules()
        report = reports.patch_report(
            get_session(),
            rules,
            current_principal(),
            bureau,
            Quarter(year, quarter),
            patch,
            seen=seen_in_request(),
        )
        return answer(report, rules)


@blp.route(REPORT_PATH + "/history")
class ReportHistory(MethodView):
    @require_roles(*READERS)
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, HistoryPageSchema)
    def get(self, query, bureau, year, quarter):
        """Read a report's revisions, a page at a time

        Newest first by page, oldest first within a page: start without `before`, then
        pass `next_before` back until it is null.
        """
        session = get_session()
        report = reports.get_report(session, current_principal(), bureau, Quarter(year, quarter))
        page = reports.revisions_page(session, report, before=query.get("before"), limit=query["limit"])
        return {"revisions": page, "next_before": page[0].number if page and page[0].number > 1 else None}


@blp.route(REPORT_PATH + "/submit")
class SubmitReport(MethodView):
    @require_roles(*WRITERS)
    @writes(blp, blp.response(200, ReportSchema, headers=ETAG))
    def post(self, bureau, year, quarter):
        """Submit a report

        Every metric needs a value, and every action behind its plan needs the reasons
        for the delay and the countermeasures. A late submission records its days late.
        A quarter can be submitted once it has ended.
        """
        rules = current_rules()
        report = reports.submit_report(
            get_session(), rules, current_principal(), bureau, Quarter(year, quarter), seen_in_request()
        )
        REPORTS_SUBMITTED.labels(bureau).inc()
        return answer(report, rules)


@blp.route(REPORT_PATH + "/accept")
class AcceptReport(MethodView):
    @require_roles(*REVIEWERS)
    @writes(blp, blp.response(200, ReportSchema, headers=ETAG))
    def post(self, bureau, year, quarter):
        """Accept a submitted report (coordinators)

        Accepts exactly the revision in If-Match: 412 if the bureau changed it since.
        """
        rules = current_rules()
        report = reports.accept_report(
            get_session(), rules, current_principal(), bureau, Quarter(year, quarter), seen_in_request()
        )
        return answer(report, rules)


@blp.route(REPORT_PATH + "/return")
class ReturnReport(MethodView):
    @require_roles(*REVIEWERS)
    @blp.arguments(ReturnSchema)
    @writes(blp, blp.response(200, ReportSchema, headers=ETAG))
    def post(self, body, bureau, year, quarter):
        """Return a report to its bureau with a comment (coordinators)

        Returns exactly the revision in If-Match: 412 if the bureau changed it since.
        The bureau is e-mailed within a minute.
        """
        rules = current_rules()
        report = reports.return_report(
            get_session(),
            rules,
            current_principal(),
            bureau,
            Quarter(year, quarter),
            body["comment"],
            seen_in_request(),
        )
        return answer(report, rules)


@blp.route(REPORT_PATH + "/reopen")
class ReopenQuarter(MethodView):
    @require_roles(*REVIEWERS)
    @blp.arguments(ReasonSchema)
    @writes(blp, blp.response(200, ReportSchema, headers=ETAG))
    def post(self, body, bureau, year, quarter):
        """Reopen a locked quarter for one bureau (coordinators)

        Body: `{"reason": "..."}`, the reason the bureau and the history show. The bureau
        may edit and submit again for another lock period and is e-mailed within a
        minute. A quarter never reported needs no If-Match.
        """
        rules = current_rules()
        report = reports.reopen_quarter(
            get_session(),
            rules,
            current_principal(),
            bureau,
            Quarter(year, quarter),
            body["reason"],
            seen_in_request(),
        )
        return answer(report, rules)
