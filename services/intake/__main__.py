"""Command line of the intake service: `python -m services.intake [serve|migrate|mint-token|...]`."""

from __future__ import annotations

import datetime as dt
import sys

import click
from marshmallow import ValidationError
from sqlalchemy import select

from services.intake import SERVICE_DIR, create_app, installation, tokens, users
from services.intake.models import ApiToken
from services.intake.schemas import UserInputSchema
from shared import migrations
from shared.catalog import default_catalog
from shared.cli import app_of, service_cli
from shared.errors import DomainError
from shared.periods import Quarter


def _app():
    return app_of(create_app)


def _prepare(app) -> None:
    """After the migrations: record when this deployment was installed (the first time), and
    register the tokens a deployment hands over."""
    with app.extensions["database"].transaction() as session:
        found = installation.record_if_new(session, app.extensions["catalog"], app.config["CLOCK"]())
        first = Quarter.parse(found.first_quarter)
    click.echo(f"intake: tracking reports from {first.label_zh} ({first})", err=True)
    _register_given_tokens(app)
    if not app.config.get("ADMIN_TOKEN"):
        click.echo(
            "intake: get an admin token with: .venv/bin/python -m services.intake mint-token --role admin --name me",
            err=True,
        )
    if not app.config.get("SECRET_KEY"):
        click.echo("intake: SECRET_KEY is not set, so the web pages answer 503 (the API works)", err=True)


def _register_given_tokens(app) -> None:
    """Register the tokens a deployment hands over in the environment (admin, and kpi/notify's
    service), retiring those the variables held before."""
    given = [
        ("ADMIN_TOKEN", "INTAKE_ADMIN_TOKEN", "admin", "admin (INTAKE_ADMIN_TOKEN)"),
        ("SERVICE_TOKEN", "INTAKE_SERVICE_TOKEN", "service", "services (INTAKE_SERVICE_TOKEN)"),
    ]
    with app.extensions["database"].transaction() as session:
        for setting, variable, role, name in given:
            notes = tokens.hand_over(
                session,
                origin=variable,
                secret=app.config.get(setting),
                name=name,
                role=role,
                now=dt.datetime.now(dt.UTC),
            )
            for note in notes:
                click.echo(f"intake: {note}", err=True)


cli = service_cli("intake", create_app, SERVICE_DIR, prepare=_prepare)


@cli.command("installed-on")
@click.argument("day", required=False, type=click.DateTime(formats=["%Y-%m-%d"]))
def installed_on(day):
    """Set the day this deployment was installed: it tracks reports from its first full quarter.
    Without DAY: it holds the plan's whole history, from the plan's first quarter."""
    app = _app()
    migrations.upgrade(SERVICE_DIR, app.config["DATABASE_URL"])
    with app.extensions["database"].transaction() as session:
        found = installation.set_installed_on(
            session, app.extensions["catalog"], day.date() if day else None, app.config["CLOCK"]()
        )
        first = Quarter.parse(found.first_quarter)
    click.echo(f"intake: tracking reports from {first.label_zh} ({first})", err=True)


@cli.command("mint-token")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "coordinator", "bureau", "statistics", "viewer", "service"]),
)
@click.option("--name", required=True, help="Who or what the token is for.")
@click.option("--bureau", default=None, help="The bureau of a bureau token.")
def mint_token(role, name, bureau):
    """Mint a token and print its secret (shown only once)."""
    app = _app()
    try:
        with app.extensions["database"].transaction() as session:
            token, secret = tokens.mint_token(
                session,
                default_catalog(),
                name=name,
                role=role,
                bureau=bureau,
                created_by="cli",
                now=dt.datetime.now(dt.UTC),
            )
    except (tokens.TokenError, KeyError) as error:
        raise click.ClickException(f"cannot mint token: {error}") from None
    click.echo(f"token {token.id} ({role}{'/' + bureau if bureau else ''}) for {name}:", err=True)
    click.echo(secret)


@cli.command("create-user")
@click.option("--username", required=True, help="The sign-in name (case-insensitive).")
@click.option("--role", required=True, type=click.Choice([r.value for r in users.USER_ROLES]))
@click.option("--bureau", default=None, help="The bureau of a bureau user, e.g. police.")
@click.option("--name", default=None, help="The name shown in report histories.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for (hidden) when not given.",
)
def create_user(username, role, bureau, name, password):
    """Create a user of the web pages."""
    try:
        body = UserInputSchema().load(
            {"username": username, "role": role, "bureau": bureau, "name": name, "password": password}
        )
    except ValidationError as error:
        raise click.ClickException(f"cannot create user: {error.messages}") from None
    app = _app()
    try:
        with app.extensions["database"].transaction() as session:
            user = users.create_user(
                session, default_catalog(), created_by="cli", now=dt.datetime.now(dt.UTC), **body
            )
    except DomainError as error:
        raise click.ClickException(f"cannot create user: {error.detail}") from None
    click.echo(f"user {user.username} ({role}{'/' + bureau if bureau else ''}) created", err=True)


@cli.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token(token_id):
    """Revoke a token by its id."""
    app = _app()
    with app.extensions["database"].transaction() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.id == token_id))
        if token is None:
            raise click.ClickException(f"no token {token_id}")
        token.revoked_at = token.revoked_at or dt.datetime.now(dt.UTC)
    click.echo(f"token {token_id} revoked", err=True)


@cli.command("demo-data")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed and --until, same data.")
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Simulate up to this day (not included); default: today in Taipei.",
)
@click.option("--if-empty", is_flag=True, help="Succeed without loading when the database holds data.")
def demo_data(seed, until, if_empty):
    """Fill an empty database with seeded demo data, marked DEMO-/【示範資料】/示範資料產生器."""
    from services.intake import demo
    from shared.periods import TAIPEI

    app = _app()
    migrations.upgrade(SERVICE_DIR, app.config["DATABASE_URL"])
    day = until.date() if until else app.config["CLOCK"]().astimezone(TAIPEI).date()
    try:
        summary = demo.generate(
            app.extensions["database"],
            app.extensions["catalog"],
            seed=seed,
            until=day,
            progress=lambda text: click.echo(f"demo-data: {text}", err=True),
        )
    except demo.NotEmpty as error:
        if if_empty:
            click.echo("demo-data: the database already holds data; nothing loaded", err=True)
            return
        raise click.ClickException(str(error)) from None
    except demo.DistributionsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"demo-data: loaded (seed {seed}, until {day}): {summary}", err=True)


if __name__ == "__main__":
    sys.exit(cli())
