"""A notification rule is one unit: notify refuses to start with a rule that lacks a part."""

from __future__ import annotations

import shutil

import pytest

from services.notify import create_app, messages, models
from services.notify.rules import RULES, Findings, Rule, Verdict
from services.notify.service import SettingsError


@pytest.fixture
def build(tmp_path):
    """Build notify's app (and so its Notifier), without asking the sources anything."""
    apps = []

    def build():
        settings = {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'notify.db'}",
            "INTAKE_URL": "http://127.0.0.1:8001",
            "KPI_URL": "http://127.0.0.1:8002",
            "INTAKE_TOKEN": "not-used",
        }
        apps.append(create_app(settings))
        return apps[-1]

    yield build
    for app in apps:
        app.extensions["database"].dispose()


@pytest.fixture
def templates(tmp_path, monkeypatch):
    """A copy of the templates that notify reads instead of its own."""
    folder = shutil.copytree(messages.TEMPLATES, tmp_path / "templates")
    monkeypatch.setattr(messages, "TEMPLATES", folder)
    return folder


class Late(Rule):
    """A rule someone forgot to finish: it has no re-check."""

    name = "late"

    def evaluate(self, inputs, today):
        return Findings()


class Finished(Late):
    def recheck(self, row, current):
        return Verdict(True)


def test_the_rules_run_in_their_order_and_the_outbox_knows_each(build):
    rules = build().extensions["notifier"].rules
    assert list(rules) == [
        "returned",
        "reopened",
        "accepted",
        "committee",
        "reminder",
        "overdue",
        "locked",
        "behind",
    ]
    assert sorted(rules) == sorted(models.RULES)


def test_a_rule_without_a_recheck_is_refused_at_start(build, monkeypatch):
    monkeypatch.setitem(RULES, "late", Late())
    with pytest.raises(SettingsError, match="^notification rule 'late' has no recheck$"):
        build()


class Deaf(Rule):
    """A rule that listens to the change feed but cannot answer it."""

    name = "deaf"
    events = ("reopened",)

    def recheck(self, row, current):
        return Verdict(True)


class Idle(Rule):
    """A rule with nothing to start it: neither the schedule nor the feed."""

    name = "idle"

    def recheck(self, row, current):
        return Verdict(True)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Deaf(), "^notification rule 'deaf' reacts to reopened but has no react$"),
        (Idle(), "^notification rule 'idle' has no evaluate$"),
    ],
)
def test_a_rule_that_nothing_would_start_is_refused_at_start(build, monkeypatch, rule, message):
    monkeypatch.setitem(RULES, rule.name, rule)
    with pytest.raises(SettingsError, match=message):
        build()


@pytest.mark.parametrize(
    ("template", "text", "message"),
    [
        (
            "behind.html.j2",
            None,
            "^notification rule 'behind' has no template behind.html.j2 in .*templates$",
        ),
        ("_footer.txt.j2", None, "^notification rule 'returned' has no template _footer.txt.j2 in "),
        (
            "overdue.subject.j2",
            "{% if notice %}第{{ notice }}次",
            "^notification rule 'overdue': template overdue.subject.j2 does not compile: .* [(]line 1[)]$",
        ),
    ],
)
def test_a_missing_or_broken_template_is_refused_at_start(build, templates, template, text, message):
    if text is None:
        (templates / template).unlink()
    else:
        (templates / template).write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        build()


def test_a_rule_the_outbox_does_not_know_is_refused_at_start(build, templates, monkeypatch):
    for template in Finished().templates:
        (templates / template).write_text("遲交", encoding="utf-8")
    monkeypatch.setitem(RULES, "late", Finished())
    with pytest.raises(SettingsError, match="^notification rule 'late' is not in models.RULES"):
        build()
