"""The intake API's blueprints and what their views share."""

from __future__ import annotations

from flask import current_app

from services.intake import idempotency
from services.intake.reports import Rules
from shared.api import Blueprint
from shared.auth import authenticate_request
from shared.catalog import Catalog


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint under /api/v1 whose every route needs a bearer token."""
    blueprint = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
    blueprint.before_request(authenticate_request)
    blueprint.before_request(idempotency.replay_if_seen)
    return blueprint


def current_catalog() -> Catalog:
    return current_app.extensions["catalog"]


def now():
    return current_app.config["CLOCK"]()


def current_rules() -> Rules:
    config = current_app.config
    return Rules(current_catalog(), config["REPORT_DUE_DAYS"], config["REPORT_LOCK_DAYS"], now())
