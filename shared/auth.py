"""Roles, the signed-in principal and the checks every service applies to requests.

Intake resolves bearer tokens from its own table; kpi and notify ask intake
through its introspection endpoint (see shared.introspection).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from flask import current_app, g, request
from flask_smorest import abort


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    BUREAU = "bureau"
    STATISTICS = "statistics"
    VIEWER = "viewer"
    SERVICE = "service"


ALL_ROLES = frozenset(Role)
# Case records concern victims of sexual violence: only these roles may read them.
CASE_READERS = frozenset({Role.ADMIN, Role.STATISTICS, Role.SERVICE})
# Counts of case records below the catalog's small-cell threshold are withheld from everyone by
# default; these roles (the police statistics unit, which publishes Tables 1-3) may ask for them.
EXACT_COUNT_READERS = frozenset({Role.ADMIN, Role.STATISTICS})


@dataclass(frozen=True)
class Principal:
    """Who is making the request."""

    subject: str  # token id or user name: never the secret itself
    name: str
    role: Role
    bureau: str | None = None

    def may_act_for(self, bureau: str) -> bool:
        """Bureau principals act only for their own bureau; other roles are not bound."""
        return self.role != Role.BUREAU or self.bureau == bureau


TokenResolver = Callable[[str], Principal | None]


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_request() -> None:
    """Require a valid bearer token (a before_request hook for API blueprints)."""
    token = bearer_token()
    if token is None:
        abort(401, message="Authentication is required: send 'Authorization: Bearer <token>'.")
    resolver: TokenResolver = current_app.extensions["token_resolver"]
    principal = resolver(token)
    if principal is None:
        abort(401, message="The bearer token is invalid, expired or revoked.")
    g.principal = principal


def authorize_request() -> None:
    """Refuse (403) a role the view does not list; a view that lists none is closed to all."""
    if request.method == "OPTIONS":
        return
    view = current_app.view_functions.get(request.endpoint)
    method = "get" if request.method == "HEAD" else request.method.lower()
    handler = getattr(getattr(view, "view_class", None), method, view)
    allowed = getattr(handler, "allowed_roles", frozenset())
    if g.principal.role not in allowed:
        abort(403, message=f"The role '{g.principal.role}' may not do this.")


def current_principal() -> Principal:
    return g.principal


def require_roles(*roles: Role):
    """Refuse (403) a signed-in principal whose role is not listed."""
    allowed = frozenset(roles)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = g.get("principal")
            if principal is None:
                abort(401)
            if principal.role not in allowed:
                abort(403, message=f"The role '{principal.role}' may not do this.")
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed
        return wrapper

    return decorator
