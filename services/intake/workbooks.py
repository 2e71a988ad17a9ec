"""A report as an Excel workbook, one path for the API and the pages: download it, upload it back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.intake import excel, reports
from services.intake.models import Report
from services.intake.report_lines import ReportSheet, report_sheet
from shared.auth import Principal
from shared.periods import Quarter


@dataclass(frozen=True)
class Download:
    content: bytes
    file_name: str
    mimetype: str = excel.XLSX_MIMETYPE


def file_name(sheet: ReportSheet) -> str:
    """police-2022Q2-警察局民國111年第2季季報.xlsx: sortable, and readable to the clerk who saves it."""
    return f"{sheet.bureau.id}-{sheet.quarter}-{sheet.bureau.name}{sheet.quarter.label_zh}季報.xlsx"


def download(
    session: Session, principal: Principal, rules: reports.Rules, bureau: str, quarter: Quarter
) -> Download:
    """The report's template, pre-filled with the plan, the earlier quarters and what is saved."""
    reports.check_access(rules.catalog, principal, bureau)
    sheet = report_sheet(session, principal, rules, bureau, quarter)
    return Download(excel.build_workbook(sheet), file_name(sheet))


def upload(
    session: Session,
    principal: Principal,
    rules: reports.Rules,
    bureau: str,
    quarter: Quarter,
    raw: bytes,
    reason: str | None,
    seen: reports.Seen | None = None,
) -> Report:
    """Save an uploaded workbook exactly as the form would save it: all or nothing."""
    reports.check_access(rules.catalog, principal, bureau)
    content = excel.read_workbook(raw, report_sheet(session, principal, rules, bureau, quarter))
    return reports.save_report(
        session,
        rules,
        principal,
        bureau,
        quarter,
        narrative=content["narrative"],
        actions=content["actions"],
        reason=reason,
        seen=seen,
    )
