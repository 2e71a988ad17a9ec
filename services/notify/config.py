"""Settings of the notify service, read from the environment."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

VAR_DIR = Path(os.environ.get("DGBV_VAR_DIR", "var"))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "true" if default else "false").strip().lower() in ("1", "true", "yes", "on")


def _list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


class Config:
    """Defaults suit `make run`; production sets DATABASE_URL, the SMTP settings and friends."""

    SERVICE_NAME = "notify"
    DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{(VAR_DIR / 'notify.db').resolve()}"
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    CATALOG_PATH = os.environ.get("DGBV_CATALOG")
    CLOCK = staticmethod(utc_now)
    PROPAGATE_EXCEPTIONS = False

    # -- where the facts come from ------------------------------------------------
    INTAKE_URL = os.environ.get("INTAKE_URL", "http://127.0.0.1:8001")
    KPI_URL = os.environ.get("KPI_URL", "http://127.0.0.1:8002")
    # A service token minted by intake; kpi accepts it too (it asks intake).
    INTAKE_TOKEN = os.environ.get("INTAKE_TOKEN")
    SOURCE_TIMEOUT = float(os.environ.get("SOURCE_TIMEOUT", "10"))

    # Evaluations refuse kpi figures older than this (kpi follows intake's change feed).
    KPI_MAX_AGE_SECONDS = float(os.environ.get("KPI_MAX_AGE_SECONDS", "3600"))

    # -- how notify chases (README "Notify"); the plan's rules are the catalog's -----
    REMINDER_DAYS = int(os.environ.get("REMINDER_DAYS", "7"))
    OVERDUE_REPEAT_DAYS = int(os.environ.get("OVERDUE_REPEAT_DAYS", "7"))
    OVERDUE_MAX_NOTICES = int(os.environ.get("OVERDUE_MAX_NOTICES", "4"))
    COMMITTEE_STATUSES = _list("COMMITTEE_STATUSES", "at_risk,off_track")
    COMMITTEE_EMAILS = _list("COMMITTEE_EMAILS")

    # -- schedule ----------------------------------------------------------------
    EVALUATION_CRON = os.environ.get("EVALUATION_CRON", "0 9 * * *")  # Asia/Taipei
    # A scheduler restarted this long after a missed run still runs it (once).
    MISFIRE_GRACE_SECONDS = int(os.environ.get("MISFIRE_GRACE_SECONDS", str(12 * 3600)))
    SEND_INTERVAL_SECONDS = int(os.environ.get("SEND_INTERVAL_SECONDS", "30"))
    # Also evaluate once when the scheduler starts (make run sets it, so var/mail fills at once).
    EVALUATE_ON_START = _flag("EVALUATE_ON_START")

    # -- messages ----------------------------------------------------------------
    # The bureaus' report form is intake's web page /reports/{bureau}/{year}/{quarter}.
    REPORT_FORM_BASE_URL = os.environ.get("REPORT_FORM_BASE_URL", "http://127.0.0.1:8001")
    PLAN_SHORT_NAME = os.environ.get("PLAN_SHORT_NAME", "數位性別暴力防治方案")
    # Writes every message to the outbox as `dry_run`; nothing is sent.
    DRY_RUN = _flag("NOTIFY_DRY_RUN")

    # -- delivery ----------------------------------------------------------------
    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))
    SMTP_SECURITY = os.environ.get("SMTP_SECURITY", "starttls")  # starttls | ssl | none
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_FROM = os.environ.get("SMTP_FROM", "dgbv-notify@localhost")
    SMTP_FROM_NAME = os.environ.get("SMTP_FROM_NAME", "新北市數位性別暴力防治方案")
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "30"))
    SMTP_CA_FILE = os.environ.get("SMTP_CA_FILE")  # an extra trusted CA; verification stays on
    SEND_BATCH_SIZE = int(os.environ.get("SEND_BATCH_SIZE", "20"))
    SEND_LEASE_SECONDS = int(os.environ.get("SEND_LEASE_SECONDS", "300"))
    SEND_MAX_ATTEMPTS = int(os.environ.get("SEND_MAX_ATTEMPTS", "10"))
    RETRY_BASE_SECONDS = float(os.environ.get("RETRY_BASE_SECONDS", "60"))
    RETRY_MAX_SECONDS = float(os.environ.get("RETRY_MAX_SECONDS", "3600"))
