"""The OpenAPI-documented API object each service builds on."""

from __future__ import annotations

import re

import flask_smorest
from flask import Flask, current_app, request, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from webargs.flaskparser import FlaskParser

from shared.auth import authenticate_request, authorize_request
from shared.errors import ProblemApi, register_error_handlers
from shared.routing import CONVERTERS


class Blueprint(flask_smorest.Blueprint):
    """A smorest blueprint that refuses unknown query parameters as it refuses unknown body fields."""

    # unknown=None lets each schema's Meta (RAISE) decide; webargs would silently drop them.
    ARGUMENTS_PARSER = FlaskParser(unknown=None)


def api_blueprint(name: str, import_name: str, description: str, *hooks) -> Blueprint:
    """A blueprint under /api/v1: every route needs a bearer token (401), a listed role (403)
    and a body of the media type it declares (415; a view class's `body_media_types`, a tuple
    or one per method); `hooks` run after those checks."""
    blueprint = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
    for hook in (authenticate_request, authorize_request, require_declared_media_type, *hooks):
        blueprint.before_request(hook)
    return blueprint


def require_declared_media_type():
    """Refuse bodies of another media type: webargs would read a form post as an empty JSON object."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    view_class = getattr(current_app.view_functions.get(request.endpoint), "view_class", None)
    accepted = getattr(view_class, "body_media_types", ("application/json",))
    if isinstance(accepted, dict):  # one media type per method, e.g. PATCH's merge patch
        accepted = accepted.get(request.method, ("application/json",))
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding") == "chunked"
    if not has_body:
        if request.method in ("PUT", "PATCH"):
            flask_smorest.abort(400, message=f"A request body ({', '.join(accepted)}) is required.")
        return
    if request.mimetype not in accepted:
        flask_smorest.abort(
            415,
            message=f"Send the body as {' or '.join(accepted)}, not {request.mimetype or 'an unnamed type'}.",
        )


# No request body of these APIs nests deeper than 5 levels (a merge patch of one part of a metric
# counted by sex); Python's parser recurses once per level and fails at about a thousand.
MAX_JSON_DEPTH = 32
_JSON_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def json_depth(body: bytes) -> int:
    """How deeply a JSON document nests arrays and objects, read before it is parsed."""
    depth = deepest = 0
    for bracket in _JSON_STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def refuse_deep_json():
    """Refuse a JSON body nested deeper than MAX_JSON_DEPTH before any parser recurses into it."""
    if request.is_json and json_depth(request.get_data(cache=True)) > MAX_JSON_DEPTH:
        flask_smorest.abort(400, message=f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")


def init_api(app: Flask, title: str, description: str) -> ProblemApi:
    """Create the service's Api: OpenAPI 3 at /openapi.json, Swagger UI at /docs."""
    app.config.setdefault("API_TITLE", title)
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    # Served from the installed bundle, so the docs work without internet access.
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/docs/static/")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {"description": description},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    for name, (converter, _) in CONVERTERS.items():
        app.url_map.converters[name] = converter
    api = ProblemApi(app)
    for converter, schema in CONVERTERS.values():
        api.register_converter(converter, lambda _, schema=schema: schema)
    app.add_url_rule(
        "/docs/static/<path:filename>",
        endpoint="swagger_ui_static",
        view_func=lambda filename: send_from_directory(swagger_ui_path, filename),
    )
    register_error_handlers(app)
    app.before_request(refuse_deep_json)
    return api
