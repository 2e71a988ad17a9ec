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
from services.intake.web import bp, csrf, error_page, pages_configured
from services.intake.web.forms import FormState, SignInForm, state_from_error
from shared.auth import Role
from shared.db import get_database, get_session

SIGN_IN_ENDPOINT = "web.sign_in"


@bp.before_request
def _guard():
    """Refuse every page without a SECRET_KEY, check CSRF on every form, then find the user."""
    if not pages_configured():
        return error_page(503, "網頁功能尚未設定 SECRET_KEY，請聯絡系統管理者。")
    csrf.protect()
    g.user = None
    # Signing in uses transactions of its own (see sign_in), so it must not open the request's.
    if request.endpoint == SIGN_IN_ENDPOINT or "user_id" not in session:
        return None
    user = users.get_active_user(get_session(), session["user_id"])
    if user is None or session.get("stamp") != users.session_stamp(user):
        session.clear()  # the user was deactivated or the password changed since
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
    """The slowing of failed sign-ins, from the settings."""
    config = current_app.config
    return users.SignInPolicy(
        free_failures=config["SIGN_IN_FREE_FAILURES"],
        first_wait=dt.timedelta(seconds=config["SIGN_IN_FIRST_WAIT_SECONDS"]),
    )


def _wait_text(seconds: int) -> str:
    """A wait in words: 1 分 30 秒."""
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} 分 {rest} 秒" if minutes else f"{rest} 秒"


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """The sign-in page; failures are counted in the database and slowed down."""
    if request.method == "GET":
        if "user_id" in session:
            return redirect(url_for("web.home"), 303)
        state = FormState(values={"next": _safe_next(request.args.get("next")) or ""})
        return render_template("web/sign_in.html", form=state)
    typed = {"username": request.form.get("username", ""), "next": request.form.get("next", "")}
    try:
        data = SignInForm().load(request.form)
    except ma.ValidationError as error:
        return render_template("web/sign_in.html", form=state_from_error(typed, error)), 422
    with get_database().transaction() as db_session:
        outcome = users.sign_in(db_session, data["username"], data["password"], now(), _policy())
        if outcome.user is not None:
            user_id, stamp = outcome.user.id, users.session_stamp(outcome.user)
            target = _safe_next(data["next"]) or home_of(outcome.user)
    if outcome.user is None:
        state = FormState(values=typed)
        if outcome.retry_after:
            state.page_errors.append(f"登入失敗次數過多，請於 {_wait_text(outcome.retry_after)}後再試。")
            response = current_app.make_response((render_template("web/sign_in.html", form=state), 429))
            response.headers["Retry-After"] = str(outcome.retry_after)
            return response
        state.page_errors.append("帳號或密碼不正確。")
        return render_template("web/sign_in.html", form=state), 401
    session.clear()  # nothing from before signing in carries over
    session.permanent = True
    session["user_id"], session["stamp"] = user_id, stamp
    flash("已登入。", "success")
    return redirect(target, 303)


@bp.post("/sign-out")
def sign_out():
    """Forget the session (a form button, so a link elsewhere cannot sign anyone out)."""
    session.clear()
    flash("已登出。", "success")
    return redirect(url_for(SIGN_IN_ENDPOINT), 303)
