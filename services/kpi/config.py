"""Settings of the KPI service (README, "The KPI service"), read once by the app factory."""

from __future__ import annotations

from shared import introspection, leadership
from shared.settings import REQUIRED, Setting, common, number, text, url, whole

SETTINGS = (
    *common("kpi", 8002),
    # Where intake is, and the service token kpi reads its change feed and introspects tokens with.
    Setting("INTAKE_URL", url, REQUIRED),
    Setting("INTAKE_TOKEN", text, REQUIRED),
    # The scheduler waits on intake's feed for up to this long at a time and applies each change as
    # soon as it commits (a long poll; 0: no long poll, only the interval below).
    Setting("SYNC_WAIT_SECONDS", whole(0, 30), 25),
    # How often the scheduler syncs and recomputes regardless: the fallback should the long poll
    # fail, and the pace of figures that move with the clock (days overdue).
    Setting("SYNC_INTERVAL_SECONDS", number(0.1), 30.0),
    # How often the case cells are counted again from every stored record (a safety net).
    Setting("RECOUNT_INTERVAL_SECONDS", number(1), 6 * 3600.0),
    Setting("SYNC_PAGE_SIZE", whole(1, 5000), 500),
    Setting("SYNC_TIMEOUT_SECONDS", number(0.1), 10.0),
    Setting("SYNC_RETRIES", whole(0), 3),
    Setting("SYNC_BACKOFF_SECONDS", number(0), 0.5),
    # How soon a standby scheduler takes over from one that died (shared/leadership.py).
    *leadership.SETTINGS,
    # How long a token check by intake is taken, and while intake is away (shared/introspection.py).
    *introspection.SETTINGS,
)

# kpi's /metrics carries figures from case records and every bureau's reports: never open, even
# without METRICS_TOKEN (intake's and notify's carry operational counters, open until it is set).
FIXED = {"SERVICE_NAME": "kpi", "PROPAGATE_EXCEPTIONS": False, "METRICS_TOKEN_REQUIRED": True}
