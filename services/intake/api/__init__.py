"""The intake API's blueprints and what their views share."""

from __future__ import annotations

from flask import current_app

from services.intake import idempotency
from services.intake.reports import Rules
from shared.api import api_blueprint as shared_api_blueprint
from shared.catalog import Catalog


def api_blueprint(name: str, import_name: str, description: str):
    """The shared API blueprint, plus replays of POSTs retried with the same Idempotency-Key."""
    return shared_api_blueprint(name, import_name, description, idempotency.replay_if_seen)


def current_catalog() -> Catalog:
    return current_app.extensions["catalog"]


def now():
    return current_app.config["CLOCK"]()


def current_rules() -> Rules:
    config = current_app.config
    return Rules(current_catalog(), config["REPORT_DUE_DAYS"], config["REPORT_LOCK_DAYS"], now())
