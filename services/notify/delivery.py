"""The sender: claims due outbox rows, re-checks their reasons and delivers them over SMTP.

One SMTP connection serves a whole batch. Failures are sorted in two kinds:
transient (the server cannot be reached, or answers 4xx) are retried later with
exponential backoff and jitter; permanent (5xx) mark the row failed with the
server's answer. A crash between the server's acceptance and `mark_sent` is the
only way a message can go out twice; `mark_sent` is a single UPDATE.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import smtplib
import ssl
from collections import Counter

from services.notify import outbox
from services.notify.evaluation import active_silences, taipei_today
from services.notify.messages import build_message
from services.notify.models import Notification
from services.notify.rules import Current, Verdict
from services.notify.service import Notifier, SmtpSettings
from services.notify.sources import SourceUnavailable

log = logging.getLogger(__name__)


class TransientError(Exception):
    """Try again later: the server is unreachable, busy, or answered 4xx."""


class PermanentError(Exception):
    """The server refused the message for good (5xx)."""


def _describe(code: int, message: bytes | str) -> str:
    text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


@functools.cache
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """One verifying context per CA file, made once: making one loads the system's certificates,
    which took longer than sending a message (bench/README.md, benchmark 6)."""
    return ssl.create_default_context(cafile=ca_file)


def open_connection(settings: SmtpSettings) -> smtplib.SMTP:
    """Connect, secure and log in; certificates are always verified."""
    if settings.security == "ssl":
        connection = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=_tls_context(settings.ca_file)
        )
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            connection.starttls(context=_tls_context(settings.ca_file))
    if settings.username:
        connection.login(settings.username, settings.password or "")
    return connection


def close_quietly(connection: smtplib.SMTP | None) -> None:
    if connection is None:
        return
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def send_one(connection: smtplib.SMTP, message, sender: str, recipients: list[str]) -> dict:
    """Send over an open connection; raise TransientError or PermanentError; the refused recipients."""
    try:
        return connection.send_message(message, from_addr=sender, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as error:
        answers = [_describe(code, text) for code, text in error.recipients.values()]
        if all(code >= 500 for code, _ in error.recipients.values()):
            raise PermanentError("; ".join(answers)) from None
        raise TransientError("; ".join(answers)) from None
    except smtplib.SMTPResponseException as error:
        answer = _describe(error.smtp_code, error.smtp_error)
        if 400 <= error.smtp_code < 500:
            raise TransientError(answer) from None
        raise PermanentError(answer) from None
    except (smtplib.SMTPException, OSError) as error:  # disconnected, timed out, reset
        raise TransientError(f"{type(error).__name__}: {error}") from None


class Rechecker:
    """Asks each notification's rule whether it still holds, after the silences; the sources are
    asked once per report (or year) per batch."""

    def __init__(self, notifier: Notifier, now: dt.datetime):
        self.rules = notifier.rules
        self.current = Current(notifier.sources, now, notifier.thresholds, notifier.catalog)
        with notifier.database.session(write=False) as session:
            self.silences = active_silences(session, taipei_today(now))

    def check(self, row: Notification) -> Verdict:
        silence = self.silences.get((row.rule, row.bureau)) if row.bureau else None
        if silence is not None:
            return Verdict(False, f"silenced until {silence.until} (silence {silence.id})")
        try:
            return self.rules[row.rule].recheck(row, self.current)
        except SourceUnavailable as error:
            return Verdict(False, str(error), unknown=True)


def deliver(notifier: Notifier, max_batches: int | None = None) -> Counter:
    """Send every due notification; stop early when the server cannot be reached."""
    stats: Counter = Counter()
    batches = 0
    while max_batches is None or batches < max_batches:
        config = notifier.config
        claim = outbox.claim(
            notifier.database, notifier.now(), config["SEND_BATCH_SIZE"], config["SEND_LEASE_SECONDS"]
        )
        if not claim.rows:
            break
        batches += 1
        if not _deliver_batch(notifier, claim, stats):
            break
    if stats:
        log.info("delivery done", extra={"stats": dict(stats)})
    return stats


def _retry(notifier: Notifier, row: Notification, token: str, error: str, stats: Counter) -> None:
    config = notifier.config
    delay = outbox.backoff(row.attempts, config["RETRY_BASE_SECONDS"], config["RETRY_MAX_SECONDS"])
    outbox.retry_later(
        notifier.database, row, token, notifier.now(), error, delay, config["SEND_MAX_ATTEMPTS"]
    )
    if row.attempts >= config["SEND_MAX_ATTEMPTS"]:
        stats["failed"] += 1
        log.error("delivery given up", extra={"notification": row.dedup_key, "error": error})
    else:
        stats["retried"] += 1
        log.warning("delivery deferred", extra={"notification": row.dedup_key, "error": error})


def _give_up(notifier: Notifier, row: Notification, token: str, stage: str, error: Exception, stats) -> None:
    """A message that cannot be prepared fails alone, with the reason: the batch goes on."""
    reason = outbox.failure(stage, error)
    outbox.mark_failed(notifier.database, row, token, notifier.now(), reason)
    stats["failed"] += 1
    log.error("notification failed", exc_info=error, extra={"notification": row.dedup_key, "error": reason})


def _deliver_batch(notifier: Notifier, claim: outbox.Claim, stats: Counter) -> bool:
    """Deliver one claimed batch over one connection; False if the server could not be reached.

    Any error while preparing one message (its re-check, its MIME message, an unexpected error while
    sending it) marks that message failed; the others are still sent.
    """
    database, settings, token = notifier.database, notifier.smtp, claim.token
    lease = notifier.config["SEND_LEASE_SECONDS"]
    rechecker = Rechecker(notifier, notifier.now())
    connection = None
    try:
        for index, row in enumerate(claim.rows):
            try:
                verdict = rechecker.check(row)
            except Exception as error:  # a rule meeting an answer it did not expect: this row only
                _give_up(notifier, row, token, "re-check", error, stats)
                continue
            if verdict.unknown:
                _retry(notifier, row, token, f"re-check failed: {verdict.reason}", stats)
                continue
            if not verdict.send:
                outbox.mark_cancelled(database, row, token, notifier.now(), verdict.reason)
                stats["cancelled"] += 1
                log.info(
                    "notification cancelled", extra={"notification": row.dedup_key, "reason": verdict.reason}
                )
                continue
            if not outbox.hold(database, row, token, notifier.now(), lease):
                stats["lost"] += 1  # our lease expired and another sender has it
                continue
            if connection is None:
                try:
                    connection = open_connection(settings)
                except (smtplib.SMTPException, OSError) as error:
                    message = f"cannot reach {settings.host}:{settings.port}: {type(error).__name__}: {error}"
                    for waiting in claim.rows[index:]:
                        _retry(notifier, waiting, token, message, stats)
                    return False
            try:
                message = build_message(row, settings.sender, settings.sender_name, notifier.now())
            except Exception as error:  # e.g. a header the message cannot carry
                _give_up(notifier, row, token, "building the message", error, stats)
                continue
            try:
                refused = send_one(connection, message, settings.sender, row.recipients)
            except TransientError as error:
                _retry(notifier, row, token, str(error), stats)
                if connection.sock is None:  # the server hung up: reconnect for the next one
                    close_quietly(connection)
                    connection = None
                continue
            except PermanentError as error:
                outbox.mark_failed(database, row, token, notifier.now(), str(error))
                stats["failed"] += 1
                log.error("notification refused", extra={"notification": row.dedup_key, "error": str(error)})
                continue
            except Exception as error:  # not the server's answer: the conversation is in doubt, start anew
                _give_up(notifier, row, token, "sending", error, stats)
                close_quietly(connection)
                connection = None
                continue
            # The server has the message: record that in one statement, before anything else.
            note = "refused by some recipients: " + "; ".join(
                f"{address}: {_describe(code, text)}" for address, (code, text) in refused.items()
            )
            if not outbox.mark_sent(database, row, token, notifier.now(), note if refused else None):
                log.error(
                    "sent but the claim was lost: it may be sent again", extra={"notification": row.dedup_key}
                )
            stats["sent"] += 1
    finally:
        close_quietly(connection)
    return True
