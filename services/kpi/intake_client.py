"""The client side of intake's change feed: timeouts, retries with backoff, a service token."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class SourceUnavailable(Exception):
    """Intake could not be read: down, unreachable, or refusing the service token."""


@dataclass(frozen=True)
class Page:
    changes: list[dict]
    next_cursor: int
    has_more: bool


class IntakeFeed:
    """Reads `GET /api/v1/changes?after=<cursor>&limit=<n>[&wait=<seconds>]` from intake."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        page_size: int = 500,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
    ):
        self.url = base_url.rstrip("/") + "/api/v1/changes"
        self.page_size = page_size
        self.timeout = (min(timeout, 5.0), timeout)  # (connect, read)
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        retry = Retry(
            total=retries,
            backoff_factor=backoff,
            backoff_max=30,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=False,  # the next scheduled run is the real retry
            raise_on_status=False,
        )
        self._http = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)

    @classmethod
    def from_config(cls, config) -> IntakeFeed:
        return cls(
            config["INTAKE_URL"],
            config["INTAKE_TOKEN"],
            page_size=config["SYNC_PAGE_SIZE"],
            timeout=config["SYNC_TIMEOUT_SECONDS"],
            retries=config["SYNC_RETRIES"],
            backoff=config["SYNC_BACKOFF_SECONDS"],
        )

    def page(self, after: int, wait: int = 0) -> Page:
        """The changes after the cursor, oldest first; with `wait`, intake holds an empty answer
        for up to that many seconds, until a change commits (a long poll)."""
        params = {"after": after, "limit": self.page_size}
        if wait:
            params["wait"] = wait
        connect, read = self.timeout
        try:
            response = self._http.get(
                self.url, params=params, headers=self._headers, timeout=(connect, read + wait)
            )
        except requests.RequestException as error:
            raise SourceUnavailable(f"intake cannot be reached ({type(error).__name__})") from None
        if response.status_code != 200:
            detail = ""
            if response.headers.get("Content-Type", "").startswith("application/problem+json"):
                detail = ": " + str(response.json().get("detail", ""))
            raise SourceUnavailable(f"intake answered {response.status_code}{detail}")
        try:
            body = response.json()
            return Page(list(body["changes"]), int(body["next_cursor"]), bool(body["has_more"]))
        except (ValueError, KeyError, TypeError):
            raise SourceUnavailable("intake's change feed answered something unreadable") from None

    def close(self) -> None:
        self._http.close()
