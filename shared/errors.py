"""RFC 9457 problem details for every error a service returns."""

from __future__ import annotations

import http
import logging

import marshmallow as ma
from flask import Flask, current_app, json, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from shared.db import log_failure

PROBLEM_CONTENT_TYPE = "application/problem+json"
log = logging.getLogger(__name__)

# Readable details for errors raised by Flask or werkzeug themselves.
DEFAULT_DETAILS = {
    400: "The request could not be understood.",
    401: "Authentication is required: send a valid bearer token.",
    403: "Your role may not do this.",
    404: "No such resource.",
    405: "This method is not allowed here.",
    409: "The request conflicts with the current state; reload and try again.",
    412: "The resource changed since you read it: read it again, then retry with its new ETag.",
    413: "The request body is too large.",
    415: "Unsupported content type.",
    422: "The request was well-formed but its content is invalid.",
    428: "This write needs If-Match with the ETag of what you read.",
    429: "Too many requests; wait and try again.",
    500: "An internal error occurred; it has been logged.",
    503: "The service is temporarily unavailable; try again shortly.",
}


class DomainError(Exception):
    """A request the domain logic refuses; views need not catch it."""

    status = 422

    def __init__(self, detail: str, errors: dict | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers


class Invalid(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Forbidden(DomainError):
    status = 403


class PreconditionFailed(DomainError):
    """The writer saw another version than the current one (RFC 9110 If-Match)."""

    status = 412


class PreconditionRequired(DomainError):
    """A write that must say which version it saw, and did not (RFC 6585)."""

    status = 428


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document."""

    type = ma.fields.String(metadata={"description": "A URI reference identifying the problem type"})
    title = ma.fields.String(metadata={"description": "Short summary of the problem type"})
    status = ma.fields.Integer(metadata={"description": "The HTTP status code"})
    detail = ma.fields.String(metadata={"description": "Explanation of this occurrence"})
    instance = ma.fields.String(metadata={"description": "The request path"})
    errors = ma.fields.Dict(metadata={"description": "Field-level validation errors"})


def problem_response(status: int, detail: str | None = None, errors=None, headers=None, title=None):
    """Build a problem+json response."""
    from werkzeug.http import HTTP_STATUS_CODES

    body = {
        "type": "about:blank",
        "title": title or HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or DEFAULT_DETAILS.get(status, "The request failed."),
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _is_database_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, sa_exc.OperationalError | sa_exc.TimeoutError | sa_exc.DisconnectionError)


def _validation_detail(errors) -> str:
    """Summarise webargs' {location: {field: [messages]}} errors in one sentence."""
    fields = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, str(key)])
        elif isinstance(node, list) and node and all(isinstance(m, str) for m in node):
            fields.append(".".join(path[1:] or path) + ": " + " ".join(node))

    walk(errors, [])
    return "Invalid request: " + "; ".join(fields[:5]) if fields else DEFAULT_DETAILS[422]


class ProblemApi(Api):
    """flask-smorest's Api answering and documenting errors as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        """Document every error status as problem+json (flask-smorest says application/json)."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        """Turn aborts, validation errors and unexpected failures into problem+json."""
        if isinstance(error, InternalServerError):
            return handle_unexpected(error.original_exception or error)
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        detail = data.get("message")
        if errors and not detail:
            detail = _validation_detail(errors)
        if detail is None and error.description and error.code not in DEFAULT_DETAILS:
            detail = error.description
        headers = dict(data.get("headers") or {})
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        if error.code == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="dgbv"')
        return problem_response(error.code or 500, detail, errors, headers)


def handle_unexpected(error: BaseException):
    """Unavailable databases answer 503, conflicts 409, anything else 500 without a traceback."""
    if _is_database_unavailable(error):
        log.warning("database unavailable: %s", type(error).__name__)
        return problem_response(503, headers={"Retry-After": "5"})
    if isinstance(error, sa_exc.IntegrityError):
        return problem_response(409, "The record was changed by another request; try again.")
    log_failure(log, "unhandled error", error)
    return problem_response(500)


def register_error_handlers(app: Flask) -> None:
    """Route exceptions that escape views to problem+json responses."""
    app.register_error_handler(Exception, handle_unexpected)
    app.register_error_handler(
        DomainError,
        lambda error: problem_response(error.status, error.detail, error.errors, error.headers),
    )
