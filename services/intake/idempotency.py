"""Idempotency-Key for POSTs: a retried request returns the first answer instead of applying twice.

The answer is stored in the request's own transaction, so it is committed with the change or not
at all: a client that got a 503, or no answer, retries with the same key and gets the first answer
if the change was committed, or has it applied now if it was not. Answers are kept for
IDEMPOTENCY_HOURS, then purged. An answer holding a secret (a minted token) is never kept: its view
says what a retry answers instead (`replay_as_problem`).
"""

from __future__ import annotations

import hashlib
import re

from flask import Flask, Response, current_app, g, request
from flask_smorest import abort
from sqlalchemy import select

from services.intake.models import IdempotentRequest
from shared.db import get_session, purge
from shared.errors import PROBLEM_CONTENT_TYPE, problem_response

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.full_path, request.mimetype):
        digest.update(part.encode() + b"\0")
    if request.mimetype == "multipart/form-data":
        # A retried upload of the same file comes with another boundary: compare what it carries.
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(f"{name}={value}".encode() + b"\0")
        for name, upload in sorted(request.files.items(multi=True)):
            digest.update(f"{name}:{upload.filename}".encode() + b"\0" + upload.read() + b"\0")
            upload.stream.seek(0)
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _expired_before():
    return current_app.config["CLOCK"]() - current_app.config["IDEMPOTENCY_TTL"]


def replay_if_seen():
    """Answer a repeated key with the stored response (a before_request hook)."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not _KEY.match(key):
        abort(400, message=f"{HEADER} must be 1-255 visible ASCII characters.")
    fingerprint = _fingerprint()
    session = get_session()
    stored = session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.principal == g.principal.subject, IdempotentRequest.key == key
        )
    )
    if stored is not None and stored.created_at <= _expired_before():
        session.delete(stored)  # kept long enough: the key is new again
        session.flush()
        stored = None
    if stored is None:
        g.idempotency = (key, fingerprint)
        return None
    if stored.fingerprint != fingerprint:
        abort(422, message=f"This {HEADER} was already used for a different request.")
    mimetype = PROBLEM_CONTENT_TYPE if stored.status >= 400 else "application/json"
    response = Response(stored.body, status=stored.status, mimetype=mimetype)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def replay_as_problem(status: int, detail: str) -> None:
    """What a retry with this request's key answers instead of this answer, which holds a secret."""
    if "idempotency" in g:
        g.idempotent_replay = (status, problem_response(status, detail).get_data(as_text=True))


def _store_successful(response):
    pending = g.pop("idempotency", None)
    if pending and 200 <= response.status_code < 300:
        key, fingerprint = pending
        status, body = g.pop("idempotent_replay", None) or (
            response.status_code,
            response.get_data(as_text=True),
        )
        session = get_session()
        purge(session, IdempotentRequest, IdempotentRequest.created_at <= _expired_before())
        session.add(
            IdempotentRequest(
                principal=g.principal.subject,
                key=key,
                fingerprint=fingerprint,
                status=status,
                body=body,
                created_at=current_app.config["CLOCK"](),
            )
        )
    return response


def init_app(app: Flask) -> None:
    """Register after shared.db.init_app: after_request hooks run in reverse, so this runs before the commit."""
    app.after_request(_store_successful)
