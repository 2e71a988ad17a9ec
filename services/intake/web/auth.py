"""Signing in and out, and who is signed in on each page."""

from __future__ import annotations

import datetime as dt
import functools
from urllib.parse import urlsplit

import marshmallow as ma
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.urls import iri_to_uri

from services.intake import users
from services.intake.context import now
from services.intake.metrics import SIGN_INS
from services.intake.web import bp, csrf, error_page, pages_configured
from services.intake.web.forms import FormState, SignInForm, state_from_error
from shared.auth import Role
from shared.db import get_database, get_session

SIGN_IN_ENDPOINT = "web.sign_in"
SESSION_KEY = "sid"  # the cookie's one value: the secret of the user's session row (users.start_session)


@bp.before_request
def _guard():
    """Refuse every page without a SECRET_KEY, check CSRF on every form, then find the user."""
    if not pages_configured():
        return error_page(503, "網頁功能尚未設定 SECRET_KEY，請聯絡系統管理者。")
    csrf.protect()
    g.user = None
    # Signing in uses transactions of its own (see sign_in), so it must not open the request's.
    if request.endpoint == SIGN_IN_ENDPOINT or SESSION_KEY not in session:
        return None
    user = users.session_user(get_session(), session[SESSION_KEY], now())
    if user is None:
        session.clear()  # signed out, expired, deactivated or a new password since
        return None
    g.user = user
    g.principal = users.principal_of(user)  # the report logic's actor, and the access log's
    return None


def signed_in(*roles: Role):
    """Send visitors to the sign-in page; refuse (403) users of other roles."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if g.user is None:
                return redirect(url_for(SIGN_IN_ENDPOINT, next=request.full_path.rstrip("?")), 303)
            if roles and g.user.role not in roles:
                return error_page(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host (an open redirect), never a line break or other
    control character (a header of its own), and percent-encoded, as a Location header must be."""
    if not target or any(character.isspace() or not character.isprintable() for character in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return iri_to_uri(target)


def home_of(user) -> str:
    """Where a user starts: bureaus at their quarters, everyone else at the overview."""
    return url_for("web.quarters") if user.role == Role.BUREAU else url_for("web.overview")


@bp.get("/")
def home():
    """Send visitors to sign in, and users to their start page."""
    if g.user is None:
        return redirect(url_for(SIGN_IN_ENDPOINT), 303)
    return redirect(home_of(g.user), 303)


def _policy() -> users.SignInPolicy:
    """How sign-ins are held back, from the settings."""
    config = current_app.config
    return users.SignInPolicy(
        free_failures=config["SIGN_IN_FREE_FAILURES"],
        first_wait=dt.timedelta(seconds=config["SIGN_IN_FIRST_WAIT_SECONDS"]),
        address_failures_per_hour=config["SIGN_IN_ADDRESS_FAILURES_PER_HOUR"],
        verifications_per_second=config["SIGN_IN_VERIFICATIONS_PER_SECOND"],
    )


def _wait_text(seconds: int) -> str:
    """A wait in words: 1 分 30 秒."""
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} 分 {rest} 秒" if minutes else f"{rest} 秒"


def _refusal(form: FormState, message: str, status: int, retry_after: int | None = None):
    form.page_errors.append(message)
    response = current_app.make_response((render_template("web/sign_in.html", form=form), status))
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """The sign-in page; attempts are admitted, counted in the database and slowed down (users.sign_in)."""
    if request.method == "GET":
        if SESSION_KEY in session:
            return redirect(url_for("web.home"), 303)
        state = FormState(values={"next": _safe_next(request.args.get("next")) or ""})
        return render_template("web/sign_in.html", form=state)
    typed = {"username": request.form.get("username", ""), "next": request.form.get("next", "")}
    try:
        data = SignInForm().load(request.form)
    except ma.ValidationError as error:
        return render_template("web/sign_in.html", form=state_from_error(typed, error)), 422
    outcome = users.sign_in(
        get_database(),
        data["username"],
        data["password"],
        request.remote_addr,
        now(),
        _policy(),
        current_app.extensions["sign_in_slots"],
        current_app.permanent_session_lifetime,
    )
    if outcome.user is None:
        state = FormState(values=typed)
        if outcome.busy:
            SIGN_INS.labels("busy").inc()
            wait = _wait_text(outcome.retry_after)
            return _refusal(state, f"目前登入的人數過多，請於 {wait}後再試。", 503, outcome.retry_after)
        if outcome.retry_after:
            SIGN_INS.labels("throttled").inc()
            wait = _wait_text(outcome.retry_after)
            return _refusal(state, f"登入失敗次數過多，請於 {wait}後再試。", 429, outcome.retry_after)
        SIGN_INS.labels("refused").inc()
        return _refusal(state, "帳號或密碼不正確。", 401)
    SIGN_INS.labels("signed_in").inc()
    session.clear()  # nothing from before signing in carries over
    session.permanent = True
    session[SESSION_KEY] = outcome.session_secret
    flash("已登入。", "success")
    return redirect(_safe_next(data["next"]) or home_of(outcome.user), 303)


@bp.post("/sign-out")
def sign_out():
    """End every session of the user, here and on any other computer (a form button, so a link
    elsewhere cannot sign anyone out).

    The session rows are deleted, so a copy of a cookie taken before opens nothing any more, and a
    session left open on a shared office computer ends too.
    """
    if g.user is not None:
        users.end_sessions_of(get_session(), g.user)
    session.clear()
    flash("已登出。", "success")
    return redirect(url_for(SIGN_IN_ENDPOINT), 303)
