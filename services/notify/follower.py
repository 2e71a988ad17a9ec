"""The follower: intake's change feed, read every few seconds, so that notify answers what happens
(a report returned, reopened or accepted) at once instead of on the daily schedule.

Each page is acted on in one transaction with the cursor it reaches, kept in notify's database: a
page is acted on once, and a restart resumes where the last committed page ended. The first run
starts at the feed's end: what happened before notify followed it is history, not news (the daily
evaluation still announces every report that is returned now). Dedup keys keep every notification
to one, whether the follower or the daily evaluation writes it first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from services.notify import outbox
from services.notify.evaluation import _row
from services.notify.models import DRY_RUN, PENDING, FeedCursor
from services.notify.rules import Event, Findings
from services.notify.service import Notifier
from shared import changes

log = logging.getLogger(__name__)

PAGE_SIZE = 5000  # the largest page intake gives: most changes are case records, passed over


@dataclass
class Followed:
    """What one run of the follower did."""

    cursor: int
    changes: int = 0
    created: list[str] = field(default_factory=list)


def stored_cursor(notifier: Notifier) -> int | None:
    """The feed position notify has acted on up to, or None before the first run."""
    with notifier.database.session(write=False) as session:
        return session.scalar(select(FeedCursor.position).where(FeedCursor.id == 1))


def follow(notifier: Notifier) -> Followed:
    """Act on every change after the stored cursor, page by page, until the feed has no more.

    Raises SourceUnavailable (intake cannot be asked) or ContractError (a change this notify cannot
    read): the cursor stays before the page, which is tried again on the next run.
    """
    cursor = stored_cursor(notifier)
    if cursor is None:
        return _start_at_the_end(notifier)
    done = Followed(cursor)
    while True:
        page = notifier.sources.changes(done.cursor, PAGE_SIZE)
        candidates = _reactions(notifier, page["changes"])
        created = _write(notifier, done.cursor, page["next_cursor"], candidates)
        if created is None:
            log.warning("the feed's cursor was moved by another follower: stopping")
            return done
        done.cursor = page["next_cursor"]
        done.changes += len(page["changes"])
        done.created += created
        if not page["has_more"]:
            break
    if done.created:
        log.info(
            "followed intake's changes", extra={"new_notifications": done.created, "cursor": done.cursor}
        )
    return done


def _start_at_the_end(notifier: Notifier) -> Followed:
    """The first run: store the feed's last position, acting on nothing before it."""
    cursor = notifier.sources.changes(0, 1)["last_position"]
    with notifier.database.transaction() as session:
        session.add(FeedCursor(id=1, position=cursor, updated_at=notifier.now()))
    log.info("following intake's changes from position %d (the feed's end)", cursor)
    return Followed(cursor)


def _reactions(notifier: Notifier, page: list[dict]) -> list:
    """The candidates the rules ask for in answer to the page's report events. A rule answers from
    the report as intake has it now, so it answers once per report however many events it had."""
    events: dict[str, tuple[changes.ReportChange, set[str]]] = {}
    for change in page:
        if change["entity"] == "report":
            payload = changes.read("report", change["data"])
            events.setdefault(payload.key, (payload, set()))[1].add(payload.event)
    answering = {
        key: rules
        for key, (_, seen) in events.items()
        if (rules := [rule for rule in notifier.rules.values() if seen & set(rule.events)])
    }
    if not answering:
        return []
    directory = {bureau["id"]: bureau for bureau in notifier.sources.bureaus()}
    findings = Findings()
    for key, rules in answering.items():
        payload = events[key][0]
        report = notifier.sources.report(payload.bureau, payload.year, payload.quarter)
        if report is None:
            continue
        event = Event(
            report=report,
            directory=directory,
            coordinator_emails=list(notifier.config["COORDINATOR_EMAILS"]),
            catalog=notifier.catalog,
            now=notifier.now(),
        )
        for rule in rules:
            try:
                findings.extend(rule.react(event))
            except Exception:  # a rule meeting a report it did not expect costs its notice, not the feed
                log.exception("a rule could not answer a change", extra={"rule": rule.name, "report": key})
    for skipped in findings.skipped:
        log.warning("notification skipped", extra=skipped)
    return findings.candidates


def _write(notifier: Notifier, after: int, cursor: int, candidates: list) -> list[str] | None:
    """Write the page's notifications and move the cursor, in one transaction; the keys written, or
    None (nothing written) if the cursor is no longer at `after`."""
    now = notifier.now()
    status = DRY_RUN if notifier.config["DRY_RUN"] else PENDING
    created = []
    with notifier.database.transaction() as session:
        state = session.scalar(select(FeedCursor).where(FeedCursor.id == 1).with_for_update())
        if state.position != after:
            return None
        for candidate in candidates:
            if outbox.insert_or_ignore(session, _row(notifier, candidate, now, status)) is not None:
                created.append(candidate.key)
        state.position = cursor
        state.updated_at = now
    return created
