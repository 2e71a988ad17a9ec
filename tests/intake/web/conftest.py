"""The web pages on a real database, with a user of each kind and a browser-like test client."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from services.intake import create_app, reports, targets, users
from services.intake.models import Report, User
from services.intake.reports import Rules
from services.intake.web.forms import value_field
from shared.catalog import default_catalog
from shared.periods import Quarter
from tests.intake.conftest import full_report

PASSWORD = "correct horse battery"
SECRET_KEY = "test-secret-key-0123456789abcdef0123456789abcdef"
# user name: (role, bureau, display name)
PEOPLE = {
    "police": ("bureau", "police", "陳警員"),
    "education": ("bureau", "education", "林老師"),
    "coordinator": ("coordinator", None, "王管考"),
    "viewer": ("viewer", None, "委員"),
    "admin": ("admin", None, "系統管理者"),
}
Q2 = "/reports/police/2022/2"
SECOND_QUARTER = Quarter(2022, 2)


def web_config(intake_db_url, clock, **overrides) -> dict:
    return {
        "DATABASE_URL": intake_db_url,
        "CLOCK": clock,
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "SESSION_COOKIE_SECURE": False,  # the test client speaks plain http
        # The test clock stands still, so the service-wide rate would never refill: the tests of
        # that rate set their own.
        "SIGN_IN_VERIFICATIONS_PER_SECOND": 1000.0,
        **overrides,
    }


@pytest.fixture(scope="session")
def password_hash() -> str:
    """Hashed once: argon2 is slow on purpose (users.create_user is tested on its own)."""
    return users.hash_password(PASSWORD)


@pytest.fixture
def web_app(intake_db_url, clock, password_hash):
    app = create_app(web_config(intake_db_url, clock))
    with app.extensions["database"].transaction() as session:
        for username, (role, bureau, name) in PEOPLE.items():
            session.add(
                User(
                    username=username,
                    name=name,
                    role=role,
                    bureau=bureau,
                    password_hash=password_hash,
                    active=True,
                    created_at=clock(),
                    created_by="test",
                )
            )
    yield app
    app.extensions["database"].dispose()


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_REVISION = re.compile(r'name="revision" value="(\d+)"')
_REPORT_FORM = re.compile(r"^(/reports/[^/]+/\d+/\d+)(/(accept|return|reopen|xlsx))?$")


class Browser:
    """A test client used as a person would: pages, forms with their CSRF token, signing in."""

    def __init__(self, app, address: str = "127.0.0.1"):
        self.app = app
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = address  # the client address sign-ins count against
        self.page = None

    def get(self, path, **kwargs):
        self.page = self.client.get(path, **kwargs)
        return self.page

    def csrf_token(self) -> str:
        """The token of the page last shown, or of the home page (every page of the site has one)."""
        if self.page is None or self.page.mimetype != "text/html" or not _CSRF.search(text_of(self.page)):
            self.get("/", follow_redirects=True)
        return _CSRF.search(text_of(self.page)).group(1)

    def post(self, path, data=None, *, csrf=True, **kwargs):
        """Post a form; a report's forms are posted from the report's page as it is now, with the
        revision that page carries (pass `revision` in `data` to post from an older page)."""
        data = dict(data or {})
        report_form = _REPORT_FORM.match(path)
        if report_form and "revision" not in data:
            data["revision"] = self.revision_of(report_form.group(1))
        if csrf:
            data.setdefault("csrf_token", self.csrf_token())
        response = self.client.post(path, data=data, **kwargs)
        # After a redirect the next page is fetched afresh (signing in renews the token).
        self.page = None if response.status_code == 303 else response
        return response

    def revision_of(self, report_path: str) -> str:
        """The revision the report's page carries in its forms."""
        page = self.get(report_path)
        found = _REVISION.search(text_of(page))
        return found.group(1) if found else "0"

    def sign_in(self, username, password=PASSWORD):
        self.get("/sign-in")
        return self.post("/sign-in", {"username": username, "password": password})

    def sign_out(self):
        return self.post("/sign-out")


@pytest.fixture
def browser(web_app) -> Browser:
    return Browser(web_app)


@pytest.fixture
def signed_in(web_app):
    """A browser already signed in as the named person."""

    def sign_in(username: str) -> Browser:
        person = Browser(web_app)
        assert person.sign_in(username).status_code == 303
        return person

    return sign_in


def text_of(response) -> str:
    return response.get_data(as_text=True)


def field_errors(response) -> dict[str, list[str]]:
    """Each error shown beside an input, keyed by the input it describes."""
    html = text_of(response)
    return {
        name: re.findall(rf'<p class="field-error" id="{re.escape(name)}-error">([^<]+)</p>', html)
        for name in set(re.findall(r'<p class="field-error" id="([^"]+)-error">', html))
    }


def input_value(response, name: str) -> str | None:
    """What an input or textarea shows."""
    html = text_of(response)
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    if match:
        return match.group(1)
    # The report form's textareas, by id: the Excel upload has a textarea named "reason" too.
    match = re.search(rf'<textarea[^>]*id="{re.escape(name)}"[^>]*>([^<]*)</textarea>', html)
    return match.group(1) if match else None


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.controls: list[tuple[str, str | None]] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "textarea", "select") and attrs.get("type") not in ("hidden", "submit"):
            self.controls.append((attrs.get("name") or "", attrs.get("id")))
        if tag == "label" and attrs.get("for"):
            self.labels.add(attrs["for"])


def unlabelled_inputs(response) -> list[str]:
    """Inputs a screen reader could not name: every visible input needs a <label for=...>."""
    parser = _Inputs()
    parser.feed(text_of(response))
    return [name for name, id_ in parser.controls if id_ is None or id_ not in parser.labels]


# -- the report logic, used directly to set the scene ----------------------------------
def full_form(bureau: str, value="1", **fields) -> dict:
    """The report form filled in: every metric of the bureau set to `value` (a metric counted by
    sex: `value` men, no women or others, so its total is `value`)."""
    data = {"narrative": "本季依計畫辦理。"}
    for action in default_catalog().actions_for(bureau):
        for metric in action.metrics:
            if metric.by_sex:
                data[value_field(action.id, metric.id, "male")] = str(value)
                data[value_field(action.id, metric.id, "female")] = "0"
                data[value_field(action.id, metric.id, "other")] = "0"
            else:
                data[value_field(action.id, metric.id)] = str(value)
    return {**data, **fields}


def rules_of(app) -> Rules:
    catalog = app.extensions["catalog"]
    return Rules(catalog, catalog.reporting.first_quarter, app.config["CLOCK"]())


def principal(app, username: str):
    with app.extensions["database"].transaction() as session:
        return users.principal_of(session.scalar(select(User).where(User.username == username)))


def file_report(app, username: str, quarter: Quarter, value: int, *, submit: bool = True) -> None:
    """A report saved (and submitted) through the report logic, as the named user."""
    who = principal(app, username)
    content = full_report(who.bureau, value)
    with app.extensions["database"].transaction() as session:
        reports.save_report(session, rules_of(app), who, who.bureau, quarter, reason=None, **content)
        if submit:
            reports.submit_report(session, rules_of(app), who, who.bureau, quarter)


def set_target(app, action: str, metric: str, annual: int) -> None:
    with app.extensions["database"].transaction() as session:
        targets.set_target(
            session,
            app.extensions["catalog"],
            principal(app, "coordinator"),
            year=2022,
            action=action,
            metric=metric,
            annual=annual,
            quarterly=None,
            now=app.config["CLOCK"](),
        )


def stored_report(app, bureau: str = "police", quarter: Quarter = SECOND_QUARTER) -> Report | None:
    with app.extensions["database"].transaction() as session:
        report = reports.find_report(session, bureau, quarter)
        if report is not None:
            report.revisions  # noqa: B018 - loaded before the session closes
        return report
