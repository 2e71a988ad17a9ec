"""The commands every service has, built once: `run` (development), `serve` and `migrate`.

Each service's `__main__` adds its own commands to the group this returns. A setting that is
missing or malformed ends any command with one line naming it, not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask

from shared import migrations
from shared.server import serve_service
from shared.settings import SettingsError


def app_of(create_app: Callable[[], Flask]) -> Flask:
    try:
        return create_app()
    except SettingsError as error:
        raise click.ClickException(f"cannot start: {error}") from None


def service_cli(
    name: str,
    create_app: Callable[[], Flask],
    service_dir: Path,
    *,
    scheduler: bool = False,
    prepare: Callable[[Flask], None] | None = None,
) -> click.Group:
    """The service's command group. `prepare(app)` runs after the migrations of `migrate` and `run`
    (intake records its installation and the tokens a deployment hands over)."""

    def migrated() -> Flask:
        app = app_of(create_app)
        migrations.upgrade(service_dir, app.config["DATABASE_URL"])
        if prepare is not None:
            prepare(app)
        return app

    @click.group(name=name, invoke_without_command=True, help=f"The DGBV {name} service.")
    @click.pass_context
    def cli(ctx):
        if ctx.invoked_subcommand is None:
            ctx.invoke(run)

    @cli.command()
    def migrate():
        """Apply pending database migrations."""
        migrated()
        click.echo(f"{name}: database is up to date", err=True)

    @cli.command()
    def run():
        """Development: migrate, then serve (with the scheduler beside it, as a child process)."""
        serve_service(migrated(), name, scheduler=scheduler)

    @cli.command("serve")
    def serve_command():
        """Serve the web app only (no migrations, no scheduler)."""
        serve_service(app_of(create_app), name)

    return cli
