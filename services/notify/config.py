"""Settings of the notify service (README, "Notify"), read once by the app factory."""

from __future__ import annotations

from shared import introspection, leadership, settings
from shared.settings import REQUIRED, Setting, choice, common, flag, number, text, url, utc_now, whole, words

SETTINGS = (
    *common("notify", 8003),
    # -- where the facts come from ------------------------------------------------
    Setting("INTAKE_URL", url, REQUIRED),
    Setting("KPI_URL", url, REQUIRED),
    # A service token minted by intake; kpi accepts it too (it asks intake).
    Setting("INTAKE_TOKEN", text, REQUIRED),
    Setting("SOURCE_TIMEOUT", number(0.1), 10.0),
    # How long a token check by intake is taken, and while intake is away (shared/introspection.py).
    *introspection.SETTINGS,
    # Evaluations refuse kpi figures older than this (kpi follows intake's change feed).
    Setting("KPI_MAX_AGE_SECONDS", number(1), 3600.0),
    # -- how notify chases (README "Notify"); the plan's rules are the catalog's -----
    Setting("REMINDER_DAYS", whole(0), 7),
    Setting("OVERDUE_REPEAT_DAYS", whole(1), 7),
    Setting("OVERDUE_MAX_NOTICES", whole(0), 4),
    Setting("COMMITTEE_STATUSES", words, ["at_risk", "off_track"]),
    Setting("COMMITTEE_EMAILS", words, []),
    # The coordinators (管考人員): they reopen locked quarters. A bureau whose quarter is locked is
    # told to write to them; they get the daily list of locked quarters still missing.
    Setting("COORDINATOR_EMAILS", words, []),
    # -- schedule ----------------------------------------------------------------
    Setting("EVALUATION_CRON", text, "0 9 * * *"),  # Asia/Taipei
    # A scheduler restarted this long after a missed run still runs it (once).
    Setting("MISFIRE_GRACE_SECONDS", whole(1), 12 * 3600),
    Setting("SEND_INTERVAL_SECONDS", whole(1), 30),
    # How long one wait on intake's change feed lasts: the follower is answered as soon as a change
    # commits (returned, reopened, accepted reports). 0: no waiting, only the interval below.
    Setting("FOLLOW_WAIT_SECONDS", whole(0, 30), 25),
    # How often the scheduler follows intake's change feed regardless (the fallback).
    Setting("FOLLOW_INTERVAL_SECONDS", whole(1), 10),
    # Also evaluate once when the scheduler starts (make run sets it, so var/mail fills at once).
    Setting("EVALUATE_ON_START", flag, False),
    # How soon a standby scheduler takes over from one that died (shared/leadership.py).
    *leadership.SETTINGS,
    # -- messages ----------------------------------------------------------------
    # Every link in an e-mail starts here (the address people reach: the reverse proxy's).
    settings.public_base_url(),
    Setting("PLAN_SHORT_NAME", text, "數位性別暴力防治方案"),
    # Writes every message to the outbox as `dry_run`; nothing is sent.
    Setting("DRY_RUN", flag, False, env="NOTIFY_DRY_RUN"),
    # -- delivery ----------------------------------------------------------------
    Setting("SMTP_HOST", text, "127.0.0.1"),
    Setting("SMTP_PORT", whole(1, 65535), 587),
    Setting("SMTP_SECURITY", choice("starttls", "ssl", "none"), "starttls"),
    Setting("SMTP_USERNAME", text),
    Setting("SMTP_PASSWORD", text),
    Setting("SMTP_FROM", text, "dgbv-notify@localhost"),
    Setting("SMTP_FROM_NAME", text, "新北市數位性別暴力防治方案"),
    Setting("SMTP_TIMEOUT", number(0.1), 30.0),
    Setting("SMTP_CA_FILE", text),  # an extra trusted CA; verification stays on
    Setting("SEND_BATCH_SIZE", whole(1), 20),
    Setting("SEND_LEASE_SECONDS", whole(1), 300),
    Setting("SEND_MAX_ATTEMPTS", whole(1), 10),
    Setting("RETRY_BASE_SECONDS", number(0), 60.0),
    Setting("RETRY_MAX_SECONDS", number(0), 3600.0),
)

FIXED = {"SERVICE_NAME": "notify", "PROPAGATE_EXCEPTIONS": False, "CLOCK": utc_now}
