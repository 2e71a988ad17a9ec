"""The plan catalog, activity targets and outcome statistics."""

from __future__ import annotations

from flask.views import MethodView

from services.intake import outcomes, targets
from services.intake.api import api_blueprint
from services.intake.context import current_catalog, now
from services.intake.schemas import (
    OutcomeBatchSchema,
    OutcomeInputSchema,
    OutcomeQuerySchema,
    OutcomeSchema,
    OutcomeWithHistorySchema,
    TargetInputSchema,
    TargetQuerySchema,
    TargetSchema,
)
from shared.auth import ALL_ROLES, Role, current_principal, require_roles
from shared.db import get_session

blp = api_blueprint("plan", __name__, "The plan catalog, activity targets and outcome statistics.")

PLANNERS = (Role.ADMIN, Role.COORDINATOR)
STATISTICIANS = (Role.ADMIN, Role.STATISTICS)


@blp.route("/catalog")
class CatalogView(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.response(200)
    def get(self):
        """The plan catalog

        The plan, its bureaus, programs, actions with their metrics, outcome indicators,
        the 10 types of digital gender-based violence and the code lists of Tables 1-3.
        """
        return current_catalog().to_dict()


@blp.route("/targets")
class Targets(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(TargetQuerySchema, location="query")
    @blp.response(200, TargetSchema(many=True))
    def get(self, query):
        """List activity targets"""
        return targets.list_targets(get_session(), current_catalog(), **query)


@blp.route("/targets/<year:year>/<string:action>/<string:metric>")
class TargetByMetric(MethodView):
    @require_roles(*PLANNERS)
    @blp.arguments(TargetInputSchema)
    @blp.response(200, TargetSchema)
    def put(self, body, year, action, metric):
        """Set the planned value of an action metric for a year (coordinators)

        `quarterly`, if given, splits the annual value over the four quarters; otherwise
        each quarter is planned at a quarter of the year.
        """
        return targets.set_target(
            get_session(),
            current_catalog(),
            current_principal(),
            year=year,
            action=action,
            metric=metric,
            now=now(),
            **body,
        )


@blp.route("/outcomes")
class Outcomes(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(OutcomeQuerySchema, location="query")
    @blp.response(200, OutcomeWithHistorySchema(many=True))
    def get(self, query):
        """List quarterly outcome counts with their revisions"""
        return outcomes.list_counts(get_session(), **query)

    @require_roles(*STATISTICIANS)
    @blp.arguments(OutcomeBatchSchema)
    @blp.response(200, OutcomeSchema(many=True))
    def post(self, body):
        """Record several quarterly outcome counts at once (statistics unit)

        All items are applied, or none is.
        """
        return outcomes.record_counts(
            get_session(), current_catalog(), current_principal(), body["items"], now()
        )


@blp.route("/outcomes/<string:indicator>/<year:year>/<quarter:quarter>")
class OutcomeByQuarter(MethodView):
    @require_roles(*STATISTICIANS)
    @blp.arguments(OutcomeInputSchema)
    @blp.response(200, OutcomeSchema)
    def put(self, body, indicator, year, quarter):
        """Record one quarterly outcome count (statistics unit)"""
        item = {"indicator": indicator, "year": year, "quarter": quarter, "count": body["count"]}
        (written,) = outcomes.record_counts(
            get_session(), current_catalog(), current_principal(), [item], now()
        )
        return written
