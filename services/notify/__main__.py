"""Command line of the notify service: `python -m services.notify [run|serve|scheduler|migrate|...]`.

Development: `python -m services.notify` migrates, then runs the web server and,
in a child process of its own, the scheduler. Production runs them apart:
`python -m services.notify migrate`, `python -m services.notify scheduler` (any number
on PostgreSQL: one leads, the others stand by) and `gunicorn 'services.notify:create_app()'`
(any number of workers and replicas).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import threading
from pathlib import Path

import click

from services.notify import SERVICE_DIR, create_app
from services.notify.delivery import deliver
from services.notify.evaluation import EvaluationFailed, evaluate
from shared import settings
from shared.cli import app_of, service_cli
from shared.observability import configure_logging


def _app(**overrides):
    return app_of(lambda: create_app(overrides or None))


cli = service_cli("notify", create_app, SERVICE_DIR, scheduler=True)


@cli.command()
def scheduler():
    """Run the daily evaluation, the follower of intake's changes and the sender while this process
    leads (shared/leadership.py); on SQLite run exactly one."""
    from services.notify.scheduler import run_forever

    app = _app()
    configure_logging("notify-scheduler", app.config["LOG_LEVEL"])
    run_forever(app.extensions["notifier"])


@cli.command("check-scheduler")
@click.option(
    "--max-age",
    type=float,
    default=25 * 3600,
    show_default=True,
    help="Seconds since the last successful scheduled evaluation.",
)
def check_scheduler(max_age):
    """Exit 1 unless the scheduler runs: its jobs are on time and its evaluations succeed (a health check)."""
    from services.notify.scheduler import problems

    found = problems(_app().extensions["notifier"], max_age)
    for problem in found:
        click.echo(f"notify scheduler: {problem}", err=True)
    if found:
        sys.exit(1)
    click.echo("notify scheduler: ok", err=True)


@cli.command("evaluate")
@click.option("--dry-run", is_flag=True, help="Write nothing; print what would be created.")
@click.option(
    "--at",
    "at",
    default=None,
    help="Evaluate as if it were this instant (ISO 8601 with offset), e.g. 2022-07-12T09:00+08:00.",
)
def evaluate_command(dry_run, at):
    """Evaluate the rules once now and print the summary as JSON."""
    overrides = {}
    if at:
        moment = dt.datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise click.BadParameter("give an offset, e.g. +08:00", param_hint="--at")
        overrides["CLOCK"] = lambda: moment
    app = _app(**overrides)
    try:
        summary = evaluate(app.extensions["notifier"], trigger="cli", preview=dry_run)
    except EvaluationFailed as error:
        raise click.ClickException(error.detail) from None
    click.echo(json.dumps(summary, ensure_ascii=False, indent=2))


@cli.command("send")
def send_command():
    """Send every due notification once, then exit (the scheduler does this on its own)."""
    stats = deliver(_app().extensions["notifier"])
    click.echo(json.dumps(dict(stats)))


@cli.command("catcher")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
@click.option("--dir", "folder", default=None, help="Where to keep the messages (default: var/mail).")
def catcher_command(host, port, folder):
    """Run the development SMTP catcher: every message is kept as a .eml file."""
    # aiosmtpd is a development extra (`pip install .[dev]`), not in the production image.
    from services.notify import catcher

    target = Path(folder or settings.var_dir(os.environ) / "mail").resolve()
    controller = catcher.start(target, host, port)
    click.echo(f"mail catcher: smtp://{host}:{port} -> {target}", err=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    while not stopping.wait(1.0):
        pass
    controller.stop()


if __name__ == "__main__":
    sys.exit(cli())
