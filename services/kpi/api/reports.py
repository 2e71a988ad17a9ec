"""The bureaus' reporting: compliance with the deadlines, and activity progress against plan."""

from __future__ import annotations

from flask.views import MethodView

from services.kpi import progress, snapshot
from services.kpi.api import current_catalog
from services.kpi.schemas import (
    ComplianceQuerySchema,
    ComplianceSchema,
    ComplianceSummarySchema,
    ProgressQuerySchema,
    ProgressSchema,
)
from shared.api import api_blueprint
from shared.auth import ALL_ROLES, require_roles
from shared.db import get_session
from shared.errors import NotFound
from shared.periods import Quarter

blp = api_blueprint(
    "reporting", __name__, "Report compliance per quarter and activity progress against plan."
)


def _quarter(year: int, quarter: int) -> Quarter:
    try:
        return Quarter(year, quarter)
    except ValueError:
        raise NotFound(f"There is no quarter {year}Q{quarter}.") from None


@blp.route("/compliance")
class Compliance(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(ComplianceQuerySchema, location="query")
    @blp.response(200, ComplianceSchema)
    def get(self, query):
        """Report compliance of a quarter

        Every bureau of the plan is expected. completeness = bureaus submitted / expected;
        timeliness = bureaus submitted on time / expected. Without year and quarter: the
        latest quarter whose due date has passed. Quarters are tracked once their due date
        has passed or a report of theirs has been submitted.
        """
        session = get_session()
        if "year" in query:
            key = str(_quarter(query["year"], query["quarter"]))
        else:
            key = snapshot.summary(session)["latest_due_quarter"]
            if key is None:
                raise NotFound("No quarter's due date has passed yet.")
        return snapshot.require(session, "compliance", key, f"compliance figures for {key}")


@blp.route("/compliance/all")
class ComplianceAll(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.response(200, ComplianceSummarySchema(many=True))
    def get(self):
        """The compliance summary of every tracked quarter, oldest first"""
        session = get_session()
        keys = snapshot.summary(session)["compliance_quarters"]
        stored = snapshot.items(session, "compliance")
        return [stored[key] for key in keys if key in stored]


@blp.route("/progress")
class Progress(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(ProgressQuerySchema, location="query")
    @blp.response(200, ProgressSchema)
    def get(self, query):
        """Activity progress at a quarter

        For every action metric with a target: the year-to-date reported value (submitted,
        accepted or returned reports) against the year-to-date plan (the quarterly split if
        given, else annual x quarter / 4). `behind` when the ratio is under the threshold.
        Bureaus and programs are rolled up as the mean of their ratios; `bureau` and
        `program` narrow the actions and the rollups. Without year and quarter: the latest
        quarter that has ended or has reports.
        """
        session, catalog = get_session(), current_catalog()
        if "year" in query:
            key = str(_quarter(query["year"], query["quarter"]))
        else:
            key = snapshot.summary(session)["latest_progress_quarter"]
            if key is None:
                raise NotFound("No activity targets have been set yet.")
        document = snapshot.require(session, "progress", key, f"progress figures for {key}")
        for name, lookup in (("bureau", catalog.bureau), ("program", catalog.program)):
            if name in query:
                try:
                    lookup(query[name])
                except KeyError:
                    raise NotFound(f"No {name} {query[name]!r}.") from None
        if "bureau" not in query and "program" not in query:
            return document
        rows = [
            row
            for row in document["actions"]
            if all(row[name] == query[name] for name in ("bureau", "program") if name in query)
        ]
        quarter = Quarter(document["year"], document["quarter"])
        return progress.progress_document(catalog, quarter, rows, document["threshold"])
