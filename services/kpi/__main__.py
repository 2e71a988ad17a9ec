"""Command line of the KPI service: `python -m services.kpi [run|migrate|scheduler|sync-once|rebuild|check-sync]`."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from services.kpi import SERVICE_DIR, create_app, scheduler
from services.kpi.models import SyncState
from shared.cli import app_of, service_cli


def _app():
    return app_of(create_app)


cli = service_cli("kpi", create_app, SERVICE_DIR, scheduler=True)


@cli.command("scheduler")
def scheduler_command():
    """Production: sync from intake and recompute the snapshot; of several such processes on
    PostgreSQL one leads and the others stand by (shared/leadership.py)."""
    scheduler.run_scheduler(_app())


@cli.command("sync-once")
@click.option("--max-pages", type=int, default=None, help="Stop after this many pages of the feed.")
def sync_once(max_pages):
    """Sync from intake once (to the end of the feed), then recompute the snapshot."""
    result = scheduler.run_cycle(_app(), max_pages=max_pages)
    click.echo(
        f"kpi: read {result.changes} changes in {result.pages} pages; cursor {result.cursor}", err=True
    )
    if not result.ok:
        raise click.ClickException(f"sync failed: {result.error}")
    click.echo(result.cursor)


@cli.command()
def rebuild():
    """Reset the cursor and the read model, sync again from zero, and recompute."""
    result = scheduler.rebuild(_app())
    click.echo(f"kpi: rebuilt from {result.changes} changes; cursor {result.cursor}", err=True)
    if not result.ok:
        raise click.ClickException(f"rebuild failed: {result.error}")
    click.echo(result.cursor)


@cli.command("check-sync")
@click.option("--max-age", type=float, default=300, show_default=True, help="Seconds.")
def check_sync(max_age):
    """Exit non-zero unless the scheduler attempted a sync within --max-age seconds (a healthcheck)."""
    app = _app()
    with app.extensions["database"].session(write=False) as session:
        attempted = session.scalar(select(SyncState.last_sync_at).where(SyncState.id == 1))
    age = (app.config["CLOCK"]() - attempted).total_seconds() if attempted else None
    if age is None or age > max_age:
        raise click.ClickException(f"no sync attempt in the last {max_age:.0f} s (last: {attempted})")
    click.echo(f"kpi: last sync attempt {age:.0f} s ago", err=True)


if __name__ == "__main__":
    sys.exit(cli())
