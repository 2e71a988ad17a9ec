"""Settings of the intake service, read from the environment."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

VAR_DIR = Path(os.environ.get("DGBV_VAR_DIR", "var"))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Config:
    """Defaults suit `make run`; production sets DATABASE_URL and friends."""

    SERVICE_NAME = "intake"
    DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{(VAR_DIR / 'intake.db').resolve()}"
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024)))
    MAX_CASE_BATCH = int(os.environ.get("MAX_CASE_BATCH", "10000"))
    ADMIN_TOKEN = os.environ.get("INTAKE_ADMIN_TOKEN")
    # The token kpi and notify present to intake in a deployment (docker-compose).
    SERVICE_TOKEN = os.environ.get("INTAKE_SERVICE_TOKEN")
    CATALOG_PATH = os.environ.get("DGBV_CATALOG")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    CLOCK = staticmethod(utc_now)
    PROPAGATE_EXCEPTIONS = False
