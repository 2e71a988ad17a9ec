"""Benchmark 6: notify delivering 1,000 messages to a local aiosmtpd, with and without reusing
the SMTP connection.

With reuse is notify as configured (SEND_BATCH_SIZE=20: one connection serves a claimed batch);
without is SEND_BATCH_SIZE=1, the only way notify sends one message per connection (which also
claims one row per transaction). The messages are committee alerts made by notify's own rule and
renderer; the re-check before sending asks a stand-in for kpi (no network), so what is measured
is notify's outbox and SMTP work.
"""

from __future__ import annotations

import datetime as dt
import threading

from aiosmtpd.controller import Controller

from bench.harness import Context, Figure, free_port, ratio, scratch_database, timed
from services.notify import SERVICE_DIR as NOTIFY_DIR
from services.notify import create_app, outbox
from services.notify.delivery import deliver
from services.notify.evaluation import _row
from services.notify.models import PENDING
from services.notify.rules import committee_rule
from shared.catalog import default_catalog

CATALOG = default_catalog()


class _Counting:
    """An SMTP server that accepts every message and counts it."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.count += 1
        return "250 2.0.0 OK"


class _Kpi:
    """Answers the re-check of committee alerts as kpi would: every indicator still at risk."""

    def indicators(self, year: int) -> list[dict]:
        return [{"indicator": i.id, "year": year, "status": "at_risk"} for i in CATALOG.indicators]


def _fill(notifier, count: int, first_year: int) -> None:
    """`count` committee alerts, made by notify's rule and rendered by its renderer, in the outbox."""
    indicators = []
    for index in range(count):
        indicator = CATALOG.indicators[index % len(CATALOG.indicators)]
        indicators.append(
            {
                "indicator": indicator.id,
                "name": indicator.name,
                "year": first_year + index // 12,
                "latest_quarter": (index // 3) % 4 + 1,
                "status": "at_risk",
                "baseline": 102,
                "target": 98.94,
                "ytd_actual": 80,
                "baseline_ytd": 79,
                "ytd_target": 76.63,
                "change_pct": 1.27,
                "projection": 103.29,
            }
        )
    findings = committee_rule(indicators, ["committee@bench.example.org"], notifier.thresholds)
    now = notifier.now()
    with notifier.database.transaction() as session:
        for candidate in findings.candidates:
            outbox.insert_or_ignore(session, _row(notifier, candidate, now, PENDING))


def run(ctx: Context) -> list[Figure]:
    count = 60 if ctx.tiny else 1_000
    handler = _Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    results = {}
    try:
        with scratch_database(ctx.backend, ctx.folder, "notify", NOTIFY_DIR) as url:
            app = create_app(
                {
                    "DATABASE_URL": url,
                    "INTAKE_TOKEN": "bench-not-used",
                    "SMTP_HOST": "127.0.0.1",
                    "SMTP_PORT": port,
                    "SMTP_SECURITY": "none",
                    "LOG_LEVEL": "WARNING",
                    "CLOCK": lambda: dt.datetime.now(dt.UTC),
                }
            )
            notifier = app.extensions["notifier"]
            notifier.sources = _Kpi()
            for label, batch, first_year in (("with reuse", 20, 2100), ("without reuse", 1, 3100)):
                app.config["SEND_BATCH_SIZE"] = batch
                _fill(notifier, count, first_year)
                sent_before, connections_before = handler.count, handler.connections
                seconds, stats = timed(deliver, notifier)
                if stats.get("sent") != count or handler.count - sent_before != count:
                    raise RuntimeError(
                        f"notify sent {dict(stats)}, the server got {handler.count - sent_before}"
                    )
                results[label] = {
                    "rate": count / seconds,
                    "seconds": seconds,
                    "connections": handler.connections - connections_before,
                    "batch": batch,
                }
                ctx.log(f"  {label}: {results[label]}")
            notifier.database.dispose()
    finally:
        controller.stop()
    reuse, single = results["with reuse"], results["without reuse"]
    return [
        Figure(
            "6. notify delivering to a local aiosmtpd",
            f"messages per second, with connection reuse ({count:,} messages)",
            reuse["rate"],
            "msg/s",
            "without reuse (one connection per message)",
            single["rate"],
            ratio(reuse["rate"], single["rate"]),
            None,
            None,
            {"with": reuse, "without": single},
        )
    ]
