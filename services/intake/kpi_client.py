"""kpi's judgements, read over HTTP for the quarterly report: intake keeps the reports, kpi judges them.

Every call is an authenticated GET with a timeout. kpi checks the token by asking intake back
(shared/introspection.py), so intake's server must have a free thread for that while a page waits
here: the development server and gunicorn both run threads (`shared/server.py`, `gunicorn_conf.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests


class KpiUnavailable(Exception):
    """kpi could not be asked, or did not answer as agreed; `reason` says which, in Chinese."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class KpiClient:
    """A client of kpi's API with the service token intake holds."""

    url: str
    token: str
    timeout: float = 10.0

    def __post_init__(self):
        self.url = self.url.rstrip("/")
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"Bearer {self.token}"

    @property
    def address(self) -> str:
        """Where kpi is, for a message: host and port, never the token."""
        return urlsplit(self.url).netloc

    def get(self, path: str, params: dict | None = None, *, missing_ok: bool = False):
        """GET /api/v1<path> as JSON; None for a 404 when `missing_ok` (a quarter kpi does not track)."""
        try:
            response = self._http.get(f"{self.url}/api/v1{path}", params=params, timeout=self.timeout)
        except requests.Timeout:
            raise KpiUnavailable(
                f"成效統計服務（kpi，{self.address}）在 {self.timeout:g} 秒內沒有回應"
            ) from None
        except requests.RequestException:
            raise KpiUnavailable(f"無法連線到成效統計服務（kpi，{self.address}）") from None
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise KpiUnavailable(
                f"成效統計服務（kpi）不接受本系統的服務權杖（HTTP {response.status_code}），請確認 INTAKE_TOKEN 設定"
            )
        if response.status_code != 200:
            raise KpiUnavailable(f"成效統計服務（kpi）回應錯誤（HTTP {response.status_code}）")
        try:
            return response.json()
        except ValueError:
            raise KpiUnavailable("成效統計服務（kpi）的回應不是 JSON") from None

    def close(self) -> None:
        self._http.close()


def client_for(config) -> KpiClient | None:
    """The app's kpi client, or None when KPI_URL or a token is not set."""
    token = config.get("KPI_TOKEN") or config.get("SERVICE_TOKEN")
    if not config.get("KPI_URL") or not token:
        return None
    return KpiClient(config["KPI_URL"], token, config["KPI_TIMEOUT"])
