"""The OpenAPI-documented API object each service builds on."""

from __future__ import annotations

import flask_smorest
from flask import Flask, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from webargs.flaskparser import FlaskParser

from shared.errors import ProblemApi, register_error_handlers


class Blueprint(flask_smorest.Blueprint):
    """A smorest blueprint that refuses unknown query parameters as it refuses unknown body fields."""

    # unknown=None lets each schema's Meta (RAISE) decide; webargs would silently drop them.
    ARGUMENTS_PARSER = FlaskParser(unknown=None)


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
    api = ProblemApi(app)
    app.add_url_rule(
        "/docs/static/<path:filename>",
        endpoint="swagger_ui_static",
        view_func=lambda filename: send_from_directory(swagger_ui_path, filename),
    )
    register_error_handlers(app)
    return api
