"""Server-rendered pages in Traditional Chinese for bureau staff and coordinators.

Signed-cookie sessions (HttpOnly, SameSite=Lax, Secure), CSRF on every form, and no
JavaScript: every page is a plain HTML form that works with a keyboard and on a phone (the
quarterly report's print button is the one script, and without it Ctrl+P does the same).
"""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, NotFound

from shared import rules as plan_rules
from shared.db import log_failure
from shared.errors import DomainError, problem_response
from shared.periods import format_roc_date

log = logging.getLogger(__name__)

bp = Blueprint("web", __name__)
csrf = CSRFProtect()

ERROR_MESSAGES = {
    400: "無法處理這個要求，請回上一頁重新操作。",
    403: "您的帳號沒有權限使用這個頁面。",
    404: "找不到這個頁面或報告。",
    405: "這個頁面不接受這種操作。",
    409: "資料狀態已變更，請重新整理頁面後再試。",
    413: "上傳的檔案太大。",
    422: "資料有誤，未能儲存。",
    429: "操作太頻繁，請稍後再試。",
    500: "系統發生錯誤，已記錄下來，請稍後再試。",
    503: "系統暫時無法使用，請稍後再試。",
}


def error_page(status: int, message: str | None = None):
    """An error as a page of the site, in Chinese."""
    body = render_template(
        "web/error.html", status=status, message=message or ERROR_MESSAGES.get(status, ERROR_MESSAGES[400])
    )
    return body, status


@bp.errorhandler(CSRFError)
def _csrf_failed(_error):
    """A form without a valid CSRF token."""
    return error_page(400, "表單已過期或無效（可能已在其他分頁登出）。請重新整理頁面後再送出。")


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    """A refusal of the report logic that a view did not explain itself (mostly 404)."""
    return error_page(error.status)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    """Aborts and routing errors as pages."""
    return error_page(error.code or 500)


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    """Anything else: logged, and a page without details (503 when the database is away)."""
    if isinstance(error, sa_exc.OperationalError | sa_exc.TimeoutError | sa_exc.DisconnectionError):
        log.warning("database unavailable: %s", type(error).__name__)
        return error_page(503)
    log_failure(log, "unhandled error", error)
    return error_page(500)


def init_app(app: Flask) -> None:
    """Register the pages, CSRF protection and the template helpers."""
    from services.intake import report_lines
    from services.intake.web import auth, bureau, committee, forms, labels, review  # noqa: F401 - they register routes

    csrf.init_app(app)
    # Password checks running at once in this process (users.sign_in): beyond them, 503 at once.
    app.extensions["sign_in_slots"] = threading.BoundedSemaphore(
        app.config["SIGN_IN_CONCURRENT_VERIFICATIONS"]
    )
    # Quarterly reports being made at once in this process (web/committee.py): beyond them, 503 at once.
    app.extensions["report_slots"] = threading.BoundedSemaphore(app.config["REPORT_CONCURRENCY"])
    if not app.config.get("SECRET_KEY"):
        log.warning("SECRET_KEY is not set: the web pages answer 503 until it is (the API works)")
    app.jinja_env.globals.update(
        status_label=labels.status_label,
        roc_datetime=labels.roc_datetime,
        roc_date=format_roc_date,
        bureau_name=lambda bureau_id: current_app.extensions["catalog"].bureau(bureau_id).name,
        value_field=forms.value_field,
        value_fields=forms.value_fields,
        text_field=forms.text_field,
        planned_text=report_lines.planned_text,
        sex_labels=plan_rules.SEX_LABELS,
        ROLE_LABELS=labels.ROLE_LABELS,
    )
    app.register_blueprint(bp)
    app.register_error_handler(NotFound, _not_found)


# Paths that answer in problem+json; every other unknown address is a page of the site.
MACHINE_PATHS = ("/api/", "/docs", "/openapi.json", "/metrics", "/healthz", "/readyz")


def _not_found(error: NotFound):
    """An address no route matches (e.g. a fifth quarter): a Chinese page for people, a problem for
    programs."""
    if request.path.startswith(MACHINE_PATHS):
        return problem_response(404)
    return error_page(404)


def pages_configured() -> bool:
    """The pages need a SECRET_KEY to sign sessions; there is no fallback."""
    return bool(current_app.config.get("SECRET_KEY"))
