"""The notify API's blueprints and what their views share."""

from __future__ import annotations

from flask import current_app

from services.notify.service import Notifier
from shared.auth import Role

MANAGERS = (Role.ADMIN, Role.COORDINATOR)


def current_notifier() -> Notifier:
    return current_app.extensions["notifier"]


def now():
    return current_app.config["CLOCK"]()
