"""The quarterly 管考 report end to end: real intake and kpi processes on 127.0.0.1 with demo data,
the page read over HTTP and in Debian's Chromium, printed to an A4 PDF.

intake runs as `python -m services.intake` (the development server `make run` starts): the page asks
kpi over HTTP, and kpi checks intake's token by asking intake back while the page waits, so these
tests also prove that this round trip does not deadlock.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect, sync_playwright
from pypdf import PdfReader

from shared.periods import Quarter
from tests.helpers.processes import ROOT, ServiceProcess, free_port, run_cli
from tests.helpers.secrets import METRICS_TOKEN
from tests.intake.web.conftest import SECRET_KEY
from tests.intake.web.test_browser import CHROMIUM, CHROMIUM_ARGS

ADMIN = "dgbv_quarterly-report-admin-0123456789abcdef"
PASSWORDS = {"committee": "委員會委員的長密碼 115", "police": "警察局的長密碼 115"}
SCREENSHOT = ROOT / "docs" / "screenshots" / "quarterly-report.png"


class Deployment:
    def __init__(self, intake: ServiceProcess, kpi: ServiceProcess):
        self.intake, self.kpi = intake, kpi
        self.admin = {"Authorization": f"Bearer {ADMIN}"}

    def kpi_get(self, path: str, **params):
        response = requests.get(
            self.kpi.url + "/api/v1" + path, params=params, headers=self.admin, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()

    def intake_get(self, path: str):
        response = requests.get(self.intake.url + "/api/v1" + path, headers=self.admin, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """intake with demo data and kpi synced from it, each its own process, as `make run` starts them."""
    folder = tmp_path_factory.mktemp("quarterly-report")
    common = {"DGBV_VAR_DIR": str(folder), "WEB_WORKERS": "1"}
    intake_env = {
        **common,
        "DATABASE_URL": f"sqlite:///{folder / 'intake.db'}",
        "INTAKE_ADMIN_TOKEN": ADMIN,
        "SECRET_KEY": SECRET_KEY,
        "SESSION_COOKIE_SECURE": "false",
    }
    run_cli(["services.intake", "migrate"], intake_env)
    run_cli(["services.intake", "demo-data", "--if-empty"], intake_env)
    service = run_cli(
        ["services.intake", "mint-token", "--role", "service", "--name", "kpi"], intake_env
    ).strip()
    for username, role, bureau, name in (
        ("committee", "viewer", None, "林委員"),
        ("police", "bureau", "police", "陳警員"),
    ):
        run_cli(
            ["services.intake", "create-user", "--username", username, "--role", role, "--name", name,
             "--password", PASSWORDS[username], *(["--bureau", bureau] if bureau else [])],
            intake_env,
        )  # fmt: skip
    intake_port, kpi_port = free_port(), free_port()
    kpi_url = f"http://127.0.0.1:{kpi_port}"
    intake = ServiceProcess(
        ["services.intake"],
        {**intake_env, "KPI_URL": kpi_url, "INTAKE_TOKEN": service},
        intake_port,
        folder / "intake.log",
    )
    kpi = ServiceProcess(
        ["services.kpi"],
        {
            **common,
            "DATABASE_URL": f"sqlite:///{folder / 'kpi.db'}",
            "INTAKE_URL": intake.url,
            "INTAKE_TOKEN": service,
            "METRICS_TOKEN": METRICS_TOKEN,
        },
        kpi_port,
        folder / "kpi.log",
    )
    try:
        intake.start()
        kpi.start()
        found = Deployment(intake, kpi)
        deadline = time.monotonic() + 90
        while not found.kpi_get("/status").get("current_quarter") or found.kpi_get("/status")["cursor"] == 0:
            assert time.monotonic() < deadline, kpi.log()
            time.sleep(0.5)
        yield found
    finally:
        kpi.stop()
        intake.stop()


def signed_in(deployment: Deployment, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(deployment.intake.url + "/sign-in", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        deployment.intake.url + "/sign-in",
        data={"csrf_token": token, "username": username, "password": PASSWORDS[username]},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303, answer.text
    return session


def page_text(markup: str) -> str:
    """What a reader sees: the markup without tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_the_page_shows_kpis_judgements_of_the_current_quarter_with_the_bureaus_own_words(deployment):
    committee = signed_in(deployment, "committee")
    started = time.monotonic()
    page = committee.get(deployment.intake.url + "/quarterly-report", timeout=60)
    assert page.status_code == 200, page.text[:2000]
    # intake -> kpi -> intake (token introspection) answered at once, not after a timeout.
    assert time.monotonic() - started < 30
    text = page_text(page.text)
    status = deployment.kpi_get("/status")
    current = Quarter.parse(status["current_quarter"])
    assert f"管考季報：{current.label_zh}" in text
    assert "示範資料" in text  # the demo data says so

    # The three indicators, with kpi's verdicts in words.
    indicators = deployment.kpi_get("/indicators", year=current.year)
    assert len(indicators) == 3
    labels = {"on_track": "符合目標進度", "at_risk": "有未達目標之風險", "off_track": "偏離目標"}
    for item in indicators:
        assert item["name"] in text
        assert labels.get(item["status"], "") in text
    assert text.count("犯罪黑數") >= 3  # beside the indicators, the trends, the caseload and the tables
    assert "故上揭案類數據均有偏低情形" in text

    # Compliance: the bureau kpi finds overdue is named as such.
    compliance = deployment.kpi_get("/compliance", year=current.year, quarter=current.quarter)
    overdue = [row for row in compliance["bureaus"] if row["state"] == "overdue"]
    assert overdue, "the demo data leaves one bureau unreported"
    for row in overdue:
        assert re.search(rf"{row['name']}\s*\S+\s*已逾期 {row['days_overdue']} 天，尚未送出", text)

    # Every action kpi judges behind plan, with the bureau's reasons quoted from its report.
    progress = deployment.kpi_get("/progress", year=current.year, quarter=current.quarter)
    behind = {(row["bureau"], row["action"]) for row in progress["actions"] if row["state"] == "behind"}
    assert behind, "the demo data puts an action behind plan"
    assert page.text.count('<article class="behind-action') == len(behind)
    for bureau, action in behind:
        report = deployment.intake_get(f"/reports/{bureau}/{current.year}/{current.quarter}")
        entry = next(a for a in report["actions"] if a["action"] == action)
        for words in (entry["delay_reason"], entry["countermeasure"]):
            assert (
                words
                and f'<blockquote class="pre">{html.escape(words, quote=False)}</blockquote>' in page.text
            )

    # Charts are inline SVG whose text stays text.
    assert page.text.count('<svg role="img"') == 3
    assert "<text" in page.text and "基準年" in page.text and "style=" not in page.text


def test_tables_1_to_3_show_what_kpi_withholds_under_the_small_cell_rule(deployment):
    committee = signed_in(deployment, "committee")
    page = committee.get(deployment.intake.url + "/quarterly-report", timeout=60)
    current = Quarter.parse(deployment.kpi_get("/status")["current_quarter"])
    withheld = 0
    for kind, category in (("suspects", "secret_filming"), ("victims", "secret_filming"), ("suspects", "obscene_distribution")):  # fmt: skip
        table = deployment.kpi_get(
            f"/tables/{kind}", category=category, from_year=current.year - 2, to_year=current.year - 1
        )
        assert table["title"] in page.text
        withheld += table["disclosure"]["suppressed_cells"]
    assert withheld > 0, "the demo data has small cells"
    assert page.text.count('<td class="withheld">x</td>') == withheld
    assert "說明：x 表示不陳示" in page.text


def test_any_tracked_quarter_can_be_chosen_and_an_unknown_one_is_not_found(deployment):
    committee = signed_in(deployment, "committee")
    page = committee.get(deployment.intake.url + "/quarterly-report?period=2022Q2", timeout=60)
    assert page.status_code == 200
    assert "管考季報：民國111年第2季" in page_text(page.text)
    assert '<option value="2022Q2" selected>民國111年第2季</option>' in page.text
    missing = committee.get(deployment.intake.url + "/quarterly-report?period=2015Q1", timeout=30)
    assert missing.status_code == 404
    assert "沒有這個期別的管考季報" in missing.text


def test_a_bureau_user_cannot_open_the_report(deployment):
    police = signed_in(deployment, "police")
    page = police.get(deployment.intake.url + "/quarterly-report", timeout=30)
    assert page.status_code == 403
    assert "管考季報" not in police.get(deployment.intake.url + "/quarters", timeout=30).text


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


def pdf_pages(path: Path) -> list[str]:
    """The text of each page. Chromium's CJK fonts map some characters to radical forms (⺠ for 民):
    NFKC and the one supplement radical the report uses bring them back."""
    return [
        unicodedata.normalize("NFKC", page.extract_text()).replace("⺠", "民")
        for page in PdfReader(path).pages
    ]


def test_a_committee_member_opens_the_report_from_the_menu_and_prints_it_on_a4(
    deployment, chromium, tmp_path
):
    current = Quarter.parse(deployment.kpi_get("/status")["current_quarter"])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                base_url=deployment.intake.url, locale="zh-TW", viewport={"width": 1100, "height": 900}
            )
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto("/")
            page.get_by_label("帳號").fill("committee")
            page.get_by_label("密碼").fill(PASSWORDS["committee"])
            page.keyboard.press("Enter")
            expect(page.get_by_text("已登入。")).to_be_visible()
            page.get_by_role("navigation", name="主選單").get_by_role("link", name="管考季報").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(f"管考季報：{current.label_zh}")
            expect(page.get_by_role("button", name="列印 / 另存 PDF")).to_be_visible()  # shown by print.js
            expect(page.get_by_role("img", name=re.compile("三項成效指標各季人數"))).to_be_visible()
            page.set_viewport_size({"width": 1100, "height": 1500})  # the summary, indicators and chart
            page.screenshot(path=str(tmp_path / "quarterly-report.png"))
            if os.environ.get("DGBV_UPDATE_SCREENSHOTS") == "1":
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(tmp_path / "quarterly-report.png", SCREENSHOT)

            # The button prints (window.print); the document it prints is the page under print media.
            page.evaluate("window.print = () => { window.__printed = true }")
            page.get_by_role("button", name="列印 / 另存 PDF").click()
            assert page.evaluate("window.__printed") is True
            page.pdf(path=str(tmp_path / "report.pdf"), format="A4")
        finally:
            browser.close()

    reader = PdfReader(tmp_path / "report.pdf")
    for sheet in reader.pages:  # A4: 210 x 297 mm, 595.3 x 841.9 points (Chromium rounds to whole pixels)
        assert (
            abs(float(sheet.mediabox.width) - 595.3) < 1.5 and abs(float(sheet.mediabox.height) - 841.9) < 1.5
        )
    pages = pdf_pages(tmp_path / "report.pdf")
    assert 4 <= len(pages) <= 12, len(pages)
    assert f"管考季報:{current.label_zh}" in pages[0].replace(" ", "")
    whole = "\n".join(pages)
    for words in (
        "一、成效指標與目標",
        "三、各機關季報填報情形",
        "四、進度落後的具體作法",
        "落後原因",
        "因應對策",
        "犯罪黑數",
    ):
        assert words in whole, words
    # The print stylesheet: no menu or buttons on paper, and the plan's tables start a page of their own.
    assert "登出" not in whole and "列印 / 另存 PDF" not in whole and "各機關填報狀況" not in whole
    tables_page = next(i for i, text in enumerate(pages) if "六、性別統計表" in text)
    assert pages[tables_page].lstrip().startswith("六、性別統計表")
    assert "表一" in whole and "表二" in whole and "表三" in whole


def test_when_kpi_is_down_the_page_says_so_in_chinese_and_what_to_do(deployment):
    """Last in this module: it stops kpi."""
    committee = signed_in(deployment, "committee")
    deployment.kpi.stop()
    page = committee.get(deployment.intake.url + "/quarterly-report", timeout=60)
    assert page.status_code == 503
    text = page_text(page.text)
    assert "目前無法產生" in text and "無法連線到成效統計服務（kpi" in text
    assert "請稍候幾分鐘後重新整理本頁" in text and "各機關填報狀況" in text
    assert "Traceback" not in page.text and "Internal Server Error" not in page.text


def test_a_burst_of_readers_on_a_cold_kpi_never_deadlocks_intake(deployment):
    """After the test above: kpi starts again with no token checked yet, and ten committee members open
    the report at once. Each report waits for kpi, which asks intake to check the token; intake makes
    at most REPORT_CONCURRENCY (2) reports at once of its 4 threads, so that call is always served.
    Every reader gets the report or, at once, a 503 asking to reload: never kpi's token check timing
    out into an error page."""
    deployment.kpi.start()
    first = signed_in(deployment, "committee")

    def read(_):
        reader = requests.Session()
        reader.cookies.update(first.cookies)
        began = time.monotonic()
        answer = reader.get(deployment.intake.url + "/quarterly-report", timeout=60)
        return answer, time.monotonic() - began

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(read, range(10)))
    for answer, seconds in answers:
        assert answer.status_code in (200, 503), answer.status_code
        if answer.status_code == 503:
            assert "目前同時產生管考季報的人數較多" in answer.text and answer.headers["Retry-After"] == "5"
        assert "無法產生" not in answer.text, page_text(answer.text)[:500]
        assert seconds < 30
    assert any(answer.status_code == 200 for answer, _ in answers)
