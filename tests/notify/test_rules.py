"""The rules on plain data: each fires, and does not, around its thresholds."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from services.notify.rules import RULES, Current, Event, Findings, Inputs, Notice, Thresholds, Verdict
from shared.catalog import default_catalog
from shared.periods import TAIPEI

CATALOG = default_catalog()
DIRECTORY = {
    b.id: {
        "id": b.id,
        "name": b.name,
        "name_en": b.name_en,
        "contacts": [{"email": f"{b.id}@x.tw", "name": None}],
    }
    for b in CATALOG.bureaus
}
DEFAULTS = Thresholds()


def at_nine(today: dt.date) -> dt.datetime:
    """09:00 in Taipei, when the daily evaluation runs."""
    return dt.datetime.combine(today, dt.time(9), tzinfo=TAIPEI)


def evaluate(today: dt.date, **given) -> Findings:
    """Every daily rule, in order, on the inputs `given`: the others say nothing, every bureau has an
    address."""
    inputs = Inputs(
        **{
            "directory": DIRECTORY,
            "returned_reports": [],
            "indicators": [],
            "compliance": None,
            "progress": None,
            "overdue_notices": {},
            "outstanding_after_lock": [],
            "now": at_nine(today),
            "thresholds": DEFAULTS,
            "committee_emails": [],
            "coordinator_emails": [],
            "catalog": CATALOG,
            **given,
        }
    )
    found = Findings()
    for rule in RULES.values():
        if rule.scheduled:
            found.extend(rule.evaluate(inputs, today))
    return found


def compliance(statuses: dict[str, str], due: str = "2022-07-10") -> dict:
    """kpi's compliance document of 2022Q2: every bureau, `not_started` unless given."""
    return {
        "year": 2022,
        "quarter": 2,
        "due_date": due,
        "bureaus": [
            {"bureau": b.id, "name": b.name, "status": statuses.get(b.id, "not_started")}
            for b in CATALOG.bureaus
        ],
    }


TODAY = dt.date(2022, 7, 12)  # after the due date of 2022Q2


def keys(findings) -> list[str]:
    return sorted(candidate.key for candidate in findings.candidates)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2022-07-02", []),  # 8 days before the due date
        ("2022-07-03", ["reminder:police:2022Q2:1"]),  # 7 days before
        ("2022-07-10", ["reminder:police:2022Q2:1"]),  # the due date itself
        ("2022-07-11", ["overdue:police:2022Q2:1"]),  # the day after
        ("2022-08-20", ["overdue:police:2022Q2:1"]),  # the first notice, however late notify looks
    ],
)
def test_reminder_then_overdue_around_the_due_date(today, expected):
    document = compliance({b.id: "submitted" for b in CATALOG.bureaus if b.id != "police"})
    found = evaluate(dt.date.fromisoformat(today), compliance=document)
    assert keys(found) == expected


@pytest.mark.parametrize(
    ("last", "today", "expected"),
    [
        (Notice(1, dt.date(2022, 7, 11)), "2022-07-17", []),  # six days after notice 1
        (Notice(1, dt.date(2022, 7, 11)), "2022-07-18", ["overdue:police:2022Q2:2"]),  # seven
        (Notice(2, dt.date(2022, 7, 18)), "2022-07-30", ["overdue:police:2022Q2:3"]),
        (Notice(3, dt.date(2022, 7, 30)), "2022-08-06", ["overdue:police:2022Q2:4"]),
        (Notice(4, dt.date(2022, 8, 6)), "2022-08-13", []),  # at most 4 notices
        (Notice(4, dt.date(2022, 8, 6)), "2022-09-30", []),
    ],
)
def test_overdue_notices_repeat_every_7_days_at_most_4_times(last, today, expected):
    document = compliance({b.id: "submitted" for b in CATALOG.bureaus if b.id != "police"})
    found = evaluate(dt.date.fromisoformat(today), compliance=document, overdue_notices={"police": last})
    assert keys(found) == expected
    if expected:
        assert found.candidates[0].facts["notice"] == last.number + 1
        assert (
            found.candidates[0].facts["days_overdue"]
            == (dt.date.fromisoformat(today) - dt.date(2022, 7, 10)).days
        )


@pytest.mark.parametrize(
    ("status", "fires"),
    [("not_started", True), ("draft", True), ("submitted", False), ("accepted", False), ("returned", False)],
)
def test_only_reports_not_yet_submitted_are_chased(status, fires):
    found = evaluate(dt.date(2022, 7, 12), compliance=compliance({"police": status}))
    assert ("overdue:police:2022Q2:1" in keys(found)) is fires


def test_thresholds_are_settings():
    tight = Thresholds(reminder_days=3, overdue_repeat_days=2, overdue_max_notices=2)
    given = {"compliance": compliance({}), "thresholds": tight}
    assert evaluate(dt.date(2022, 7, 6), **given).candidates == []
    assert keys(evaluate(dt.date(2022, 7, 7), **given))[0] == "reminder:education:2022Q2:1"
    sent = {b.id: Notice(1, dt.date(2022, 7, 11)) for b in CATALOG.bureaus}
    assert (
        keys(evaluate(dt.date(2022, 7, 13), **given, overdue_notices=sent))[0] == "overdue:education:2022Q2:2"
    )
    sent = {b.id: Notice(2, dt.date(2022, 7, 13)) for b in CATALOG.bureaus}
    assert evaluate(dt.date(2022, 7, 15), **given, overdue_notices=sent).candidates == []


def test_a_bureau_without_an_address_is_reported_not_forgotten():
    directory = {**DIRECTORY, "labor": {**DIRECTORY["labor"], "contacts": []}}
    found = evaluate(dt.date(2022, 7, 5), compliance=compliance({}), directory=directory)
    assert "reminder:labor:2022Q2:1" not in keys(found)
    assert found.skipped == [
        {"key": "reminder:labor:2022Q2:1", "reason": "bureau labor has no contact address"}
    ]
    reminder = next(c for c in found.candidates if c.bureau == "police")
    assert reminder.recipients == ["police@x.tw"]
    assert reminder.facts["days_left"] == 5
    assert reminder.facts["due_date_roc"] == "111年7月10日"


def as_intake_gives(report: dict) -> dict:
    """The report with the newest revision of each event beside its history, as intake answers."""
    latest = {}
    for revision in sorted(report.get("history", []), key=lambda revision: revision["number"]):
        latest[revision["event"]] = revision  # the same dicts: a test changing one changes both
    return {**report, "latest_by_event": latest}


def returned_report(number: int = 3, **overrides) -> dict:
    return as_intake_gives(
        {
            "bureau": "health",
            "year": 2022,
            "quarter": 2,
            "status": "returned",
            "due_at": "2022-07-10T23:59:59.999999+08:00",
            "history": [
                {
                    "number": 1,
                    "event": "created",
                    "comment": None,
                    "at": "2022-07-01T02:00:00+00:00",
                    "actor": "health",
                },
                {
                    "number": 2,
                    "event": "submitted",
                    "comment": None,
                    "at": "2022-07-01T02:00:00+00:00",
                    "actor": "health",
                },
                {
                    "number": number,
                    "event": "returned",
                    "comment": "請補充宣導場次之辦理地點",
                    "at": "2022-07-04T02:00:00+00:00",
                    "actor": "coordinator",
                },
            ],
            **overrides,
        }
    )


def test_a_returned_report_is_announced_with_the_coordinators_comment_once_per_return():
    found = evaluate(TODAY, returned_reports=[returned_report()])
    assert keys(found) == ["returned:health:2022Q2:3"]
    assert found.candidates[0].facts["comment"] == "請補充宣導場次之辦理地點"
    assert keys(evaluate(TODAY, returned_reports=[returned_report(number=5)])) == ["returned:health:2022Q2:5"]
    assert evaluate(TODAY, returned_reports=[returned_report(status="submitted")]).candidates == []


def progress(behind: bool, *, due_passed: bool = True) -> dict:
    """kpi's progress of 2022Q2: its judgement on police's sessions, and a caseload metric."""
    return {
        "year": 2022,
        "quarter": 2,
        "due_passed": due_passed,
        "threshold": 0.9,
        "threshold_percent": 90,
        "actions": [
            {
                "action": "1.police.1",
                "bureau": "police",
                "program": "primary",
                "metric": "sessions",
                "metric_name": "辦理場次",
                "unit": "場次",
                "kind": "output",
                "planned_to_date": 10.0,
                "reported_to_date": 8 if behind else 9,
                "ratio": 0.8 if behind else 0.9,
                "percent": 80 if behind else 90,
                "behind": behind,
            },
            {
                "action": "2.police.3",
                "bureau": "police",
                "program": "secondary",
                "metric": "referrals_received",
                "metric_name": "接獲通報件數",
                "unit": "件",
                "kind": "caseload",
                "planned_to_date": None,
                "reported_to_date": 0,
                "ratio": None,
                "percent": None,
                "behind": False,  # demand, never judged
            },
        ],
    }


ALL_IN = compliance({b.id: "submitted" for b in CATALOG.bureaus})


@pytest.mark.parametrize("behind", [True, False])
def test_behind_names_exactly_what_kpi_judges_behind_with_kpis_figures(behind):
    found = evaluate(TODAY, compliance=ALL_IN, progress=progress(behind))
    assert keys(found) == (["behind:police:2022Q2:1"] if behind else [])
    if behind:
        (action,) = found.candidates[0].facts["actions"]
        assert (action["metric_name"], action["planned_to_date"], action["reported_to_date"]) == (
            "辦理場次",
            10.0,
            8,
        )
        assert (action["percent"], found.candidates[0].facts["threshold_percent"]) == (80, 90)


def test_behind_waits_until_kpi_judges_the_quarter():
    assert evaluate(TODAY, compliance=ALL_IN, progress=progress(True, due_passed=False)).candidates == []


def indicator(status: str, latest: int | None = 2) -> dict:
    return {
        "indicator": "secret_filming_male_suspects",
        "name": "妨害秘密(偷拍行為)案男性嫌疑人人數",
        "year": 2022,
        "goal": {"kind": "plan", "baseline_year": 2021, "reduction": 0.03, "text": "均較 110 年下降 3%。"},
        "baseline_year": 2021,
        "status": status,
        "latest_quarter": latest,
        "baseline": 100,
        "target": 97.0,
        "ytd_actual": 60,
        "baseline_ytd": 50,
        "ytd_target": 48.5,
        "change_pct": 20.0,
        "projection": 120.0,
    }


@pytest.mark.parametrize(
    ("status", "fires"),
    [("on_track", False), ("at_risk", True), ("off_track", True), ("no_data", False), ("no_goal", False)],
)
def test_the_committee_hears_of_indicators_at_risk_or_off_track(status, fires):
    found = evaluate(TODAY, indicators=[indicator(status)], committee_emails=["c@x.tw"])
    assert keys(found) == ([f"committee:secret_filming_male_suspects:2022Q2:{status}"] if fires else [])


def test_a_committee_alert_needs_a_quarter_and_an_address_list():
    unknown = [indicator("off_track", latest=None)]
    assert evaluate(TODAY, indicators=unknown, committee_emails=["c@x.tw"]).candidates == []
    found = evaluate(TODAY, indicators=[indicator("off_track")], committee_emails=[])
    assert found.candidates == []
    assert found.skipped[0]["reason"] == "COMMITTEE_EMAILS is empty"


class SourcesNow:
    """Intake and kpi at sending time, as a re-check asks them; counts the questions."""

    def __init__(self, report=None, progress=None, indicators=()):
        self.answers = {"report": report, "progress": progress, "indicators": list(indicators)}
        self.asked: list[str] = []

    def report(self, bureau, year, quarter):
        self.asked.append("report")
        return self.answers["report"]

    def progress(self, year, quarter, bureau):
        self.asked.append("progress")
        return self.answers["progress"]

    def indicators(self, year):
        self.asked.append("indicators")
        return self.answers["indicators"]


def recheck(candidate, today: dt.date, sources: SourcesNow) -> Verdict:
    """The re-check of the candidate's rule, as if it were the outbox row it became."""
    row = SimpleNamespace(
        **{
            name: getattr(candidate, name)
            for name in ("rule", "bureau", "indicator", "year", "quarter", "stage")
        },
        facts=candidate.facts,
    )
    return RULES[candidate.rule].recheck(row, Current(sources, at_nine(today), DEFAULTS, CATALOG))


def only_candidate(today: dt.date, **given):
    (candidate,) = evaluate(today, **given).candidates
    return candidate


POLICE_ONLY = compliance({b.id: "submitted" for b in CATALOG.bureaus if b.id != "police"})
REMINDER = only_candidate(dt.date(2022, 7, 5), compliance=POLICE_ONLY)
OVERDUE = only_candidate(dt.date(2022, 7, 12), compliance=POLICE_ONLY)
RETURNED = only_candidate(TODAY, returned_reports=[returned_report()])
BEHIND = only_candidate(TODAY, compliance=ALL_IN, progress=progress(True))
COMMITTEE = only_candidate(TODAY, indicators=[indicator("at_risk")], committee_emails=["c@x.tw"])


@pytest.mark.parametrize(
    ("candidate", "today", "sources", "reason"),
    [
        (REMINDER, dt.date(2022, 7, 6), SourcesNow(report=None), None),  # not started
        (
            REMINDER,
            dt.date(2022, 7, 6),
            SourcesNow(report={"status": "submitted"}),
            "the report is submitted now",
        ),
        (
            REMINDER,
            dt.date(2022, 7, 11),
            SourcesNow(report={"status": "draft"}),
            "the due date has passed: an overdue notice follows instead",
        ),
        (OVERDUE, TODAY, SourcesNow(report={"status": "draft"}), None),
        (OVERDUE, TODAY, SourcesNow(report={"status": "accepted"}), "the report is accepted now"),
        (RETURNED, TODAY, SourcesNow(report=returned_report()), None),
        (
            RETURNED,
            TODAY,
            SourcesNow(report=returned_report(status="submitted")),
            "the report is submitted now",
        ),
        (
            RETURNED,
            TODAY,
            SourcesNow(report=returned_report(number=5)),
            "the report was returned again since: a newer notice follows",
        ),
        (BEHIND, TODAY, SourcesNow(progress=progress(True)), None),
        (BEHIND, TODAY, SourcesNow(progress=progress(False)), "no action is behind its plan any more"),
        (COMMITTEE, TODAY, SourcesNow(indicators=[indicator("off_track")]), None),
        (COMMITTEE, TODAY, SourcesNow(indicators=[indicator("on_track")]), "the indicator is on_track now"),
        (COMMITTEE, TODAY, SourcesNow(indicators=[]), "the indicator is gone now"),
    ],
)
def test_each_rule_rechecks_its_notification_before_it_is_sent(candidate, today, sources, reason):
    verdict = recheck(candidate, today, sources)
    assert (verdict.send, verdict.reason) == (reason is None, reason or "")


def test_a_batch_asks_each_question_once():
    sources = SourcesNow(report={"status": "draft"})
    current = Current(sources, at_nine(TODAY), DEFAULTS, CATALOG)
    row = SimpleNamespace(
        rule="overdue",
        bureau="police",
        indicator=None,
        year=2022,
        quarter=2,
        stage="1",
        facts={"locked": False},
    )
    assert RULES["overdue"].recheck(row, current).send
    assert RULES["overdue"].recheck(row, current).send
    assert sources.asked == ["report"]


# -- what the change feed's events ask for, and locked quarters -------------------------------------
def event(report: dict, today: dt.date = TODAY, coordinators=()) -> Event:
    return Event(
        report=report,
        directory=DIRECTORY,
        coordinator_emails=list(coordinators),
        catalog=CATALOG,
        now=at_nine(today),
    )


def reacting(report: dict, today: dt.date = TODAY) -> list:
    """The candidates of every rule that reacts to an event of the report."""
    found = Findings()
    for rule in RULES.values():
        if rule.events:
            found.extend(rule.react(event(report, today)))
    return found.candidates


REASON = "衛生局來函說明系統操作問題，同意補報。"


def reopened_report(number: int = 2, status: str = "draft", at: str = "2022-07-05T02:00:00+00:00") -> dict:
    """health's report of 2022Q1, locked since 2022-05-10 and reopened on 2022-07-05 at 10:00 Taipei."""
    return as_intake_gives(
        {
            "bureau": "health",
            "year": 2022,
            "quarter": 1,
            "status": status,
            "due_at": "2022-04-10T23:59:59.999999+08:00",
            "reopened_at": at,
            "history": [
                {
                    "number": 1,
                    "event": "created",
                    "reason": None,
                    "comment": None,
                    "at": at,
                    "actor": "health",
                },
                {
                    "number": number,
                    "event": "reopened",
                    "reason": REASON,
                    "comment": None,
                    "at": at,
                    "actor": "管考",
                },
            ],
        }
    )


def test_a_reopened_quarter_is_announced_with_the_reason_and_until_when_it_is_open():
    (candidate,) = reacting(reopened_report())
    assert candidate.key == "reopened:health:2022Q1:2"
    assert candidate.recipients == ["health@x.tw"]
    # reopened 2022-07-05 10:00 + lock_days (30): open until 2022-08-04 10:00 (the quarter's own lock
    # date, 2022-05-10, is long past), the instant shared.rules.is_locked closes it
    assert candidate.facts["open_until"] == "2022-08-04T02:00:00+00:00"
    assert candidate.facts["open_until_roc"] == "111年8月4日 10:00"
    assert (candidate.facts["reason"], candidate.facts["report_status"]) == (REASON, "draft")


def accepted_report(status: str = "accepted", number: int = 3) -> dict:
    report = returned_report()
    report["history"][-1] = {**report["history"][-1], "event": "accepted", "comment": None, "number": number}
    return as_intake_gives({**report, "status": status})


def test_an_accepted_report_is_announced_once_per_acceptance():
    (candidate,) = reacting(accepted_report())
    assert candidate.key == "accepted:health:2022Q2:3"
    assert candidate.facts["accepted_on_roc"] == "111年7月4日"
    assert reacting(accepted_report(status="returned")) == []  # returned again since: no notice


def test_a_return_seen_in_the_feed_is_the_notice_the_daily_evaluation_would_write():
    (from_feed,) = reacting(returned_report())
    (daily,) = evaluate(TODAY, returned_reports=[returned_report()]).candidates
    assert (from_feed.key, from_feed.facts) == (daily.key, daily.facts)


REOPENED = reacting(reopened_report())[0]
ACCEPTED = reacting(accepted_report())[0]


@pytest.mark.parametrize(
    ("candidate", "today", "sources", "reason"),
    [
        (REOPENED, dt.date(2022, 7, 5), SourcesNow(report=reopened_report()), None),
        (REOPENED, dt.date(2022, 8, 4), SourcesNow(report=reopened_report()), None),  # 09:00: open till 10:00
        (REOPENED, dt.date(2022, 8, 5), SourcesNow(report=reopened_report()), "the quarter has locked again"),
        (
            REOPENED,
            dt.date(2022, 7, 6),
            SourcesNow(report=reopened_report(number=4)),
            "the quarter was reopened again since: a newer notice follows",
        ),
        (ACCEPTED, TODAY, SourcesNow(report=accepted_report()), None),
        (
            ACCEPTED,
            TODAY,
            SourcesNow(report=accepted_report(status="returned")),
            "the report is returned now",
        ),
        (
            ACCEPTED,
            TODAY,
            SourcesNow(report=accepted_report(number=5)),
            "the report was accepted again since: a newer notice follows",
        ),
    ],
)
def test_event_notices_are_rechecked_before_they_are_sent(candidate, today, sources, reason):
    verdict = recheck(candidate, today, sources)
    assert (verdict.send, verdict.reason) == (reason is None, reason or "")


AFTER_LOCK = dt.date(2022, 8, 20)  # 2022Q2 locked for its bureaus at the end of 2022-08-09


def missing(bureau: str = "police", status: str = "not_started", reopened=None) -> dict:
    return {
        "bureau": bureau,
        "year": 2022,
        "quarter": 2,
        "status": status,
        "reopened_at": reopened,
    }


def test_an_overdue_notice_for_a_locked_quarter_asks_for_the_coordinators_not_the_form():
    found = evaluate(
        AFTER_LOCK,
        compliance=POLICE_ONLY,
        outstanding_after_lock=[missing()],
        coordinator_emails=["coord@x.tw"],
    )
    overdue = next(c for c in found.candidates if c.rule == "overdue")
    assert overdue.facts["locked"] is True
    assert (overdue.facts["open_until_roc"], overdue.facts["coordinator_emails"]) == (
        "111年8月9日",
        ["coord@x.tw"],
    )
    # reopened five days ago: the quarter is open, so the notice asks for the report again
    reopened = dt.datetime(2022, 8, 15, 10, tzinfo=TAIPEI)
    found = evaluate(AFTER_LOCK, compliance=POLICE_ONLY, outstanding_after_lock=[missing(reopened=reopened)])
    (overdue,) = [c for c in found.candidates if c.rule == "overdue"]
    assert (overdue.facts["locked"], overdue.facts["open_until_roc"]) == (False, "111年9月14日 10:00")


def test_the_coordinators_get_one_list_a_day_of_the_locked_quarters_still_missing():
    reopened = dt.datetime(2022, 8, 15, 10, tzinfo=TAIPEI)
    older = {**missing("labor", "draft"), "year": 2022, "quarter": 1}
    given = {
        "outstanding_after_lock": [missing(), missing("social", reopened=reopened), older],
        "coordinator_emails": ["coord-a@x.tw", "coord-b@x.tw"],
    }
    (digest,) = [c for c in evaluate(AFTER_LOCK, **given).candidates if c.rule == "locked"]
    assert digest.key == "locked:-:2022Q3:2022-08-20"  # one a day: the day is the stage
    assert digest.recipients == ["coord-a@x.tw", "coord-b@x.tw"]
    lines = [(line["bureau_name"], line["period"], line["report_status"]) for line in digest.facts["reports"]]
    assert lines == [("勞工局", "2022Q1", "draft"), ("警察局", "2022Q2", "not_started")]  # social: reopened
    assert (
        evaluate(AFTER_LOCK, outstanding_after_lock=[missing("social", reopened=reopened)]).candidates == []
    )
    nobody = evaluate(AFTER_LOCK, outstanding_after_lock=[missing()])
    assert nobody.skipped == [{"key": "locked:-:2022Q3:2022-08-20", "reason": "COORDINATOR_EMAILS is empty"}]


LOCKED_OVERDUE = next(
    c
    for c in evaluate(AFTER_LOCK, compliance=POLICE_ONLY, outstanding_after_lock=[missing()]).candidates
    if c.rule == "overdue"
)
DIGEST = next(
    c
    for c in evaluate(
        AFTER_LOCK, outstanding_after_lock=[missing()], coordinator_emails=["c@x.tw"]
    ).candidates
    if c.rule == "locked"
)


REOPENED_SINCE = reopened_report(at="2022-08-18T02:00:00+00:00")  # two days before AFTER_LOCK
SUBMITTED_SINCE = {"status": "submitted", "history": []}


@pytest.mark.parametrize(
    ("candidate", "sources", "reason"),
    [
        (LOCKED_OVERDUE, SourcesNow(report=None), None),
        (LOCKED_OVERDUE, SourcesNow(report=REOPENED_SINCE), "the quarter has been reopened since"),
        (OVERDUE, SourcesNow(report={"status": "draft", "history": []}), "the quarter has locked since"),
        (DIGEST, SourcesNow(report=None), None),
        (
            DIGEST,
            SourcesNow(report=SUBMITTED_SINCE),
            "every listed quarter has been submitted or reopened since",
        ),
        (
            DIGEST,
            SourcesNow(report=REOPENED_SINCE),
            "every listed quarter has been submitted or reopened since",
        ),
    ],
)
def test_notices_about_locked_quarters_are_rechecked_against_the_lock(candidate, sources, reason):
    verdict = recheck(candidate, AFTER_LOCK, sources)
    assert (verdict.send, verdict.reason) == (reason is None, reason or "")


def test_a_return_of_a_locked_quarter_asks_for_a_reopening_first():
    (candidate,) = evaluate(
        AFTER_LOCK, returned_reports=[returned_report()], coordinator_emails=["c@x.tw"]
    ).candidates
    assert (candidate.facts["locked"], candidate.facts["coordinator_emails"]) == (True, ["c@x.tw"])
    (candidate,) = evaluate(TODAY, returned_reports=[returned_report()]).candidates
    assert (candidate.facts["locked"], candidate.facts["open_until_roc"]) == (False, "111年8月9日")
