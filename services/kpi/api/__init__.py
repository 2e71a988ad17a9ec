"""The KPI API's blueprints and what their views share."""

from __future__ import annotations

from flask import current_app

from shared.api import Blueprint
from shared.auth import authenticate_request, authorize_request
from shared.catalog import Catalog


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint under /api/v1: every route needs a bearer token issued by intake and a listed role."""
    blueprint = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
    blueprint.before_request(authenticate_request)
    blueprint.before_request(authorize_request)
    return blueprint


def current_catalog() -> Catalog:
    return current_app.extensions["catalog"]


def now():
    return current_app.config["CLOCK"]()
