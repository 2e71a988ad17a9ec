"""The intake API's blueprints."""

from __future__ import annotations

from services.intake import idempotency
from shared.api import api_blueprint as shared_api_blueprint


def api_blueprint(name: str, import_name: str, description: str):
    """The shared API blueprint, plus replays of POSTs retried with the same Idempotency-Key."""
    return shared_api_blueprint(name, import_name, description, idempotency.replay_if_seen)
