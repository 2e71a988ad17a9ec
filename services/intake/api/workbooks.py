"""Quarterly reports as Excel workbooks: a pre-filled template to download, a draft to upload."""

from __future__ import annotations

import io

import marshmallow as ma
from flask import request, send_file
from flask.views import MethodView

from services.intake import excel, reports
from services.intake.api import api_blueprint, current_rules
from services.intake.schemas import ReportSchema, WorkbookFormSchema
from shared.auth import Role, current_principal, require_roles
from shared.db import get_session
from shared.errors import Invalid, NotFound
from shared.periods import Quarter

blp = api_blueprint(
    "workbooks", __name__, "Quarterly reports as Excel workbooks, for bureaus that prefer working in Excel."
)

READERS = (Role.ADMIN, Role.COORDINATOR, Role.VIEWER, Role.SERVICE, Role.BUREAU)
WRITERS = (Role.ADMIN, Role.BUREAU)


def _report_period(bureau: str, year: int, quarter: int) -> Quarter:
    """The quarter of a bureau's report the principal may see; anything else is not found."""
    try:
        period = Quarter(year, quarter)
    except ValueError:
        raise NotFound(f"There is no quarter {year}Q{quarter}.") from None
    try:
        current_rules().catalog.bureau(bureau)
    except KeyError:
        raise NotFound(f"No bureau {bureau!r}.") from None
    if not current_principal().may_act_for(bureau):
        raise NotFound(f"No report of {bureau}.")
    return period


@blp.route("/reports/<string:bureau>/<int:year>/<int:quarter>/xlsx")
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
        period = _report_period(bureau, year, quarter)
        sheet = excel.report_sheet(get_session(), current_principal(), current_rules(), bureau, period)
        return send_file(
            io.BytesIO(excel.build_workbook(sheet)),
            mimetype=excel.XLSX_MIMETYPE,
            as_attachment=True,
            download_name=f"{bureau}-{period}.xlsx",
            max_age=0,
        )

    @require_roles(*WRITERS)
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "reason": {
                                "type": "string",
                                "description": "Required when the upload amends a submitted report",
                            },
                        },
                    }
                }
            },
        }
    )
    @blp.response(200, ReportSchema)
    def post(self, bureau, year, quarter):
        """Upload a filled-in Excel template as the report's draft

        Saved exactly as a PUT of the report would be: a draft or returned report is
        saved; a submitted one is amended, which needs a `reason`. Any wrong cell (text
        or a formula in a number cell, a negative value, a changed action row) refuses
        the whole file; `errors` names each problem by sheet and cell (`季報!K8`).
        """
        period = _report_period(bureau, year, quarter)
        try:
            form = WorkbookFormSchema().load(request.form)
        except ma.ValidationError as error:
            raise Invalid("The form fields are not valid.", error.messages) from None
        upload = request.files.get("file")
        if upload is None:
            raise Invalid("Send the workbook in a form field named 'file'.", {"file": ["Missing."]})
        rules, session = current_rules(), get_session()
        sheet = excel.report_sheet(session, current_principal(), rules, bureau, period)
        content = excel.read_workbook(upload.read(), sheet)
        report = reports.save_report(
            session,
            rules,
            current_principal(),
            bureau,
            period,
            narrative=content["narrative"],
            actions=content["actions"],
            reason=form["reason"] or None,
        )
        return reports.report_document(report, rules)
