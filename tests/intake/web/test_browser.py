"""End to end in a real headless Chromium against `python -m services.intake` on 127.0.0.1.

Debian's chromium is driven by Playwright (never `playwright install`). Without it the
tests skip on a workstation, but fail in CI, where .ci/run installs it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook
from playwright.sync_api import expect, sync_playwright

from shared.periods import TAIPEI, Quarter
from tests.helpers.processes import ROOT, ServiceProcess, free_port, run_cli
from tests.intake.web.conftest import SECRET_KEY

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN = "dgbv_browser-test-admin-secret-0123456789"
PASSWORDS = {
    "police": "警察局的密碼 2022!",
    "coordinator": "管考的長密碼 2022",
    "education": "教育局的密碼 2022",
}
SCREENSHOT = ROOT / "docs" / "screenshots" / "report-form.png"
# The real clock runs in the server: the story reports on the quarter that has just ended (a report
# is submitted once its quarter is over), reopened by an admin since it may be locked by now.
QUARTER = Quarter.containing(dt.datetime.now(TAIPEI).date()).previous()
REPORT = f"/reports/police/{QUARTER.year}/{QUARTER.quarter}"


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The intake service as `python -m services.intake` runs it, with users made by the CLI and the API."""
    folder = tmp_path_factory.mktemp("web-e2e")
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'intake.db'}",
        "DGBV_VAR_DIR": str(folder),
        "INTAKE_ADMIN_TOKEN": ADMIN,
        "SECRET_KEY": SECRET_KEY,
        "SESSION_COOKIE_SECURE": "false",  # plain http on 127.0.0.1
    }
    run_cli(["services.intake", "installed-on"], env)  # it holds the plan's history
    process = ServiceProcess(["services.intake"], env, free_port(), folder / "intake.log")
    try:
        process.start()
        for username, name in (("police", "陳警員"), ("education", "林老師")):
            run_cli(
                ["services.intake", "create-user", "--username", username, "--role", "bureau",
                 "--bureau", username, "--name", name, "--password", PASSWORDS[username]],
                env,
            )  # fmt: skip
        admin = {"Authorization": f"Bearer {ADMIN}"}
        created = requests.post(
            process.url + "/api/v1/users",
            json={
                "username": "coordinator",
                "name": "王管考",
                "role": "coordinator",
                "password": PASSWORDS["coordinator"],
            },
            headers=admin,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        # A plan of 400 sessions a year puts the first police action behind plan.
        target = requests.put(
            f"{process.url}/api/v1/targets/{QUARTER.year}/1.police.1/sessions",
            json={"annual": 400},
            headers=admin,
            timeout=30,
        )
        assert target.status_code == 200, target.text
        for bureau in ("police", "education"):
            reopened = requests.post(
                f"{process.url}/api/v1/reports/{bureau}/{QUARTER.year}/{QUARTER.quarter}/reopen",
                json={"reason": "測試：補登本季報告"},
                headers=admin,
                timeout=30,
            )
            assert reopened.status_code == 200, reopened.text
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    with sync_playwright() as playwright:
        # No user_data_dir: Playwright gives every launch a fresh, temporary profile.
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser, server):
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=server.url, locale="zh-TW", **options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, username: str) -> None:
    """Sign in with the keyboard only: type, Tab, type, Enter."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.get_by_label("帳號").fill(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS[username])
    page.keyboard.press("Enter")
    expect(page.get_by_text("已登入。")).to_be_visible()


def value_input(page, action: str, metric: str, sex: str | None = None):
    return page.locator(f"#value-{action.replace('.', '-')}-{metric}" + (f"-{sex}" if sex else ""))


def test_a_bureau_reports_amends_and_round_trips_excel_and_a_coordinator_returns_it(new_page, tmp_path):
    police = new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    sign_in(police, "police")
    expect(police.get_by_role("heading", name="警察局・我的季報")).to_be_visible()
    row = police.get_by_role("row", name=re.compile(QUARTER.label_zh))
    expect(row).to_contain_text("草稿")  # reopened by the admin: an empty draft
    row.get_by_role("link", name=re.compile("繼續填寫")).click()
    expect(police).to_have_url(re.compile(REPORT + "$"))

    # Fill the report, with a word where a number belongs.
    for field in police.locator("input.input-number").all():
        field.fill("2")
    value_input(police, "1.police.1", "sessions").fill("兩場")
    police.get_by_label("備註").first.fill("於三所國中辦理")
    police.get_by_role("button", name="儲存草稿").click()
    error = police.locator("#value-1-police-1-sessions-error")
    expect(error).to_have_text("請填數字（0 以上的整數），不可填文字。")
    expect(police.get_by_role("alert")).to_contain_text("有 1 處需要修正")
    expect(value_input(police, "1.police.1", "sessions")).to_have_value("兩場")  # nothing typed is lost
    expect(value_input(police, "1.police.1", "participants", "female")).to_have_value("2")
    expect(police.get_by_label("備註").first).to_have_value("於三所國中辦理")

    # Fix it and save the draft; the action behind plan asks for reasons.
    value_input(police, "1.police.1", "sessions").fill("3")
    police.get_by_role("button", name="儲存草稿").click()
    expect(police.get_by_text("已儲存草稿。")).to_be_visible()
    expect(police.locator(".behind").first).to_contain_text("進度落後")
    expect(police.get_by_label("落後原因")).to_have_count(1)
    police.screenshot(path=str(tmp_path / "report-form.png"))
    if os.environ.get("DGBV_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "report-form.png", SCREENSHOT)

    # Submitting needs the reasons for the delay and the countermeasures.
    police.get_by_role("button", name="送出報告").click()
    expect(police.locator("#delay_reason-1-police-1-error")).to_have_text(
        "本項進度落後，送出前須填寫落後原因。"
    )
    expect(police.locator("#countermeasure-1-police-1-error")).to_have_text(
        "本項進度落後，送出前須填寫因應對策。"
    )
    police.get_by_label("落後原因").fill("講師檔期延後")
    police.get_by_label("因應對策").fill("下季加開場次")
    police.get_by_role("button", name="送出報告").click()
    expect(police.get_by_text("報告已送出，謝謝！")).to_be_visible()
    expect(police.locator(".report-meta .badge").first).to_have_text("已送出")

    # Amending needs a reason.
    value_input(police, "1.police.1", "participants", "male").fill("120")
    police.get_by_role("button", name="送出修正").click()
    expect(police.locator("#reason-error")).to_have_text("報告已送出，修正時必須填寫修正原因。")
    expect(value_input(police, "1.police.1", "participants", "male")).to_have_value("120")
    police.get_by_label("修正原因", exact=True).fill("漏列一場宣導的參與人次")
    police.get_by_role("button", name="送出修正").click()
    expect(police.get_by_text("修正已送出。")).to_be_visible()

    # Download the template, change it, upload it: first with a wrong cell, then right.
    with police.expect_download() as download:
        police.get_by_role("link", name="下載 Excel 範本").click()
    path = tmp_path / "report.xlsx"
    download.value.save_as(path)
    book = load_workbook(path)
    sheet = book["季報"]
    # Participants by sex: 120 men, 2 women, 2 others; their total is a formula Excel computes.
    assert (sheet["B7"].value, sheet["K7"].value, sheet["L8"].value, sheet["M8"].value) == (
        "1.police.1",
        3,
        120,
        2,
    )
    sheet["L8"] = -5
    book.save(tmp_path / "wrong.xlsx")
    sheet["L8"] = 150
    sheet["O7"] = "以 Excel 更新"
    book.save(tmp_path / "right.xlsx")

    police.get_by_label("填好的 Excel 檔（.xlsx）").set_input_files(tmp_path / "wrong.xlsx")
    police.locator("#upload-reason").fill("以 Excel 更正人次")
    police.get_by_role("button", name="上傳 Excel").click()
    expect(police.locator(".cell-errors")).to_contain_text("工作表「季報」儲存格 L8：不可為負數（-5）。")
    police.get_by_label("填好的 Excel 檔（.xlsx）").set_input_files(tmp_path / "right.xlsx")
    police.locator("#upload-reason").fill("以 Excel 更正人次")
    police.get_by_role("button", name="上傳 Excel").click()
    expect(police.get_by_text("已匯入 Excel 並儲存。")).to_be_visible()
    expect(value_input(police, "1.police.1", "participants", "male")).to_have_value("150")
    expect(
        police.locator(".metric", has=value_input(police, "1.police.1", "participants", "male"))
    ).to_contain_text("目前合計 154")
    expect(police.get_by_label("備註").first).to_have_value("以 Excel 更新")

    # History: who changed what, and when.
    police.get_by_role("link", name="修改紀錄").click()
    expect(police.get_by_role("heading", name=re.compile("第 6 版：送出修正"))).to_be_visible()
    expect(police.locator("article.revision").first).to_contain_text("以 Excel 更正人次")

    # A coordinator returns it with a comment; the bureau reads it.
    coordinator = new_page(viewport={"width": 1280, "height": 900})
    sign_in(coordinator, "coordinator")
    coordinator.get_by_label("期別").select_option(str(QUARTER))
    coordinator.get_by_role("button", name="查看").click()
    police_row = coordinator.get_by_role("row", name=re.compile("警察局"))
    expect(police_row).to_contain_text("已送出")
    police_row.get_by_role("link", name=re.compile("開啟")).click()
    coordinator.get_by_role("button", name="退回報告").click()
    expect(coordinator.locator("#comment-error")).to_have_text("請填寫退回意見，說明需要補正的地方。")
    coordinator.get_by_label("退回意見").fill("第1項參與人次與簽到表不符，請更正。")
    coordinator.get_by_role("button", name="退回報告").click()
    expect(
        coordinator.get_by_text(f"已退回警察局{QUARTER.label_zh}的報告，並以電子郵件通知機關。")
    ).to_be_visible()
    expect(coordinator.get_by_role("row", name=re.compile("警察局"))).to_contain_text("已退回")

    police.goto(REPORT)
    expect(police.get_by_role("note")).to_contain_text("第1項參與人次與簽到表不符，請更正。")
    expect(police.get_by_role("button", name="送出報告")).to_be_visible()


def test_the_form_works_at_phone_width_with_a_label_on_every_input(new_page):
    phone = new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    sign_in(phone, "education")
    phone.goto(f"/reports/education/{QUARTER.year}/{QUARTER.quarter}")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("教育局")
    for path in (phone.url, "/quarters"):
        phone.goto(path)
        width = phone.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (path, width)
        unlabelled = phone.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
                 .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"""
        )
        assert unlabelled == [], path


def test_the_keyboard_reaches_the_content_first_and_focus_is_visible(new_page):
    page = new_page(viewport={"width": 1024, "height": 800})
    sign_in(page, "education")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "跳至主要內容"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    outline = page.evaluate(
        """() => { const link = document.querySelector('main a');
                   link.focus(); return getComputedStyle(link).outlineStyle; }"""
    )
    assert outline == "solid"
