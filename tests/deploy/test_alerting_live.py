"""The whole path of an alert: a real Prometheus, configured as shipped, evaluates the shipped rules
against the series it scrapes and sends what fires to a real Alertmanager, configured as shipped,
which e-mails the audience through a real SMTP server: first from kpi's series as the label
contract gives them, then from the three real services holding a quarter's reports."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from shared.catalog import default_catalog
from shared.periods import Quarter
from tests.deploy.test_prometheus_live import ADMIN, services  # noqa: F401 - the three real services, with data
from tests.helpers.alerting import ADDRESSES, MailCatcher, html_of, start_alertmanager, text_of
from tests.helpers.prometheus import start_prometheus
from tests.helpers.secrets import METRICS_TOKEN

# The deployment's public addresses, as .env gives them: the links must be built from these.
INTAKE_URL = "https://dgbv.ntpc.test"
GRAFANA_URL = "https://grafana.ntpc.test"
CURRENT = {"year": "2026", "quarter": "3", "year_name": "民國115年", "period_name": "民國115年第3季"}


class KpiSeries:
    """What kpi serves under the label contract, at the current reporting quarter 民國115年第3季:
    education's report open and 12 days overdue, health's 2022 gap long locked (history only), and
    one indicator off track this year."""

    def collect(self):
        def gauge(name, labels: dict, value):
            family = GaugeMetricFamily(name, name, labels=list(labels))
            family.add_metric(list(labels.values()), value)
            return family

        yield gauge("dgbv_current_period", {**CURRENT, "period": "民國115年第3季"}, 1)
        education = {"bureau": "education", "bureau_name": "教育局", **CURRENT}
        yield gauge("dgbv_report_open_gap", education, 12)
        locked = {"bureau": "health", "bureau_name": "衛生局", "year": "2022", "quarter": "1"}
        yield gauge(
            "dgbv_report_days_overdue",
            {**locked, "year_name": "民國111年", "period_name": "民國111年第1季"},
            1500,
        )
        indicator = {
            "indicator": "secret_filming_male_suspects",
            "indicator_name": "妨害秘密(偷拍行為)案男性嫌疑人人數",
            "year": "2026",
            "year_name": "民國115年",
        }
        goal = {"goal": "continuation", "goal_name": "延續目標（非原方案所訂）"}
        yield gauge(
            "dgbv_indicator_status",
            {**indicator, **goal, "status": "off_track", "status_name": "偏離目標"},
            1,
        )
        yield gauge("dgbv_indicator_ytd", indicator, 120)
        yield gauge("dgbv_indicator_change_pct", indicator, 4.55)
        yield gauge("dgbv_sync_last_success_timestamp_seconds", {}, time.time())
        yield gauge("dgbv_sync_source_up", {}, 1)


class Target:
    """A /metrics endpoint on 127.0.0.1 that, like the services, answers only the scrape token."""

    def __init__(self, registry: CollectorRegistry | None):
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if self.headers.get("Authorization") != f"Bearer {METRICS_TOKEN}":
                    self.send_error(401)
                    return
                body = generate_latest(target.registry) if target.registry else b""
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.registry = registry
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Target:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def targets():
    kpi = CollectorRegistry()
    kpi.register(KpiSeries())
    with Target(None) as intake, Target(kpi) as kpi_target, Target(None) as notify:
        yield {"intake": intake.address, "kpi": kpi_target.address, "notify": notify.address}


def test_an_alert_fired_by_prometheus_reaches_its_audience_by_e_mail_in_chinese_with_its_link(
    tmp_path, targets
):
    with MailCatcher() as mail:
        alertmanager = start_alertmanager(tmp_path, mail.port)
        try:
            links = {"PUBLIC_BASE_URL": INTAKE_URL, "GRAFANA_URL": GRAFANA_URL}
            prometheus = start_prometheus(tmp_path, targets, alertmanager.url.removeprefix("http://"), links)
            try:
                coordinators = mail.wait_for(ADDRESSES["coordinators"], timeout=120)
                committee = mail.wait_for(ADDRESSES["committee"], timeout=60)
                firing = requests.get(prometheus.url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
            finally:
                prometheus.stop()
        finally:
            alertmanager.stop()

    # The coordinators: the open gap, by name and ROC period, with the overview to act from.
    gap = "教育局 尚未繳交 民國115年第3季 報告，已逾期 12 天"
    link = f"{INTAKE_URL}/overview?period=2026Q3"
    [message] = coordinators
    assert str(message["Subject"]) == f"【數位性別暴力防治方案】{gap}"
    text = text_of(message)
    assert text.startswith("管考人員您好：")
    assert gap in text
    assert "請聯繫教育局承辦人員儘速送出" in text
    assert f"請前往：{link}" in text
    assert f'<a href="{link}">' in html_of(message)
    # The 2022 gap is locked history: nobody is told about it.
    assert all("衛生局" not in text_of(m) and "民國111年" not in text_of(m) for _, m in mail.messages)

    # The committee: the indicator off track this year, with the dashboard to read.
    text = text_of(committee[0])
    assert text.startswith("性別平等委員會委員您好：")
    assert "成效指標「妨害秘密(偷拍行為)案男性嫌疑人人數」截至民國115年第3季累計已高於基準年同期" in text
    assert "民國115年累計 120，較基準年同期增加 4.55%（延續目標（非原方案所訂））" in text
    assert f"請前往：{INTAKE_URL}/quarterly-report?period=2026Q3" in text

    # Operations heard nothing: every service answered and the sync is fresh.
    assert not mail.to(ADDRESSES["operations"])
    assert {a["labels"]["alertname"] for a in firing} == {"DGBVReportOverdue", "DGBVIndicatorOffTrack"}


def signed_in_coordinator(intake_url: str) -> requests.Session:
    """A browser session of a coordinator, the reader of the coordinators' e-mails."""
    user = {
        "username": "coord.alerts",
        "name": "管考人員",
        "role": "coordinator",
        "password": "管考人員的長密碼 2026",
    }
    created = requests.post(
        intake_url + "/api/v1/users", json=user, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
    )
    assert created.status_code == 201, created.text
    session = requests.Session()
    form = session.get(intake_url + "/sign-in", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    signed_in = session.post(
        intake_url + "/sign-in",
        data={"csrf_token": csrf, "username": user["username"], "password": user["password"]},
        allow_redirects=False,
        timeout=30,
    )
    assert signed_in.status_code == 303, signed_in.text
    return session


def test_the_real_services_gaps_delays_and_indicators_reach_their_readers_with_links_that_open(
    services,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    intake = services["intake"]
    targets = {name: services[name].url.removeprefix("http://") for name in ("intake", "kpi", "notify")}
    # As the services' data has it: the last quarter that ended, education's report reopened and
    # still missing, police's submitted with its actions far behind plan, every indicator rising.
    quarter = Quarter.containing(dt.date.today()).previous()
    with MailCatcher() as mail:
        alertmanager = start_alertmanager(tmp_path, mail.port)
        try:
            links = {"PUBLIC_BASE_URL": intake.url, "GRAFANA_URL": GRAFANA_URL}
            prometheus = start_prometheus(tmp_path, targets, alertmanager.url.removeprefix("http://"), links)
            try:
                deadline = time.monotonic() + 150
                while time.monotonic() < deadline:
                    read = [text_of(m) for m in mail.to(ADDRESSES["coordinators"])]
                    if any("尚未繳交" in text for text in read) and any("進度落後" in text for text in read):
                        break
                    time.sleep(1)
                committee = mail.wait_for(ADDRESSES["committee"], timeout=30)
            finally:
                prometheus.stop()
        finally:
            alertmanager.stop()

    coordinators = [text_of(m) for m in mail.to(ADDRESSES["coordinators"])]
    [gap] = [text for text in coordinators if "尚未繳交" in text]
    assert re.search(f"■ 教育局 尚未繳交 {quarter.label_zh} 報告，已逾期 [1-9][0-9]* 天", gap), gap
    overview = f"{intake.url}/overview?period={quarter}"
    assert f"請前往：{overview}" in gap
    [behind] = [text for text in coordinators if "進度落後" in text]
    assert "「方案1・警察局第1項：" in behind and f"截至{quarter.label_zh}僅達預定進度" in behind, behind
    report = f"{intake.url}/reports/police/{quarter.year}/{quarter.quarter}"
    assert f"請前往：{report}" in behind
    assert "education" not in gap + behind and "police" not in gap.replace(report, "") + behind.replace(
        report, ""
    )

    # The links open the pages a coordinator acts from.
    browser = signed_in_coordinator(intake.url)
    page = browser.get(overview, timeout=30)
    assert page.status_code == 200 and "教育局" in page.text and quarter.label_zh in page.text
    page = browser.get(report, timeout=30)
    assert page.status_code == 200 and "落後原因" in page.text and "人力不足" in page.text

    # The committee: every indicator is above the year before in the services' data.
    text = text_of(committee[0])
    for indicator in default_catalog().indicators:
        assert f"成效指標「{indicator.name}」" in text, indicator.id
    # ... with the quarterly 管考 report of the current period to read, which opens for the committee.
    [report_link] = set(re.findall(r"請前往：(\S+)", text))
    assert report_link.startswith(f"{intake.url}/quarterly-report?period=")
    page = browser.get(report_link, timeout=60)
    assert page.status_code == 200 and "管考" in page.text
