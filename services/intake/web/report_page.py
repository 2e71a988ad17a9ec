"""The report pages' view model: what the form and the review page show, built from the domain's
report lines (services/intake/report_lines.py) and what was typed; the templates only lay it out."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g
from sqlalchemy.orm import Session

from services.intake import reports
from services.intake.context import current_rules
from services.intake.report_lines import ReportSheet, progress_text, report_sheet
from services.intake.web import labels
from services.intake.web.common import by_program, quarter_row, returned_comment
from services.intake.web.forms import FormState, field_titles, values_of_report
from shared.periods import Quarter


@dataclass(frozen=True)
class MissedRevision:
    """A revision written after the one a stale page was rendered from."""

    number: int
    event: str
    actor: str
    at: str
    changes: list[tuple[str, str, str]]


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
    revision: int = 0  # what the page's forms say they saw
    lock_days: int = 0
    missed: list[MissedRevision] = field(default_factory=list)
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
    seen_revision: int | None = None,
    stale_since: int | None = None,
) -> ReportPage:
    """The page of a report: `content` (typed, not saved) replaces what is saved when judging progress.
    Its forms carry `seen_revision` (a page shown again after an error keeps the revision it was
    first rendered from) or else the current one; `stale_since` lists what was written after it."""
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
        returned_comment=returned_comment(session, report),
        form=form or FormState(values=values_of_report(sheet)),
        upload=upload or FormState(),
        field_titles=field_titles(sheet),
        lock_days=rules.reporting.lock_days,
        revision=seen_revision if seen_revision is not None else (report.revision if report else 0),
        missed=_missed(session, report, stale_since, rules.catalog)
        if report and stale_since is not None
        else [],
        amending=status in (reports.SUBMITTED, reports.ACCEPTED),
        may_accept=status == reports.SUBMITTED,
        may_return=status in (reports.SUBMITTED, reports.ACCEPTED),
    )


def _missed(session, report, since: int, catalog) -> list[MissedRevision]:
    return [
        MissedRevision(
            number=revision.number,
            event=labels.EVENT_LABELS.get(revision.event, revision.event),
            actor=revision.actor,
            at=labels.roc_datetime(revision.at),
            changes=labels.describe_changes(revision.changes, catalog),
        )
        for revision in reports.changes_since(session, report, since)
    ]
