"""Settings of the KPI service, read from the environment."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

VAR_DIR = Path(os.environ.get("DGBV_VAR_DIR", "var"))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Config:
    """Defaults suit `make run`; INTAKE_URL and INTAKE_TOKEN have none: without them kpi cannot start."""

    SERVICE_NAME = "kpi"
    DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{(VAR_DIR / 'kpi.db').resolve()}"
    # Where intake is, and the service token kpi reads its change feed and introspects tokens with.
    INTAKE_URL = os.environ.get("INTAKE_URL")
    INTAKE_TOKEN = os.environ.get("INTAKE_TOKEN")
    # How often the scheduler follows the change feed and recomputes the snapshot.
    SYNC_INTERVAL_SECONDS = float(os.environ.get("SYNC_INTERVAL_SECONDS", "30"))
    SYNC_PAGE_SIZE = int(os.environ.get("SYNC_PAGE_SIZE", "500"))
    SYNC_TIMEOUT_SECONDS = float(os.environ.get("SYNC_TIMEOUT_SECONDS", "10"))
    SYNC_RETRIES = int(os.environ.get("SYNC_RETRIES", "3"))
    SYNC_BACKOFF_SECONDS = float(os.environ.get("SYNC_BACKOFF_SECONDS", "0.5"))
    # A revoked token keeps working here for at most this long.
    INTROSPECTION_TTL_SECONDS = float(os.environ.get("INTROSPECTION_TTL_SECONDS", "30"))
    CATALOG_PATH = os.environ.get("DGBV_CATALOG")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    CLOCK = staticmethod(utc_now)
    PROPAGATE_EXCEPTIONS = False

    REQUIRED = ("INTAKE_URL", "INTAKE_TOKEN")
