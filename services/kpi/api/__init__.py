"""The KPI API's blueprints and what their views share."""

from __future__ import annotations

from flask import current_app

from shared.catalog import Catalog


def current_catalog() -> Catalog:
    return current_app.extensions["catalog"]


def now():
    return current_app.config["CLOCK"]()
