"""The intake API's blueprints and what their views share."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import abort

from services.intake import idempotency
from services.intake.reports import Rules
from shared.api import Blueprint
from shared.auth import authenticate_request, authorize_request
from shared.catalog import Catalog


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint under /api/v1 whose every route needs a bearer token."""
    blueprint = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
    blueprint.before_request(authenticate_request)
    blueprint.before_request(authorize_request)
    blueprint.before_request(require_declared_media_type)
    blueprint.before_request(idempotency.replay_if_seen)
    return blueprint


def require_declared_media_type():
    """Refuse bodies of another media type: webargs would read a form post as an empty JSON object."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    view_class = getattr(current_app.view_functions.get(request.endpoint), "view_class", None)
    accepted = getattr(view_class, "body_media_types", ("application/json",))
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding") == "chunked"
    if not has_body:
        if request.method == "PUT":
            abort(400, message=f"A request body ({', '.join(accepted)}) is required.")
        return
    if request.mimetype not in accepted:
        abort(
            415,
            message=f"Send the body as {' or '.join(accepted)}, not {request.mimetype or 'an unnamed type'}.",
        )


def current_catalog() -> Catalog:
    return current_app.extensions["catalog"]


def now():
    return current_app.config["CLOCK"]()


def current_rules() -> Rules:
    config = current_app.config
    return Rules(current_catalog(), config["REPORT_DUE_DAYS"], config["REPORT_LOCK_DAYS"], now())
