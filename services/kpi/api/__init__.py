"""The KPI API's blueprints and what their views share."""

from __future__ import annotations

from flask import current_app

from shared.auth import EXACT_COUNT_READERS, Role, current_principal
from shared.catalog import Catalog, Disclosure
from shared.errors import Forbidden


def current_catalog() -> Catalog:
    return current_app.extensions["catalog"]


def now():
    return current_app.config["CLOCK"]()


def disclosure_rule(query: dict) -> Disclosure | None:
    """The small-cell rule a view applies to counts of case records; None for exact counts, which
    only the statistics unit and admins get, and only when they ask (`exact=true`)."""
    if not query.get("exact"):
        return current_catalog().disclosure
    if current_principal().role not in EXACT_COUNT_READERS:
        raise Forbidden(
            "Exact counts of case records are for the statistics unit and admins: ask without "
            f"exact=true to read them with counts under {current_catalog().disclosure.min_cell} withheld."
        )
    return None


def own_bureau() -> str | None:
    """The bureau a bureau token is bound to (it sees that bureau's figures and city-wide totals
    only); None for every other role."""
    principal = current_principal()
    return principal.bureau if principal.role == Role.BUREAU else None
