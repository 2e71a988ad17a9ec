"""In a real Chromium: two tabs of one bureau, a coordinator accepting a page gone stale, reopening a
locked quarter from the overview, and where an Excel upload's errors appear."""

# ruff: noqa: F811 - the browser fixtures are imported from test_browser and named as parameters

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.helpers.processes import ServiceProcess, free_port, run_cli
from tests.intake.conftest import full_report
from tests.intake.web.conftest import SECRET_KEY
from tests.intake.web.test_browser import (  # noqa: F401 - fixtures
    ADMIN,
    PASSWORDS,
    QUARTER,
    REPORT,
    browser,
    chromium,
    new_page,
    sign_in,
    value_input,
)

LOCKED = QUARTER.previous()  # ended long enough ago to be locked


def api_path(bureau: str, quarter=QUARTER) -> str:
    return f"/api/v1/reports/{bureau}/{quarter.year}/{quarter.quarter}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Intake as `python -m services.intake` runs it: police and a coordinator; the quarter just
    ended reopened for police and health; health's report submitted, waiting for review."""
    folder = tmp_path_factory.mktemp("web-stale")
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'intake.db'}",
        "DGBV_VAR_DIR": str(folder),
        "INTAKE_ADMIN_TOKEN": ADMIN,
        "SECRET_KEY": SECRET_KEY,
        "SESSION_COOKIE_SECURE": "false",
    }
    run_cli(["services.intake", "installed-on"], env)
    process = ServiceProcess(["services.intake"], env, free_port(), folder / "intake.log")
    try:
        process.start()
        admin = {"Authorization": f"Bearer {ADMIN}"}
        for username, name, role, bureau in (
            ("police", "陳警員", "bureau", "police"),
            ("coordinator", "王管考", "coordinator", None),
        ):
            body = {"username": username, "name": name, "role": role, "password": PASSWORDS[username]}
            if bureau:
                body["bureau"] = bureau
            created = requests.post(process.url + "/api/v1/users", json=body, headers=admin, timeout=30)
            assert created.status_code == 201, created.text
        for bureau in ("police", "health"):
            reopened = requests.post(
                process.url + api_path(bureau) + "/reopen",
                json={"reason": "測試：補登本季報告"},
                headers=admin,
                timeout=30,
            )
            assert reopened.status_code == 200, reopened.text
        health = process.url + api_path("health")
        saved = requests.put(
            health, json=full_report("health", 2), headers={**admin, "If-Match": '"1"'}, timeout=30
        )
        assert saved.status_code == 200, saved.text
        submitted = requests.post(
            health + "/submit", headers={**admin, "If-Match": saved.headers["ETag"]}, timeout=30
        )
        assert submitted.status_code == 200, submitted.text
        yield process
    finally:
        process.stop()


def test_two_tabs_of_one_bureau_never_overwrite_each_other(new_page):
    first = new_page(viewport={"width": 1280, "height": 1000})
    sign_in(first, "police")
    second = first.context.new_page()
    for tab in (first, second):
        tab.goto(REPORT)
    value_input(first, "1.police.1", "sessions").fill("5")
    first.get_by_role("button", name="儲存草稿").click()
    expect(first.get_by_text("已儲存草稿。")).to_be_visible()

    second.get_by_label("備註").first.fill("第二個分頁的備註")
    second.get_by_role("button", name="儲存草稿").click()
    expect(second.get_by_role("alert")).to_contain_text("您開啟這個頁面之後，報告已由第 1 版更新為第 2 版")
    expect(second.get_by_label("備註").first).to_have_value("第二個分頁的備註")  # nothing typed is lost
    changes = second.locator("section.missed")
    expect(changes).to_contain_text("第 2 版：儲存草稿")
    expect(changes.get_by_role("row", name=re.compile("1.police.1 辦理場次"))).to_contain_text("5")

    # Having read what changed, the clerk takes it in and saves again.
    value_input(second, "1.police.1", "sessions").fill("5")
    second.get_by_role("button", name="儲存草稿").click()
    expect(second.get_by_text("已儲存草稿。")).to_be_visible()
    first.reload()
    expect(value_input(first, "1.police.1", "sessions")).to_have_value("5")
    expect(first.get_by_label("備註").first).to_have_value("第二個分頁的備註")


def test_a_coordinator_cannot_accept_content_never_seen(new_page, server):
    coordinator = new_page(viewport={"width": 1280, "height": 900})
    sign_in(coordinator, "coordinator")
    coordinator.goto(f"/reports/health/{QUARTER.year}/{QUARTER.quarter}")
    expect(coordinator.get_by_role("button", name="核定第 3 版報告")).to_be_visible()

    # Meanwhile the report is amended: every value set to 0.
    health = server.url + api_path("health")
    admin = {"Authorization": f"Bearer {ADMIN}"}
    amended = requests.put(
        health,
        json={**full_report("health", 0), "reason": "全部歸零"},
        headers={**admin, "If-Match": '"3"'},
        timeout=30,
    )
    assert amended.status_code == 200, amended.text

    coordinator.get_by_role("button", name="核定第 3 版報告").click()
    expect(coordinator.get_by_role("alert")).to_contain_text("報告已由第 3 版更新為第 4 版")
    expect(coordinator.locator("section.missed")).to_contain_text("第 4 版：送出修正")
    assert requests.get(health, headers=admin, timeout=30).json()["status"] == "submitted"
    coordinator.get_by_role("button", name="核定第 4 版報告").click()
    expect(coordinator.get_by_text(f"已核定衛生局{QUARTER.label_zh}的報告。")).to_be_visible()
    assert requests.get(health, headers=admin, timeout=30).json()["status"] == "accepted"


def test_a_coordinator_reopens_a_locked_quarter_from_the_overview(new_page):
    coordinator = new_page(viewport={"width": 1280, "height": 900})
    sign_in(coordinator, "coordinator")
    coordinator.goto(f"/overview?period={LOCKED}")
    row = coordinator.get_by_role("row", name=re.compile("勞工局"))
    expect(row).to_contain_text("已鎖定")
    row.get_by_label("勞工局重新開放原因").fill("勞工局申請補登")
    row.get_by_role("button", name=re.compile("重新開放")).click()
    expect(coordinator.get_by_text(re.compile(f"已重新開放勞工局{LOCKED.label_zh}的填報至"))).to_be_visible()
    expect(coordinator.get_by_role("row", name=re.compile("勞工局"))).not_to_contain_text("已鎖定")
    expect(coordinator.get_by_role("row", name=re.compile("社會局"))).to_contain_text("已鎖定")


def test_excel_errors_appear_at_the_top_beside_the_upload_and_take_the_focus(new_page, tmp_path):
    police = new_page(viewport={"width": 1280, "height": 900})
    sign_in(police, "police")
    police.goto(REPORT)
    not_a_workbook = tmp_path / "季報.xlsx"
    not_a_workbook.write_bytes(b"this is not a workbook")
    police.get_by_label("填好的 Excel 檔（.xlsx）").set_input_files(not_a_workbook)
    police.get_by_role("button", name="上傳 Excel").click()

    errors = police.locator("#upload-errors")
    expect(errors).to_be_visible()
    expect(errors).to_be_focused()
    expect(errors).to_be_in_viewport()
    box = errors.bounding_box()
    upload = police.get_by_label("填好的 Excel 檔（.xlsx）").bounding_box()
    first_action = police.locator("fieldset.action").first.bounding_box()
    assert box["y"] < first_action["y"]  # above the long form, not 3,000 px below
    assert abs(upload["y"] - box["y"]) < 400  # beside the upload control
