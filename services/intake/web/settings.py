"""Settings of the web pages, read from the environment like the service's Config."""

from __future__ import annotations

import datetime as dt
import os


def env_flag(name: str, default: bool) -> bool:
    """A yes/no setting: 0, false, no and off (any case) are no."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


class WebSettings:
    """Signed-cookie sessions and CSRF for the pages; the API keeps its bearer tokens."""

    # Required for the pages, with no fallback: without it they answer 503 and the API still works.
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SESSION_COOKIE_NAME = "dgbv_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Secure unless told otherwise: only a development server on plain http turns it off.
    SESSION_COOKIE_SECURE = env_flag("SESSION_COOKIE_SECURE", True)
    PERMANENT_SESSION_LIFETIME = dt.timedelta(hours=int(os.environ.get("SESSION_HOURS", "8")))
    # Only the pages' forms are checked (web blueprint); bearer-token API calls carry no cookie.
    WTF_CSRF_CHECK_DEFAULT = False
    # A token lasts as long as the signed session, so a long form is not lost to an expired token.
    WTF_CSRF_TIME_LIMIT = None
    # After this many failed sign-ins for a user name, each further failure doubles the wait.
    SIGN_IN_FREE_FAILURES = int(os.environ.get("SIGN_IN_FREE_FAILURES", "5"))
    SIGN_IN_FIRST_WAIT_SECONDS = int(os.environ.get("SIGN_IN_FIRST_WAIT_SECONDS", "30"))
