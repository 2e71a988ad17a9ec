"""One evaluation: ask the sources, run the rules, and write new notifications to the outbox.

Idempotent by construction: a candidate becomes a row only if no row has its
dedup key (insert-or-ignore on a unique constraint), so evaluating again, in
another process or after a restart, never produces a notification twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from services.notify import outbox
from services.notify.messages import Rendered, new_message_id
from services.notify.models import DRY_RUN, FAILED, PENDING, Evaluation, Notification, Silence
from services.notify.rules import Candidate, Findings, Inputs, Notice, Overdue, reopened_at
from services.notify.service import Notifier
from services.notify.sources import SourceUnavailable
from shared import rules as plan_rules
from shared.errors import DomainError
from shared.periods import TAIPEI, Quarter

log = logging.getLogger(__name__)


class EvaluationFailed(DomainError):
    """A source could not be asked: nothing was written; the next run tries again."""

    status = 503


def taipei_today(now: dt.datetime) -> dt.date:
    return now.astimezone(TAIPEI).date()


def gather(notifier: Notifier, today: dt.date) -> Findings:
    """Ask intake and kpi, and run every rule on their answers, in the order they are registered."""
    inputs = ask_sources(notifier)
    findings = Findings()
    for rule in notifier.rules.values():
        if rule.scheduled:
            findings.extend(rule.evaluate(inputs, today))
    return findings


def ask_sources(notifier: Notifier) -> Inputs:
    """What the rules evaluate; refuses kpi figures older than KPI_MAX_AGE_SECONDS."""
    sources = notifier.sources
    status = sources.kpi_status()
    age = status.get("age_seconds")
    if age is None or age > notifier.config["KPI_MAX_AGE_SECONDS"]:
        raise SourceUnavailable(
            f"kpi's figures are stale (last sync {age} s ago): {status.get('last_error')}"
        )
    now = notifier.now()
    directory = {bureau["id"]: bureau for bureau in sources.bureaus()}
    returned = [sources.report(r["bureau"], r["year"], r["quarter"]) for r in sources.returned_reports()]
    indicators = sources.indicators()
    first = status.get("first_quarter")
    quarter = plan_rules.chased_quarter(Quarter.parse(first), now) if first else None
    compliance = sources.compliance(quarter.year, quarter.quarter) if quarter else None
    return Inputs(
        directory=directory,
        returned_reports=[report for report in returned if report],
        indicators=indicators,
        compliance=compliance,
        overdue_notices=overdue_notices(notifier, quarter) if compliance else {},
        progress=sources.progress(quarter.year, quarter.quarter) if compliance else None,
        outstanding_after_lock=outstanding_after_lock(notifier, now),
        now=now,
        thresholds=notifier.thresholds,
        committee_emails=list(notifier.config["COMMITTEE_EMAILS"]),
        coordinator_emails=list(notifier.config["COORDINATOR_EMAILS"]),
        catalog=notifier.catalog,
    )


def outstanding_after_lock(notifier: Notifier, now: dt.datetime) -> list[dict]:
    """The reports of every tracked quarter past its lock date that are still not submitted (kpi),
    with when a coordinator last reopened each (intake's history: only a started report has one)."""
    sources, reporting = notifier.sources, notifier.catalog.reporting
    found = []
    for summary in sources.compliance_of_every_quarter():
        quarter = Quarter(summary["year"], summary["quarter"])
        every_report_in = summary["submitted"] == summary["expected"]
        if every_report_in or not plan_rules.is_locked(reporting, quarter, now, None):
            continue  # nothing missing, or open to every bureau without a reopening
        for entry in sources.compliance(quarter.year, quarter.quarter)["bureaus"]:
            status = entry["status"]
            if status not in plan_rules.OUTSTANDING_STATUSES:
                continue
            # a report never started has no history: nobody reopened it
            started = status != plan_rules.NOT_STARTED
            report = sources.report(entry["bureau"], quarter.year, quarter.quarter) if started else None
            found.append(
                {
                    "bureau": entry["bureau"],
                    "year": quarter.year,
                    "quarter": quarter.quarter,
                    "status": status,
                    "reopened_at": reopened_at(report),
                }
            )
    return found


def overdue_notices(notifier: Notifier, quarter) -> dict[str, Notice]:
    """The latest overdue notice of each bureau's report of the quarter, whatever became of it."""
    latest: dict[str, Notice] = {}
    with notifier.database.session(write=False) as session:
        rows = session.execute(
            select(Notification.bureau, Notification.stage, Notification.created_at).where(
                Notification.rule == Overdue.name,
                Notification.year == quarter.year,
                Notification.quarter == quarter.quarter,
            )
        )
        for bureau, stage, created_at in rows:
            notice = Notice(int(stage), taipei_today(created_at))
            if bureau not in latest or notice.number > latest[bureau].number:
                latest[bureau] = notice
    return latest


def active_silences(session, today: dt.date) -> dict[tuple[str, str], Silence]:
    """Silences in force today, by (rule, bureau)."""
    found: dict[tuple[str, str], Silence] = {}
    for silence in session.scalars(select(Silence).where(Silence.until >= today).order_by(Silence.until)):
        found[(silence.rule, silence.bureau)] = silence  # the longest wins
    return found


def _row(notifier: Notifier, candidate: Candidate, now: dt.datetime, status: str) -> dict:
    """The outbox row of a candidate. One whose message cannot be rendered is written `failed` with
    the reason, so the others are written and the failure shows in the API and the metrics."""
    failure = {}
    try:
        rendered = notifier.render(candidate.rule, candidate.facts, taipei_today(now))
    except Exception as error:  # any error of one message (a template and its facts disagree)
        log.exception("notification could not be rendered", extra={"notification": candidate.key})
        rendered = Rendered("", "", "")
        failure = {"status": FAILED, "last_error": outbox.failure("rendering", error), "failures": 1}
    return {
        "dedup_key": candidate.key,
        "rule": candidate.rule,
        "bureau": candidate.bureau,
        "indicator": candidate.indicator,
        "year": candidate.year,
        "quarter": candidate.quarter,
        "stage": candidate.stage,
        "recipients": candidate.recipients,
        "subject": rendered.subject,
        "body_text": rendered.text,
        "body_html": rendered.html,
        "facts": candidate.facts,
        "message_id": new_message_id(notifier.smtp.sender),
        "status": status,
        "attempts": 0,
        "deliveries": 0,
        "failures": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
        **failure,
    }


def evaluate(notifier: Notifier, trigger: str, preview: bool = False) -> dict:
    """Run the rules now; `preview` writes nothing and says what would be created."""
    started = notifier.now()
    today = taipei_today(started)
    try:
        findings = gather(notifier, today)
    except SourceUnavailable as error:
        log.error("evaluation failed: %s", error)
        if not preview:
            with notifier.database.transaction() as session:
                session.add(
                    Evaluation(
                        trigger=trigger,
                        started_at=started,
                        finished_at=notifier.now(),
                        outcome="error",
                        created=0,
                        summary={},
                        error=str(error),
                    )
                )
        raise EvaluationFailed(f"A source could not be asked: {error}") from None

    skipped = list(findings.skipped)
    with notifier.database.session(write=False) as session:
        silences = active_silences(session, today)
        keys = [candidate.key for candidate in findings.candidates]
        existing = set(
            session.scalars(select(Notification.dedup_key).where(Notification.dedup_key.in_(keys)))
        )
    candidates = []
    for candidate in findings.candidates:
        silence = silences.get((candidate.rule, candidate.bureau)) if candidate.bureau else None
        if silence is not None:
            skipped.append(
                {"key": candidate.key, "reason": f"silenced until {silence.until} (silence {silence.id})"}
            )
        else:
            candidates.append(candidate)

    status = DRY_RUN if notifier.config["DRY_RUN"] else PENDING
    rows = {c.key: _row(notifier, c, started, status) for c in candidates if preview or c.key not in existing}
    summary = {
        "trigger": trigger,
        "preview": preview,
        "evaluated_at": started.isoformat(),
        "today": today.isoformat(),
        "created": [],
        "existing": sorted(c.key for c in candidates if c.key in existing),
        "skipped": skipped,
        "superseded": 0,
    }
    if preview:
        summary["candidates"] = [
            {
                **{name: rows[c.key][name] for name in ("dedup_key", "rule", "bureau", "indicator", "year")},
                **{
                    name: rows[c.key][name]
                    for name in ("quarter", "stage", "recipients", "subject", "body_text")
                },
                "new": c.key not in existing,
            }
            for c in candidates
        ]
        return summary

    with notifier.database.transaction() as session:
        for candidate in candidates:
            if candidate.key not in rows:
                continue
            new_id = outbox.insert_or_ignore(session, rows[candidate.key])
            if new_id is None:  # another evaluation wrote it first
                summary["existing"].append(candidate.key)
                continue
            summary["created"].append(candidate.key)
            if candidate.rule == Overdue.name:
                summary["superseded"] += outbox.supersede_pending(
                    session,
                    new_id,
                    candidate.bureau,
                    candidate.year,
                    candidate.quarter,
                    candidate.key,
                    started,
                )
        evaluation = Evaluation(
            trigger=trigger,
            started_at=started,
            finished_at=notifier.now(),
            outcome="ok",
            created=len(summary["created"]),
            summary=summary,
        )
        session.add(evaluation)
        session.flush()
        summary["id"] = evaluation.id
    log.info(
        "evaluation done",
        extra={
            "new_notifications": len(summary["created"]),
            "existing_notifications": len(summary["existing"]),
            "skipped_notifications": len(skipped),
        },
    )
    return summary
