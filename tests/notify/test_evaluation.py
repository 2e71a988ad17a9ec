"""Evaluations against real intake and kpi processes: which notifications exist, and only once."""

from __future__ import annotations

from tests.notify.world import BUREAUS, days_before_due, only


def test_reminders_go_to_the_bureaus_that_have_not_submitted_once_whatever_happens(
    world, period, make_notify, clock
):
    q = period
    world.submit("police", q.year, q.quarter)
    world.submit("education", q.year, q.quarter)
    world.save_report("health", q.year, q.quarter)  # a draft
    world.sync()

    notify = make_notify()
    clock.now = days_before_due(q, 8)
    assert only(notify.evaluate()["created"], q) == []

    clock.now = days_before_due(q, 7)
    missing = [b for b in BUREAUS if b not in ("police", "education")]
    assert only(notify.evaluate()["created"], q) == sorted(
        f"reminder:{b}:{q.year}Q{q.quarter}:1" for b in missing
    )

    assert only(notify.evaluate()["created"], q) == []  # the same day again
    clock.now = days_before_due(q, 0)
    assert only(notify.evaluate()["created"], q) == []  # a later day of the window
    restarted = make_notify()  # a new app on the same database remembers nothing in memory
    assert only(restarted.evaluate()["created"], q) == []
    assert len(restarted.rows()) == len(missing)
