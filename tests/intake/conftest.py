"""An intake app on a real database, with a token for every role."""

from __future__ import annotations

import os

import pytest

from services.intake import create_app, tokens
from shared.catalog import default_catalog
from tests.helpers.reports import metric_values, read_before_write

ROLE_TOKENS = {
    "admin": ("admin", None),
    "coordinator": ("coordinator", None),
    "statistics": ("statistics", None),
    "viewer": ("viewer", None),
    "service": ("service", None),
    "police": ("bureau", "police"),
    "education": ("bureau", "education"),
}


@pytest.fixture
def intake_app(intake_db_url, clock):
    app = create_app({"DATABASE_URL": intake_db_url, "CLOCK": clock, "TESTING": True})
    yield app
    app.extensions["database"].dispose()


@pytest.fixture
def postgres_intake_app(request, clock):
    """An intake app on PostgreSQL, for behaviour only PostgreSQL has (CI always provides it)."""
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs TEST_DATABASE_URL (a PostgreSQL server)")
    database = request.getfixturevalue("_intake_postgres")
    database.truncate_all()
    app = create_app({"DATABASE_URL": database.url, "CLOCK": clock, "TESTING": True})
    yield app
    app.extensions["database"].dispose()


class Api:
    """A test client that speaks as one of the minted principals. Like a careful client, it reads a
    report before writing it and sends the ETag it read as If-Match, unless the test sends its own
    If-Match or passes read_first=False."""

    def __init__(self, app, secrets: dict[str, str]):
        self.app = app
        self.client = app.test_client()
        self.secrets = secrets

    def request(self, who: str | None, method: str, path: str, read_first: bool = True, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        if who is not None:
            headers["Authorization"] = f"Bearer {self.secrets.get(who, who)}"
        if read_first:
            headers = read_before_write(method, path, headers, lambda report: self.etag(who, report))
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def etag(self, who: str | None, report_path: str) -> str | None:
        """The report's current ETag as `who` reads it (None when it cannot read one)."""
        headers = {"Authorization": f"Bearer {self.secrets.get(who, who)}"} if who else {}
        return self.client.get(report_path, headers=headers).headers.get("ETag")

    def get(self, who, path, **kwargs):
        return self.request(who, "GET", path, **kwargs)

    def put(self, who, path, **kwargs):
        return self.request(who, "PUT", path, **kwargs)

    def post(self, who, path, **kwargs):
        return self.request(who, "POST", path, **kwargs)

    def patch(self, who, path, **kwargs):
        return self.request(who, "PATCH", path, **kwargs)


@pytest.fixture
def api(intake_app, clock) -> Api:
    """Tokens for: admin, coordinator, statistics, viewer, service, police, education."""
    secrets = {}
    with intake_app.extensions["database"].transaction() as session:
        for who, (role, bureau) in ROLE_TOKENS.items():
            _, secret = tokens.mint_token(
                session,
                default_catalog(),
                name=who,
                role=role,
                bureau=bureau,
                created_by="test",
                now=clock(),
            )
            secrets[who] = secret
    return Api(intake_app, secrets)


def full_report(bureau: str, value: int = 1, **overrides) -> dict:
    """A complete report body: every metric of every action of the bureau set to `value`."""
    return {
        "narrative": overrides.pop("narrative", "本季依計畫辦理。"),
        "actions": [
            {"action": action.id, **metric_values(action, value), **overrides}
            for action in default_catalog().actions_for(bureau)
        ],
    }
