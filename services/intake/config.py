"""Settings of the intake service (README, "Configuration"), read once by the app factory."""

from __future__ import annotations

import datetime as dt

from shared.settings import Setting, common, flag, hours, text, whole

SETTINGS = (
    *common("intake", 8001),
    Setting("MAX_CONTENT_LENGTH", whole(1024), 16 * 1024 * 1024),
    Setting("MAX_CASE_BATCH", whole(1), 10_000),
    Setting("ADMIN_TOKEN", text, env="INTAKE_ADMIN_TOKEN"),
    # The token kpi and notify present to intake in a deployment (docker-compose).
    Setting("SERVICE_TOKEN", text, env="INTAKE_SERVICE_TOKEN"),
    # The pages: without a SECRET_KEY they answer 503 (the API still works); there is no fallback.
    Setting("SECRET_KEY", text),
    # Secure unless told otherwise: only a development server on plain http turns it off.
    Setting("SESSION_COOKIE_SECURE", flag, True),
    Setting("PERMANENT_SESSION_LIFETIME", hours, dt.timedelta(hours=8), env="SESSION_HOURS"),
    # After this many failed sign-ins for a user name, each further failure doubles the wait.
    Setting("SIGN_IN_FREE_FAILURES", whole(0), 5),
    Setting("SIGN_IN_FIRST_WAIT_SECONDS", whole(1), 30),
)

# What is not read from the environment: the pages' session cookie and CSRF, fixed by design.
FIXED = {
    "SERVICE_NAME": "intake",
    "PROPAGATE_EXCEPTIONS": False,
    "SESSION_COOKIE_NAME": "dgbv_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Only the pages' forms are checked (web blueprint); bearer-token API calls carry no cookie.
    "WTF_CSRF_CHECK_DEFAULT": False,
    # A token lasts as long as the signed session, so a long form is not lost to an expired token.
    "WTF_CSRF_TIME_LIMIT": None,
}
