"""The plan's gender statistics tables (Tables 1-3), for the roles that may read case records."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from services.kpi import disclosure, snapshot, tables
from services.kpi.api import current_catalog, disclosure_rule
from services.kpi.schemas import TableQuerySchema, TableSchema
from shared.api import api_blueprint
from shared.auth import CASE_READERS, require_roles
from shared.db import get_session
from shared.errors import Invalid, NotFound
from shared.periods import ROC_FIRST_YEAR

blp = api_blueprint("tables", __name__, "Tables 1-3 of the plan from the anonymous case records.")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blp.route(f"/tables/<any({','.join(tables.KINDS)}):kind>")
class Tables(MethodView):
    @require_roles(*CASE_READERS)
    @blp.arguments(TableQuerySchema, location="query")
    @blp.response(200, TableSchema)
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", success=True)
    @blp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type=XLSX, success=True)
    def get(self, query, kind):
        """A table for a span of years and a crime category

        `suspects`: suspects by sex x crime cause x age band (Tables 1 and 3); `victims`:
        victims by sex x age band x relationship to the suspect (Table 2); `types`: the 10
        types of digital gender-based violence by role and sex. Per sex a total row and a
        composition row (構成比, percent, rounded half-up to two decimals); cause rows by
        count descending, ties in catalog order, other/unknown last. `format=csv` or `xlsx`
        downloads the table with zero shown as `-`. Without years: the latest two years
        with records (近二年). Readable by the roles that may read case records.

        Counts under the catalog's small-cell threshold (`disclosure.min_cell`), and the cells
        that would let them be recomputed from a total and their row or column, are withheld:
        null with `suppressed` true in JSON, `x` in CSV and XLSX, with a note under the table.
        `exact=true` gives the exact table, to the statistics unit and admins only (403 to others).
        """
        catalog, session = current_catalog(), get_session()
        rule = disclosure_rule(query)
        category = query.get("category")
        if category is not None:
            try:
                catalog.crime_category(category)
            except KeyError:
                raise NotFound(f"No crime category {category!r}.") from None
        summary = snapshot.summary(session)
        latest = (summary["case_years"] or [summary["current_year"]])[-1]
        to_year = query.get("to_year", max(latest, query.get("from_year", latest)))
        from_year = query.get("from_year", max(to_year - 1, ROC_FIRST_YEAR))
        if from_year > to_year:
            raise Invalid(
                f"from_year {from_year} is after to_year {to_year}.",
                {"to_year": ["Must not be before from_year."]},
            )
        if category is not None:
            stored = {category: snapshot.item(session, "cases", category) or {}}
        else:
            stored = snapshot.items(session, "cases")
        cells = [
            tables.CaseCell(year, name, *rest)
            for name, data in stored.items()
            for year, *rest in data.get("cells", [])
        ]
        type_cells = [
            tables.TypeCell(year, name, *rest)
            for name, data in stored.items()
            for year, *rest in data.get("types", [])
        ]
        table = tables.build(kind, catalog, cells, type_cells, category, from_year, to_year)
        if rule is not None:
            table = disclosure.suppress(table, rule)
        return _respond(table, query["format"])


def _respond(table: tables.Table, format: str):
    """The table as JSON, or as a CSV or XLSX download."""
    if format == "json":
        return table.to_json()
    name = f"{table.kind}_{table.category or 'all'}_{table.from_year}-{table.to_year}"
    if format == "csv":
        # The byte order mark lets Excel open the Chinese labels correctly.
        body, mimetype = "\ufeff" + table.to_csv(), "text/csv; charset=utf-8"
    else:
        body, mimetype = table.to_xlsx(), XLSX
    return Response(
        body,
        content_type=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )
