"""Notify's metrics, read from the outbox at scrape time: the same answer in every gunicorn worker."""

from __future__ import annotations

import logging

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from services.notify.models import PENDING, RULE_NAMES, RULES, SENDING, Evaluation, Notification
from shared.db import Database

log = logging.getLogger(__name__)


# The rule's code (silences, the API) and the words of its e-mails (dashboards, alerts).
LABELS = ["rule", "rule_name"]


def _families():
    return (
        CounterMetricFamily(
            "dgbv_notifications_created", "Notifications written to the outbox, by rule.", labels=LABELS
        ),
        CounterMetricFamily(
            "dgbv_notifications_sent", "Notifications accepted by the mail server, by rule.", labels=LABELS
        ),
        CounterMetricFamily(
            "dgbv_notifications_failed",
            "Notifications marked failed (refused with 5xx, or retried too often), by rule.",
            labels=LABELS,
        ),
        GaugeMetricFamily("dgbv_outbox_pending", "Notifications waiting to be sent (pending or sending)."),
        GaugeMetricFamily(
            "dgbv_outbox_oldest_pending_age_seconds",
            "Age of the oldest notification waiting to be sent (0 when none waits).",
        ),
        GaugeMetricFamily(
            "dgbv_notify_last_evaluation_timestamp_seconds",
            "Unix time at which the last successful evaluation finished (0 if none has).",
        ),
    )


class OutboxCollector:
    """Counts kept by the rows themselves (deliveries, failures), so restarts and workers agree."""

    def __init__(self, database: Database, clock):
        self.database = database
        self.clock = clock

    def describe(self):
        return _families()

    def collect(self):
        created, sent, failed, pending, oldest, last_evaluation = _families()
        N = Notification
        with self.database.session(write=False) as session:
            per_rule = {
                rule: (made, delivered or 0, refused or 0)
                for rule, made, delivered, refused in session.execute(
                    select(N.rule, func.count(), func.sum(N.deliveries), func.sum(N.failures)).group_by(
                        N.rule
                    )
                )
            }
            waiting, first = session.execute(
                select(func.count(), func.min(N.created_at)).where(N.status.in_((PENDING, SENDING)))
            ).one()
            finished = session.scalar(
                select(func.max(Evaluation.finished_at)).where(Evaluation.outcome == "ok")
            )
        for rule in RULES:
            made, delivered, refused = per_rule.get(rule, (0, 0, 0))
            labels = [rule, RULE_NAMES[rule]]
            created.add_metric(labels, made)
            sent.add_metric(labels, delivered)
            failed.add_metric(labels, refused)
        pending.add_metric([], waiting)
        if first is not None and first.tzinfo is None:
            first = first.replace(tzinfo=self.clock().tzinfo)
        oldest.add_metric([], max(0.0, (self.clock() - first).total_seconds()) if first else 0.0)
        last_evaluation.add_metric([], finished.timestamp() if finished else 0.0)
        yield from (created, sent, failed, pending, oldest, last_evaluation)
