"""Verify bearer tokens with intake's introspection endpoint (RFC 7662 style), with a short cache."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

import requests
from cachetools import TTLCache

from shared.auth import Principal, Role
from shared.errors import DomainError


class AuthUnavailable(DomainError):
    """Intake cannot be asked, so no token can be verified: retry later."""

    status = 503


class IntrospectionResolver:
    """A token resolver for kpi and notify: asks intake, remembers the answer for `ttl` seconds.

    A revoked token therefore stops working within `ttl` seconds everywhere.
    """

    def __init__(
        self,
        intake_url: str,
        service_token: str,
        ttl: float = 30.0,
        timeout: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
    ):
        self.url = intake_url.rstrip("/") + "/api/v1/tokens/introspect"
        self.service_token = service_token
        self.timeout = timeout
        # Keyed by the token's digest, never the secret; the oldest answers go first when full.
        self._cache: TTLCache[str, Principal | None] = TTLCache(maxsize=10_000, ttl=ttl, timer=timer)
        self._lock = threading.Lock()
        self._http = requests.Session()

    def __call__(self, token: str) -> Principal | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        principal = self._ask(token)
        with self._lock:
            self._cache[key] = principal
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
