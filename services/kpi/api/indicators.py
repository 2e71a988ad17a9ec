"""The plan's goal: the outcome indicators against their targets, and their trends."""

from __future__ import annotations

from flask.views import MethodView

from services.kpi import snapshot, trends
from services.kpi.api import current_catalog, disclosure_rule
from services.kpi.schemas import IndicatorQuerySchema, IndicatorSchema, TrendQuerySchema, TrendSchema
from shared.api import api_blueprint
from shared.auth import ALL_ROLES, require_roles
from shared.db import get_session
from shared.errors import Invalid, NotFound

blp = api_blueprint("indicators", __name__, "The outcome indicators against the 3% goal, and their trends.")


@blp.route("/indicators")
class Indicators(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(IndicatorQuerySchema, location="query")
    @blp.response(200, IndicatorSchema(many=True))
    def get(self, query):
        """The indicators in a year

        Each against that year's goal in the catalog: `goal.kind` is `plan` (the plan's own
        goal) or `continuation` (a later year's goal the city set in the same terms); a year
        without a goal has `goal` null and status `no_goal`, with its counts and change from
        the year before. Without `year`: the current year (that of the current reporting
        quarter). `status` is on_track (year-to-date count at or under the seasonal target),
        at_risk (over the target, at or under the baseline's same quarters), off_track (over
        the baseline's same quarters), no_data, no_baseline (a quarter of the baseline year
        is missing), and met or missed once the fourth quarter is in.
        """
        session = get_session()
        year = query.get("year") or snapshot.summary(session)["current_year"]
        return snapshot.require(session, "indicators", str(year), f"indicator figures for {year}")["items"]


@blp.route("/trends")
class Trends(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(TrendQuerySchema, location="query")
    @blp.response(200, TrendSchema)
    def get(self, query):
        """An indicator's trend over a span of years

        The yearly counts of the indicator (null for a year with a missing quarter), their
        compound annual growth rate (年增率) from the first to the last year, and from the
        case records of the indicator's category and role: the counts per sex, each sex's
        growth rate, and the male/female ratio (倍) of each year with its range. A count by
        sex under the catalog's small-cell threshold is withheld (null, named in the year's
        `suppressed`), and so are the ratio and growth rate it would give; `exact=true` gives
        them to the statistics unit and admins only (403 to others).
        """
        catalog = current_catalog()
        rule = disclosure_rule(query)
        try:
            indicator = catalog.indicator(query["indicator"])
        except KeyError:
            raise NotFound(f"No indicator {query['indicator']!r}.") from None
        session = get_session()
        default_from, default_to = trends.default_span(catalog, snapshot.summary(session)["current_year"])
        from_year = query.get("from_year", default_from)
        to_year = query.get("to_year", max(from_year, default_to))
        if from_year > to_year:
            raise Invalid(
                f"from_year {from_year} is after to_year {to_year}.",
                {"to_year": ["Must not be before from_year."]},
            )
        counts = snapshot.require(session, "outcomes", indicator.id, f"counts of {indicator.id}")["counts"]
        case_years = snapshot.item(session, "case_years", indicator.category)
        return trends.indicator_trend(indicator, counts, case_years, from_year, to_year, rule)
