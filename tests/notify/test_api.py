"""The notify API as coordinators use it, with tokens that intake (a real process) vouches for."""

from __future__ import annotations

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.processes import free_port
from tests.helpers.secrets import METRICS_TOKEN, SCRAPE_HEADERS
from tests.notify.world import BUREAUS, days_before_due, only, sqlite_only

# The outbox's queries run on both backends in test_delivery; the API's views are the same on each.
pytestmark = sqlite_only


def metrics(notify) -> dict:
    text = notify.client.get("/metrics").get_data(as_text=True)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(("dgbv_notifications", "dgbv_outbox", "dgbv_notify"))
    }


def test_the_outbox_metrics_need_the_scrape_token_once_it_is_set(make_notify):
    # Operational counters only: open while METRICS_TOKEN is unset (README, "Scraping /metrics").
    assert make_notify().client.get("/metrics").status_code == 200
    closed = make_notify(METRICS_TOKEN=METRICS_TOKEN).client
    assert closed.get("/metrics").status_code == 401
    assert closed.get("/metrics", headers=SCRAPE_HEADERS).status_code == 200


def test_only_admins_and_coordinators_may_use_the_api(world, notify):
    assert notify.api(None, "GET", "/api/v1/notifications").status_code == 401
    refused = notify.api("viewer", "GET", "/api/v1/notifications")
    assert refused.status_code == 403
    assert refused.content_type == "application/problem+json"
    assert notify.api("police", "POST", "/api/v1/evaluations", json={}).status_code == 403
    assert notify.api("coordinator", "GET", "/api/v1/notifications").status_code == 200
    assert notify.api("admin", "GET", "/api/v1/silences").status_code == 200
    spec = notify.client.get("/openapi.json").json
    assert "/api/v1/notifications/{notification_id}/resend" in spec["paths"]


def test_a_dry_run_lists_what_would_be_sent_and_writes_nothing(world, period, notify, clock):
    world.submit("police", period.year, period.quarter)
    world.sync()
    clock.now = days_before_due(period, 3)

    preview = notify.api("coordinator", "POST", "/api/v1/evaluations", json={"dry_run": True})
    assert preview.status_code == 200
    mine = [
        c for c in preview.json["candidates"] if c["year"] == period.year and c["quarter"] == period.quarter
    ]
    assert len(mine) == len(BUREAUS) - 1 and all(c["new"] for c in mine)
    assert mine[0]["subject"].startswith(f"【提醒】{period.label_zh}")
    assert notify.rows() == []

    done = notify.api("coordinator", "POST", "/api/v1/evaluations", json={"dry_run": False}).json
    assert len(only(done["created"], period)) == len(BUREAUS) - 1
    listed = notify.api("coordinator", "GET", "/api/v1/notifications?rule=reminder&status=pending").json
    assert {n["bureau"] for n in listed} >= set(BUREAUS) - {"police"}
    detail = notify.api("coordinator", "GET", f"/api/v1/notifications/{listed[0]['id']}").json
    assert detail["body_text"].startswith("新北市政府")
    assert detail["facts"]["period_label"] == period.label_zh
    evaluations = notify.api("admin", "GET", "/api/v1/evaluations").json
    assert [e["trigger"] for e in evaluations] == ["api"]


def test_cancel_and_resend(world, period, notify, smtp, clock):
    clock.now = days_before_due(period, 3)
    notify.evaluate()
    police = notify.rows(bureau="police", year=period.year, quarter=period.quarter)[0]
    path = f"/api/v1/notifications/{police.id}"

    cancelled = notify.api("coordinator", "POST", path + "/cancel")
    assert (cancelled.status_code, cancelled.json["status"]) == (200, "cancelled")
    assert cancelled.json["status_reason"] == "cancelled by coordinator"
    assert notify.api("coordinator", "POST", path + "/cancel").status_code == 409
    notify.deliver()
    assert police.dedup_key not in smtp.delivered()

    assert notify.api("coordinator", "POST", path + "/resend").json["status"] == "pending"
    notify.deliver()
    assert smtp.delivered().count(police.dedup_key) == 1
    resent = notify.api("admin", "POST", path + "/resend").json  # a deliberate second copy
    assert resent["status"] == "pending"
    notify.deliver()
    assert smtp.delivered().count(police.dedup_key) == 2
    assert notify.api("coordinator", "GET", path).json["deliveries"] == 2
    assert notify.api("coordinator", "POST", "/api/v1/notifications/999999/resend").status_code == 404


def test_a_silenced_bureau_hears_nothing_until_the_silence_ends(world, period, notify, smtp, clock):
    clock.now = days_before_due(period, 6)
    until = (clock.now + dt.timedelta(days=2)).date().isoformat()
    created = notify.api(
        "coordinator",
        "POST",
        "/api/v1/silences",
        json={"rule": "reminder", "bureau": "social", "until": until, "comment": "承辦人休假"},
    )
    assert created.status_code == 201 and created.json["active"] is True
    silence = created.json["id"]

    summary = notify.evaluate()
    key = f"reminder:social:{period.year}Q{period.quarter}:1"
    assert key not in summary["created"]
    assert {"key": key, "reason": f"silenced until {until} (silence {silence})"} in summary["skipped"]

    clock.advance(days=3)  # the silence has ended
    assert key in notify.evaluate()["created"]
    listed = notify.api("coordinator", "GET", "/api/v1/silences?active=false").json
    assert [s["id"] for s in listed] == [silence]

    # a silence that begins after the evaluation still stops the message before it is sent
    health = f"reminder:health:{period.year}Q{period.quarter}:1"
    notify.api("coordinator", "PATCH", f"/api/v1/silences/{silence}", json={"until": "2099-12-31"})
    notify.api(
        "coordinator",
        "POST",
        "/api/v1/silences",
        json={"rule": "reminder", "bureau": "health", "until": "2099-12-31"},
    )
    notify.deliver()
    assert key not in smtp.delivered() and health not in smtp.delivered()
    assert notify.statuses()[key] == "cancelled"

    assert notify.api("coordinator", "DELETE", f"/api/v1/silences/{silence}").status_code == 204
    assert notify.api("coordinator", "GET", f"/api/v1/silences/{silence}").status_code == 404
    wrong = notify.api(
        "coordinator",
        "POST",
        "/api/v1/silences",
        json={"rule": "reminder", "bureau": "nobody", "until": until},
    )
    assert wrong.status_code == 422
    wrong = notify.api(
        "coordinator",
        "POST",
        "/api/v1/silences",
        json={"rule": "sometimes", "bureau": "police", "until": until},
    )
    assert wrong.status_code == 422


def test_metrics_are_read_from_the_outbox(world, period, notify, smtp, clock):
    clock.now = days_before_due(period, 4)
    before = metrics(notify)
    assert before[("dgbv_notify_last_evaluation_timestamp_seconds", ())] == 0
    notify.evaluate()
    waiting = metrics(notify)
    reminders = len(notify.rows(rule="reminder"))
    assert (
        waiting[("dgbv_notifications_created_total", (("rule", "reminder"), ("rule_name", "提醒")))]
        == reminders
    )
    assert waiting[("dgbv_outbox_pending", ())] == reminders
    assert waiting[("dgbv_notify_last_evaluation_timestamp_seconds", ())] == clock().timestamp()
    clock.advance(minutes=10)
    assert metrics(notify)[("dgbv_outbox_oldest_pending_age_seconds", ())] == 600

    smtp.mailbox.answers = ["550 5.1.1 No such user"]
    notify.deliver()
    after = metrics(notify)
    assert (
        after[("dgbv_notifications_sent_total", (("rule", "reminder"), ("rule_name", "提醒")))]
        == reminders - 1
    )
    assert after[("dgbv_notifications_failed_total", (("rule", "reminder"), ("rule_name", "提醒")))] == 1
    assert after[("dgbv_outbox_pending", ())] == 0
    assert after[("dgbv_outbox_oldest_pending_age_seconds", ())] == 0
    assert (
        after[("dgbv_notifications_created_total", (("rule", "committee"), ("rule_name", "指標警示")))] == 0
    )


def test_an_evaluation_that_cannot_reach_kpi_answers_503_and_is_recorded(world, make_notify, clock):
    notify = make_notify(KPI_URL=f"http://127.0.0.1:{free_port()}")
    answer = notify.api("coordinator", "POST", "/api/v1/evaluations", json={})
    assert answer.status_code == 503
    assert "A source could not be asked" in answer.json["detail"]
    (evaluation,) = notify.api("coordinator", "GET", "/api/v1/evaluations").json
    assert evaluation["outcome"] == "error"
    assert notify.rows() == []


def test_deeply_nested_json_is_a_clear_400_before_it_is_parsed(notify):
    for body in ("[" * 100_000 + "]" * 100_000, '{"dry_run":' * 50_000 + "true" + "}" * 50_000):
        response = notify.api(
            "coordinator", "POST", "/api/v1/evaluations", data=body, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.content_type == "application/problem+json"
        assert response.json["detail"] == "The JSON body nests deeper than 32 levels."
    assert notify.api("admin", "GET", "/api/v1/evaluations").json == []


def test_paging_beyond_any_database_integer_is_a_clear_422(notify):
    for query in ("offset=3313151046385623746224324608", "limit=3313151046385623746224324608", "offset=-1"):
        response = notify.api("coordinator", "GET", f"/api/v1/notifications?{query}")
        assert response.status_code == 422, query
        assert response.content_type == "application/problem+json"
    assert notify.api("coordinator", "GET", f"/api/v1/notifications?offset={2**62}").json == []
