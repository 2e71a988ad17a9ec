"""Idempotency-Key for POSTs: a retried request returns the first answer instead of applying twice."""

from __future__ import annotations

import hashlib
import re

from flask import Flask, Response, current_app, g, request
from flask_smorest import abort
from sqlalchemy import select

from services.intake.models import IdempotentRequest
from shared.db import get_session

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.full_path, request.content_type or ""):
        digest.update(part.encode() + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def replay_if_seen():
    """Answer a repeated key with the stored response (a before_request hook)."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not _KEY.match(key):
        abort(400, message=f"{HEADER} must be 1-255 visible ASCII characters.")
    fingerprint = _fingerprint()
    stored = get_session().scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.principal == g.principal.subject, IdempotentRequest.key == key
        )
    )
    if stored is None:
        g.idempotency = (key, fingerprint)
        return None
    if stored.fingerprint != fingerprint:
        abort(422, message=f"This {HEADER} was already used for a different request.")
    response = Response(stored.body, status=stored.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _store_successful(response):
    pending = g.pop("idempotency", None)
    if pending and 200 <= response.status_code < 300:
        key, fingerprint = pending
        get_session().add(
            IdempotentRequest(
                principal=g.principal.subject,
                key=key,
                fingerprint=fingerprint,
                status=response.status_code,
                body=response.get_data(as_text=True),
                created_at=current_app.config["CLOCK"](),
            )
        )
    return response


def init_app(app: Flask) -> None:
    """Register after shared.db.init_app: after_request hooks run in reverse, so this runs before the commit."""
    app.after_request(_store_successful)
