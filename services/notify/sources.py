"""The facts notify acts on: the KPI service's API and intake's reports and bureau directory.

Every call is a plain authenticated GET; a source that cannot answer raises
SourceUnavailable, so an evaluation or a re-check fails loudly instead of acting
on missing data.
"""

from __future__ import annotations

import requests


class SourceUnavailable(Exception):
    """A source could not be asked, or did not answer as agreed."""


class Sources:
    """HTTP clients of intake and kpi, with the service token notify holds."""

    def __init__(self, intake_url: str, kpi_url: str, token: str, timeout: float = 10.0):
        self.intake_url = intake_url.rstrip("/")
        self.kpi_url = kpi_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"Bearer {token}"

    def _get(
        self,
        base: str,
        path: str,
        params: dict | None = None,
        missing_ok: bool = False,
        extra_time: float = 0,
    ):
        url = f"{base}/api/v1{path}"
        try:
            response = self._http.get(url, params=params, timeout=self.timeout + extra_time)
        except requests.RequestException as error:
            raise SourceUnavailable(f"GET {url}: {type(error).__name__}: {error}") from None
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SourceUnavailable(f"GET {url} answered {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise SourceUnavailable(f"GET {url} did not answer JSON") from None

    # -- intake ------------------------------------------------------------------
    def bureaus(self) -> list[dict]:
        """The bureau directory: [{"id", "name", "name_en", "contacts": [{"email", "name"}]}]."""
        return self._get(self.intake_url, "/bureaus")

    def returned_reports(self) -> list[dict]:
        """Every report currently returned to its bureau."""
        return self._get(self.intake_url, "/reports", {"status": "returned"})

    def report(self, bureau: str, year: int, quarter: int) -> dict | None:
        """A report with its history, or None if the bureau has not started it."""
        return self._get(self.intake_url, f"/reports/{bureau}/{year}/{quarter}", missing_ok=True)

    def changes(self, after: int, limit: int, wait: int = 0) -> dict:
        """A page of intake's change feed: {"changes": [...], "next_cursor", "has_more"}. With `wait`,
        intake holds an empty answer up to that many seconds, until a change commits (a long poll)."""
        params = {"after": after, "limit": limit}
        if wait:
            params["wait"] = wait
        return self._get(self.intake_url, "/changes", params, extra_time=wait)

    # -- kpi ---------------------------------------------------------------------
    def compliance(self, year: int, quarter: int) -> dict | None:
        """Who submitted the quarter's report and when; None if kpi does not track the quarter
        (kpi tracks every quarter from the deployment's first to the one that has just ended)."""
        return self._get(self.kpi_url, "/compliance", {"year": year, "quarter": quarter}, missing_ok=True)

    def compliance_of_every_quarter(self) -> list[dict]:
        """The compliance summary (expected, submitted) of every quarter kpi tracks, oldest first."""
        return self._get(self.kpi_url, "/compliance/all")

    def progress(self, year: int, quarter: int, bureau: str | None = None) -> dict | None:
        """Year-to-date progress of every action; None if kpi does not track the quarter."""
        params = {"year": year, "quarter": quarter}
        if bureau:
            params["bureau"] = bureau
        return self._get(self.kpi_url, "/progress", params, missing_ok=True)

    def indicators(self, year: int | None = None) -> list[dict]:
        """The outcome indicators of a year (default: kpi's current year) with kpi's verdict."""
        params = {"year": year} if year is not None else None
        return self._get(self.kpi_url, "/indicators", params, missing_ok=True) or []

    def kpi_status(self) -> dict:
        """How fresh kpi's copy of intake's data is."""
        return self._get(self.kpi_url, "/status")
