"""The bureaus' reporting: compliance with the deadlines, and activity progress against plan."""

from __future__ import annotations

from flask.views import MethodView

from services.kpi import progress, snapshot
from services.kpi.api import current_catalog, own_bureau
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
from shared.errors import Forbidden, NotFound
from shared.periods import Quarter

blp = api_blueprint(
    "reporting", __name__, "Report compliance per quarter and activity progress against plan."
)


def _quarter(year: int, quarter: int) -> Quarter:
    try:
        return Quarter(year, quarter)
    except ValueError:
        raise NotFound(f"There is no quarter {year}Q{quarter}.") from None


def _period_key(query: dict) -> str:
    """The quarter asked for, or the current reporting quarter (shared/rules.py)."""
    if "year" in query:
        return str(_quarter(query["year"], query["quarter"]))
    current = snapshot.summary(get_session())["current_quarter"]
    if current is None:
        raise NotFound("No quarter's due date has passed yet: nothing is judged before then.")
    return current


@blp.route("/compliance")
class Compliance(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(ComplianceQuerySchema, location="query")
    @blp.response(200, ComplianceSchema)
    def get(self, query):
        """Report compliance of a quarter

        Every bureau of the plan is expected. completeness = bureaus submitted / expected;
        timeliness = bureaus submitted on time / expected. Each bureau's `state` is on_time,
        late, not_yet_due or overdue. Without year and quarter: the current reporting quarter
        (the latest whose due date has passed). Tracked: every quarter from the deployment's
        first one to the one that has just ended. A bureau token reads its own bureau's row
        and the city-wide figures; the other bureaus' rows are left out.
        """
        key = _period_key(query)
        document = snapshot.require(
            get_session(), "compliance", key, f"compliance figures for {key} (not tracked)"
        )
        if (bureau := own_bureau()) is None:
            return document
        return {**document, "bureaus": [row for row in document["bureaus"] if row["bureau"] == bureau]}


@blp.route("/compliance/all")
class ComplianceAll(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.response(200, ComplianceSummarySchema(many=True))
    def get(self):
        """The compliance summary of every tracked quarter, oldest first"""
        session = get_session()
        keys = snapshot.summary(session)["quarters"]
        stored = snapshot.items(session, "compliance")
        return [stored[key] for key in keys if key in stored]


@blp.route("/progress")
class Progress(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(ProgressQuerySchema, location="query")
    @blp.response(200, ProgressSchema)
    def get(self, query):
        """Activity progress at a quarter

        For every action metric: the year-to-date value of the reports that count as submitted
        (submitted, accepted or returned). An output metric is judged against its year-to-date
        plan (the quarterly split if given, else annual x quarter / 4): `behind` when under
        the catalog's threshold. A caseload metric (demand) is shown beside the same quarters
        of the year before and never judged. `state` says which: behind, on_plan, no_target,
        caseload, not_yet_due (the due date has not passed) or not_reported. Bureaus and
        programs are rolled up as the mean of their judged ratios; `bureau` and `program`
        narrow the actions and the rollups. Without year and quarter: the current reporting
        quarter. A bureau token reads its own bureau's actions only (another `bureau`: 403),
        the program rollups over those actions.
        """
        session, catalog = get_session(), current_catalog()
        bureau = own_bureau()
        if bureau is not None and query.setdefault("bureau", bureau) != bureau:
            raise Forbidden(
                f"A bureau token reads its own bureau's progress: ask for bureau={bureau}, or leave bureau out."
            )
        key = _period_key(query)
        document = snapshot.require(session, "progress", key, f"progress figures for {key} (not tracked)")
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
        return progress.progress_document(catalog, quarter, rows, document["due_passed"])
