"""Verify bearer tokens with intake's introspection endpoint (RFC 7662 style), with a short cache.

An answer is fresh for INTROSPECTION_TTL_SECONDS: a revoked token stops within that time while
intake answers. While intake cannot be reached, an answer is still taken for
INTROSPECTION_STALE_SECONDS more, so kpi and notify keep serving the people who were using them
through a brief outage of intake; a token not checked within that time gets 503.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests
from cachetools import TTLCache

from shared.auth import Principal, Role
from shared.errors import DomainError
from shared.settings import Setting, number

SETTINGS = (
    # A revoked token keeps working in kpi or notify for at most this long while intake answers.
    Setting("INTROSPECTION_TTL_SECONDS", number(0), 30.0),
    # While intake cannot be reached, an answer is taken this long after it stopped being fresh.
    Setting("INTROSPECTION_STALE_SECONDS", number(0), 600.0),
)


class AuthUnavailable(DomainError):
    """Intake cannot be asked, so no token can be verified: retry later."""

    status = 503


@dataclass(frozen=True)
class _Answer:
    principal: Principal | None
    fresh_until: float


class IntrospectionResolver:
    """A token resolver for kpi and notify: asks intake, and takes its answer for `ttl` seconds
    without asking again; for `stale` seconds more only while intake cannot be reached.

    A revoked token therefore stops working within `ttl` seconds everywhere while intake is up, and
    within `ttl + stale` seconds at worst.
    """

    def __init__(
        self,
        intake_url: str,
        service_token: str,
        ttl: float = 30.0,
        stale: float = 600.0,
        timeout: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
    ):
        self.url = intake_url.rstrip("/") + "/api/v1/tokens/introspect"
        self.service_token = service_token
        self.ttl, self.stale = ttl, stale
        self.timeout = timeout
        self._timer = timer
        # Keyed by the token's digest, never the secret; the oldest answers go first when full.
        self._cache: TTLCache[str, _Answer] = TTLCache(maxsize=10_000, ttl=ttl + stale, timer=timer)
        self._lock = threading.Lock()
        self._http = requests.Session()

    def __call__(self, token: str) -> Principal | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            known = self._cache.get(key)
        if known is not None and self._timer() < known.fresh_until:
            return known.principal
        try:
            principal = self._ask(token)
        except AuthUnavailable:
            if known is None:
                raise
            return known.principal  # intake is away: its recent answer stands, for `stale` at most
        with self._lock:
            self._cache[key] = _Answer(principal, self._timer() + self.ttl)
        return principal

    def _ask(self, token: str) -> Principal | None:
        try:
            response = self._http.post(
                self.url,
                json={"token": token},
                headers={"Authorization": f"Bearer {self.service_token}"},
                timeout=self.timeout,
            )
        except requests.RequestException:
            raise AuthUnavailable(
                "The identity service (intake) cannot be reached; try again shortly."
            ) from None
        if response.status_code != 200:
            raise AuthUnavailable(f"The identity service answered {response.status_code}; try again shortly.")
        answer = response.json()
        if not answer.get("active"):
            return None
        return Principal(
            subject=answer["sub"], name=answer["name"], role=Role(answer["role"]), bureau=answer.get("bureau")
        )


def resolver_for(config: Mapping) -> IntrospectionResolver:
    """The resolver of a service that knows intake by INTAKE_URL and INTAKE_TOKEN."""
    return IntrospectionResolver(
        config["INTAKE_URL"],
        config["INTAKE_TOKEN"],
        ttl=config["INTROSPECTION_TTL_SECONDS"],
        stale=config["INTROSPECTION_STALE_SECONDS"],
    )
