"""Quarterly reports as Excel workbooks: a pre-filled template to download, a draft to upload."""

from __future__ import annotations

from flask.views import MethodView

from services.intake import excel, workbooks
from services.intake.api import api_blueprint
from services.intake.api.conditional import ETAG, answer, seen_in_request, writes
from services.intake.context import REPORT_PATH, current_rules, send_download
from services.intake.schemas import ReportSchema, WorkbookFileSchema, WorkbookFormSchema
from shared.auth import Role, current_principal, require_roles
from shared.db import get_session
from shared.periods import Quarter

blp = api_blueprint(
    "workbooks", __name__, "Quarterly reports as Excel workbooks, for bureaus that prefer working in Excel."
)

READERS = (Role.ADMIN, Role.COORDINATOR, Role.VIEWER, Role.SERVICE, Role.BUREAU)
WRITERS = (Role.ADMIN, Role.BUREAU)


@blp.route(REPORT_PATH + "/xlsx")
class ReportWorkbook(MethodView):
    """A report as an .xlsx workbook."""

    body_media_types = ("multipart/form-data",)

    @require_roles(*READERS)
    @blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type=excel.XLSX_MIMETYPE,
        description="The workbook; yellow cells are open for input, the rest is protected",
    )
    def get(self, bureau, year, quarter):
        """Download a report as an Excel template

        Pre-filled with the bureau's actions, metrics, units, planned annual values, the
        values of earlier quarters and whatever is saved for this quarter (an empty
        template before the first save).
        """
        found = workbooks.download(
            get_session(), current_principal(), current_rules(), bureau, Quarter(year, quarter)
        )
        return send_download(found.content, found.file_name, found.mimetype)

    @require_roles(*WRITERS)
    @blp.arguments(WorkbookFormSchema, location="form")
    @blp.arguments(WorkbookFileSchema, location="files")
    @writes(blp, blp.response(200, ReportSchema, headers=ETAG))
    def post(self, form, files, bureau, year, quarter):
        """Upload a filled-in Excel template as the report's draft

        Saved exactly as a PUT of the report would be: a draft or returned report is
        saved; a submitted one is amended, which needs a `reason`. Any wrong cell (text
        or a formula in a number cell, a negative value, a changed action row) refuses
        the whole file; `errors` names each problem by sheet and cell (`季報!K8`).
        Like a PUT, it needs If-Match once the report exists.
        """
        rules = current_rules()
        report = workbooks.upload(
            get_session(),
            current_principal(),
            rules,
            bureau,
            Quarter(year, quarter),
            files["file"].read(),
            form["reason"] or None,
            seen_in_request(),
        )
        return answer(report, rules)
