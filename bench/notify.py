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
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench.harness import Context, Figure, Served, free_port, ratio, scratch_database, timed
from services.notify import SERVICE_DIR as NOTIFY_DIR
from services.notify import create_app, outbox
from services.notify.delivery import deliver
from services.notify.evaluation import _row
from services.notify.models import PENDING
from services.notify.rules import committee_rule
from shared.catalog import default_catalog

CATALOG = default_catalog()


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


def _sink(ctx: Context, label: str) -> tuple[Served, Path]:
    """A local aiosmtpd in a process of its own, ready to accept."""
    name = f"smtp-{label.replace(' ', '-')}"
    counts = ctx.folder / f"{name}.json"
    port = free_port()
    sink = Served(
        [sys.executable, "-m", "bench.smtp_sink", str(port), str(counts)],
        {},
        ctx.folder / f"{name}.log",
        port,
    )
    deadline = time.monotonic() + 30
    while "ready" not in sink.log_path.read_text(errors="replace"):
        if time.monotonic() > deadline or sink.process.poll() is not None:
            raise RuntimeError(f"the SMTP sink did not start:\n{sink.log()}")
        time.sleep(0.05)
    return sink, counts


def run(ctx: Context) -> list[Figure]:
    count = 60 if ctx.tiny else 1_000
    results = {}
    with scratch_database(ctx.backend, ctx.folder, "notify", NOTIFY_DIR) as url:
        app = create_app(
            {
                "DATABASE_URL": url,
                # The sources are replaced below: nothing is asked of intake or kpi.
                "INTAKE_URL": "http://127.0.0.1:9",
                "KPI_URL": "http://127.0.0.1:9",
                "INTAKE_TOKEN": "bench-not-used",
                "SMTP_SECURITY": "none",
                "LOG_LEVEL": "WARNING",
                "CLOCK": lambda: dt.datetime.now(dt.UTC),
            }
        )
        notifier = app.extensions["notifier"]
        notifier.sources = _Kpi()
        for label, batch, first_year in (("with reuse", 20, 2100), ("without reuse", 1, 3100)):
            _fill(notifier, count, first_year)
            sink, counts = _sink(ctx, label)
            app.config["SEND_BATCH_SIZE"] = batch
            notifier.smtp = replace(notifier.smtp, port=sink.port)
            try:
                seconds, stats = timed(deliver, notifier)
            finally:
                sink.stop()
            received = json.loads(counts.read_text())
            if stats.get("sent") != count or received["messages"] != count:
                raise RuntimeError(f"notify sent {dict(stats)}, the server got {received}")
            results[label] = {"rate": count / seconds, "seconds": seconds, "batch": batch, **received}
            ctx.log(f"  {label}: {results[label]}")
        notifier.database.dispose()
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
