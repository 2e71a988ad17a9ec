"""The notify API's blueprints and what their views share."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from services.notify.service import Notifier
from shared.auth import Role, authenticate_request

MANAGERS = (Role.ADMIN, Role.COORDINATOR)


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint under /api/v1 whose every route needs a bearer token."""
    blueprint = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
    blueprint.before_request(authenticate_request)
    return blueprint


def current_notifier() -> Notifier:
    return current_app.extensions["notifier"]


def now():
    return current_app.config["CLOCK"]()
