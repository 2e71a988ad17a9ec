"""Settings of the intake service (README, "Configuration"), read once by the app factory."""

from __future__ import annotations

import datetime as dt

from shared.settings import Setting, common, flag, hours, number, strong_secret, text, url, whole

SETTINGS = (
    *common("intake", 8001),
    Setting("MAX_CONTENT_LENGTH", whole(1024), 16 * 1024 * 1024),
    Setting("MAX_CASE_BATCH", whole(1), 10_000),
    # Tokens handed over in the environment: strong, or the process refuses to start; a new value
    # retires the old token at the next migrate/run.
    Setting("ADMIN_TOKEN", strong_secret, env="INTAKE_ADMIN_TOKEN", secret=True),
    # The token kpi and notify present to intake in a deployment (docker-compose).
    Setting("SERVICE_TOKEN", strong_secret, env="INTAKE_SERVICE_TOKEN", secret=True),
    # How long the answer to a POST with an Idempotency-Key is kept for its retries.
    Setting("IDEMPOTENCY_TTL", hours, dt.timedelta(hours=24), env="IDEMPOTENCY_HOURS"),
    # How many reverse proxies in front of intake set X-Forwarded-For (0: the peer is the client).
    Setting("TRUSTED_PROXIES", whole(0, 5), 0),
    # The pages: without a SECRET_KEY they answer 503 (the API still works); there is no fallback.
    Setting("SECRET_KEY", text, secret=True),
    # Secure unless told otherwise: only a development server on plain http turns it off.
    Setting("SESSION_COOKIE_SECURE", flag, True),
    Setting("PERMANENT_SESSION_LIFETIME", hours, dt.timedelta(hours=8), env="SESSION_HOURS"),
    # After this many failed sign-ins for a user name from one address, each further failure
    # doubles the wait (README, "Sign-in").
    Setting("SIGN_IN_FREE_FAILURES", whole(0), 5),
    Setting("SIGN_IN_FIRST_WAIT_SECONDS", whole(1), 30),
    # Failed sign-ins one client address may make, whatever the user names: a burst of this many,
    # then as many per hour.
    Setting("SIGN_IN_ADDRESS_FAILURES_PER_HOUR", whole(1), 30),
    # Password verifications (argon2: ~0.2 CPU-s, 64 MiB each) of the whole service, every worker
    # and replica together, and at once in one process; beyond either, 503 before any hashing.
    Setting("SIGN_IN_VERIFICATIONS_PER_SECOND", number(0.01), 2.0),
    Setting("SIGN_IN_CONCURRENT_VERIFICATIONS", whole(1), 2),
    # The quarterly report page reads kpi's judgements over HTTP (README, "The quarterly report").
    # Unset: the page says that kpi is not configured. make run and docker-compose set it.
    Setting("KPI_URL", url),
    # The service token intake presents to kpi: the one kpi and notify present to intake
    # (INTAKE_TOKEN, set by make run and docker-compose); else INTAKE_SERVICE_TOKEN.
    Setting("KPI_TOKEN", text, env="INTAKE_TOKEN", secret=True),
    Setting("KPI_TIMEOUT", number(0.1), 10.0),
    # Reports being made at once in one process. kpi checks intake's token by calling intake back
    # while a report waits, so this stays below the threads of a worker (4): a thread is always free
    # for that call, and a report beyond the limit gets 503 at once instead of a deadlock.
    Setting("REPORT_CONCURRENCY", whole(1), 2),
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
