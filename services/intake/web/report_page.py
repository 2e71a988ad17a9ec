"""The report pages' view model: what the form and the review page show, built from the domain's
report lines (services/intake/report_lines.py) and what was typed; the templates only lay it out."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g
from sqlalchemy.orm import Session

from services.intake import reports
from services.intake.context import current_rules
from services.intake.report_lines import ReportSheet, progress_text, report_sheet
from services.intake.web.common import by_program, quarter_row, returned_comment
from services.intake.web.forms import FormState, field_titles, values_of_report
from shared.periods import Quarter


@dataclass
class ReportPage:
    """One bureau's report of a quarter as a page shows it."""

    sheet: ReportSheet
    programs: list[tuple]
    row: dict
    status: str | None
    returned_comment: str | None
    form: FormState
    upload: FormState = field(default_factory=FormState)
    field_titles: dict[str, str] = field(default_factory=dict)
    amending: bool = False
    may_review: bool = False
    may_accept: bool = False
    may_return: bool = False

    def context(self) -> dict:
        """The template's variables (and the one helper that words progress)."""
        return {**vars(self), "progress_text": progress_text}


def report_page(
    session: Session,
    bureau: str,
    period: Quarter,
    *,
    content: dict | None = None,
    form: FormState | None = None,
    upload: FormState | None = None,
) -> ReportPage:
    """The page of a report: `content` (typed, not saved) replaces what is saved when judging progress."""
    rules = current_rules()
    typed = (
        {
            "narrative": content["narrative"],
            "actions": reports.normalise_actions(rules.catalog, bureau, content["actions"]),
        }
        if content
        else None
    )
    sheet = report_sheet(session, g.principal, rules, bureau, period, content=typed)
    report = sheet.report
    status = report.status if report else None
    return ReportPage(
        sheet=sheet,
        programs=by_program(sheet),
        row=quarter_row(report, period, rules),
        status=status,
        returned_comment=returned_comment(report),
        form=form or FormState(values=values_of_report(sheet)),
        upload=upload or FormState(),
        field_titles=field_titles(sheet),
        amending=status in (reports.SUBMITTED, reports.ACCEPTED),
        may_accept=status == reports.SUBMITTED,
        may_return=status in (reports.SUBMITTED, reports.ACCEPTED),
    )
