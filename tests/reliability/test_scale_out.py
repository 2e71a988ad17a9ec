"""Issue 17's proof: two replicas of each service and two schedulers each, on one PostgreSQL, behind
the shipped Caddy proxy, under load; the scheduler leaders SIGKILLed mid-cycle.

Nothing acknowledged is lost, no e-mail goes out twice, kpi's snapshot never goes back to an older
one, a standby leads within the bound, and a real Prometheus with the shipped rules gives the same
figures scraping one replica or two.
"""

from __future__ import annotations

import collections
import datetime as dt
import email
import email.policy
import os
import re
import shutil
import threading
import time

import pytest
import requests

from shared.catalog import default_catalog
from shared.periods import Quarter
from tests.deploy.test_dashboards import dashboard_expressions
from tests.deploy.test_prometheus_live import rule_expressions
from tests.helpers.deployment import ADMIN, Deployment
from tests.helpers.processes import ServiceProcess, free_port
from tests.helpers.prometheus import shipped_config
from tests.helpers.reports import reopened_quarter
from tests.intake.test_cases import record
from tests.reliability.test_load import Ledger, client, mint

LEADER_RETRY_SECONDS = 2
# A standby leads within LEADER_RETRY_SECONDS of the leader's death; the rest is this test's polling
# and a loaded 2-core machine.
TAKEOVER_BOUND = LEADER_RETRY_SECONDS + 3
CLIENTS, LOAD_SECONDS = 6, 6


def wait_for(predicate, timeout: float, what: str, deployment: Deployment):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n{deployment.describe()}")


def seed(url: str) -> None:
    """Outcome counts, many case records (a feed long enough to stop kpi half-way), every bureau's
    address; the quarter just ended stays unreported, so every bureau is overdue."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    ended = Quarter.containing(dt.date.today()).previous()
    items = [
        {"indicator": indicator.id, "year": year, "quarter": q, "count": 40 + q + (year - 2021) * 3}
        for indicator in default_catalog().indicators
        for year in sorted({2021, 2022, ended.year - 1, ended.year})
        for q in (1, 2, 3, 4)
        if Quarter(year, q) <= ended
    ]
    assert requests.post(url + "/api/v1/outcomes", json={"items": items}, headers=admin, timeout=30).ok
    add_case_records(url, "SEED", 200)
    for bureau in default_catalog().bureaus:
        contacts = {"contacts": [{"email": f"{bureau.id}@ntpc.example.tw"}]}
        answer = requests.put(
            f"{url}/api/v1/bureaus/{bureau.id}/contacts", json=contacts, headers=admin, timeout=30
        )
        assert answer.ok, answer.text


def add_case_records(url: str, prefix: str, count: int) -> None:
    """One upload: its records enter the feed together, in one transaction."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    records = [record(f"{prefix}-{i}", sex="female" if i % 2 else "male") for i in range(count)]
    assert requests.post(url + "/api/v1/cases", json={"records": records}, headers=admin, timeout=60).ok


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")
    started = Deployment(
        tmp_path,
        os.environ["TEST_DATABASE_URL"],
        replicas=2,
        schedulers=2,
        LEADER_RETRY_SECONDS=LEADER_RETRY_SECONDS,
        SYNC_INTERVAL_SECONDS=1,
        SYNC_PAGE_SIZE=25,  # an upload of 1,500 records takes 60 pages: there is a middle to kill it in
        SEND_INTERVAL_SECONDS=1,
        FOLLOW_INTERVAL_SECONDS=1,
        EVALUATE_ON_START=1,
        KPI_MAX_AGE_SECONDS=600,
        COMMITTEE_EMAILS="committee@ntpc.example.tw",
    )
    try:

        def trust_and_seed(deployment: Deployment):
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(deployment.cert))  # this test's clients trust it
            seed(deployment.public_url)

        yield started.start(seed=trust_and_seed, schedulers=("kpi",))
    finally:
        started.stop()


class SnapshotWatch:
    """Reads kpi's snapshot version all along: it must never go back."""

    def __init__(self, deployment: Deployment):
        self.deployment = deployment
        self.seen: list[tuple] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch)
        self.thread.start()

    def _watch(self):
        while not self.stopping.wait(0.05):
            rows = self.deployment.sql(
                "kpi", "SELECT snapshot_cursor, snapshot_at FROM sync_state WHERE id = 1"
            )
            if rows and rows[0][0] is not None and (not self.seen or self.seen[-1] != tuple(rows[0])):
                self.seen.append(tuple(rows[0]))

    def stop(self) -> list[tuple]:
        self.stopping.set()
        self.thread.join(10)
        return self.seen


def kill_the_leader(deployment: Deployment, service: str, when) -> float:
    """SIGKILL the leading scheduler once `when()` holds; how long until a standby led."""
    leader = wait_for(lambda: deployment.leader(service), 60, f"a {service} leader", deployment)
    wait_for(when, 60, f"the {service} leader mid-cycle", deployment)
    leader.kill()
    killed = time.monotonic()
    assert when(), f"the {service} leader had finished its cycle when it was killed"
    standby = wait_for(lambda: deployment.leader(service), 30, f"a {service} standby to lead", deployment)
    assert standby is not leader
    return time.monotonic() - killed


def feed_end(deployment: Deployment) -> int:
    """The position the feed's last committed change has or will have: positions are handed out
    1, 2, 3, ... to committed changes when the feed is read (services/intake/feed.py)."""
    return deployment.sql("intake", "SELECT count(*) FROM changes")[0][0]


def kpi_cursor(deployment: Deployment) -> int:
    return deployment.sql("kpi", "SELECT cursor FROM sync_state WHERE id = 1")[0][0]


def test_replicas_and_scheduler_standbys_lose_nothing_and_send_nothing_twice(deployment):
    watch = SnapshotWatch(deployment)
    try:
        # kpi's leader has read the feed; 1,500 more records come in, and it is killed half-way through them.
        wait_for(lambda: deployment.leader("kpi"), 60, "a kpi leader", deployment)
        wait_for(lambda: kpi_cursor(deployment) == feed_end(deployment), 60, "kpi's first sync", deployment)
        before = feed_end(deployment)
        add_case_records(deployment.public_url, "MORE", 1500)
        total = feed_end(deployment)
        kpi_takeover = kill_the_leader(deployment, "kpi", lambda: before < kpi_cursor(deployment) < total)
        # notify's schedulers start; the leader is killed in the middle of its first evaluation (it has
        # begun asking kpi, and writes nothing until it has every answer).
        asked = deployment.requests_seen("kpi")
        deployment.start_schedulers("notify")
        notify_takeover = kill_the_leader(
            deployment, "notify", lambda: deployment.requests_seen("kpi") > asked
        )
        ledger = run_load(deployment)
        # Everything settles: kpi reads the whole feed, notify sends everything it wrote.
        end = feed_end(deployment)
        wait_for(
            lambda: deployment.sql("kpi", "SELECT snapshot_cursor FROM sync_state")[0][0] == end,
            60,
            "kpi's snapshot of the whole feed",
            deployment,
        )

        wait_for(
            lambda: deployment.sql("notify", "SELECT max(position) FROM feed_cursor")[0][0] == end,
            60,
            "notify to follow the whole feed",
            deployment,
        )

        def outbox_settled():
            statuses = dict(
                deployment.sql("notify", "SELECT status, count(*) FROM notifications GROUP BY status")
            )
            return statuses.get("sent") and not statuses.get("pending") and not statuses.get("sending")

        wait_for(outbox_settled, 60, "notify's outbox to be sent", deployment)
    finally:
        seen = watch.stop()

    assert kpi_takeover <= TAKEOVER_BOUND and notify_takeover <= TAKEOVER_BOUND, (
        kpi_takeover,
        notify_takeover,
    )
    # Never an older snapshot, and never two of one version.
    assert seen == sorted(seen) and len(seen) == len(set(seen)), seen
    # Every message written was sent, each once, to the catcher.
    sent = [
        row[0]
        for row in deployment.sql("notify", "SELECT dedup_key FROM notifications WHERE status = 'sent'")
    ]
    delivered = deployment.delivered()
    assert [key for key, n in collections.Counter(delivered).items() if n > 1] == []
    assert sorted(delivered) == sorted(sent)
    # (Whether a reopening is announced depends on the race between the load's clients, who submit
    # the reopened reports, and the follower, which answers from the report as intake has it now;
    # that notify followed the whole feed is asserted above.)
    # Every link in them leads to the public address, and through the proxy to a page.
    links = set()
    for path in (deployment.folder / "mail").glob("*.eml"):
        body = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        links |= set(re.findall(r"https?://[^\s<>\"]+", body.get_body(("plain",)).get_content()))
    assert links and all(link.startswith(deployment.public_url + "/") for link in links), links
    for link in sorted(links)[:3]:
        page = requests.get(link, timeout=30)  # not signed in: the sign-in page, which leads back
        assert page.status_code == 200 and "/sign-in" in page.url, link
    # The load through the proxy: no 5xx, nothing acknowledged lost.
    assert not [s for s in ledger.statuses if s >= 500], ledger.statuses
    assert ledger.lost == [] and ledger.requests > 50
    for path, acknowledged in ledger.revisions.items():
        bureau = path.split("/")[-3]
        report = requests.get(path, headers={"Authorization": f"Bearer {ledger.tokens[bureau]}"}, timeout=30)
        assert report.json()["revision"] == acknowledged, path
    refs = {row[0] for row in deployment.sql("intake", "SELECT ref FROM case_records WHERE ref LIKE 'L%'")}
    assert ledger.case_refs <= refs

    # A real Prometheus with the shipped configuration and rules, scraping one replica of each
    # service, and another scraping both: the same business figures.
    one, both = start_prometheus(deployment, 1), start_prometheus(deployment, 2)
    for prometheus, replicas in ((one, 1), (both, 2)):
        wait_for(
            lambda p=prometheus, n=replicas: (
                len(query(p, 'up{job="kpi"} == 1')) == n
                and query(p, "dgbv:indicator_ytd_over_target:ratio")
                and query(p, "dgbv_report_days_overdue")
            ),
            60,
            f"Prometheus scraping {replicas} replicas",
            deployment,
        )
    moment = time.time()
    compared = 0
    for expr in business_expressions():
        figures = [answer(prometheus, expr, moment) for prometheus in (one, both)]
        assert figures[0] == figures[1], expr
        compared += bool(figures[0])
    assert compared >= 10  # most of them hold series here


def business_expressions() -> list[str]:
    """The committee dashboard's queries and the rules on the plan's figures."""
    exprs = [expr for board, _, expr in dashboard_expressions() if board == "committee.json"]
    names = ("dgbv:indicator_ytd_over_target:ratio", "DGBVIndicatorOffTrack", "DGBVReportOverdue")
    return exprs + [expr for name, expr in rule_expressions() if name.split(" ")[0] in names]


def start_prometheus(deployment: Deployment, replicas: int) -> ServiceProcess:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: install Debian's prometheus package (.ci/run does)")
    folder = deployment.folder / f"prometheus-{replicas}"
    folder.mkdir()
    targets = {
        service: [replica.url.removeprefix("http://") for replica in deployment.replicas[service][:replicas]]
        for service in ("intake", "kpi", "notify")
    }
    config = shipped_config(folder, targets, interval="1s")
    port = free_port()
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    process = deployment.add_process(f"prometheus-{replicas}", ["prometheus"], {}, port, command)
    process.start(wait_path="/-/ready", timeout=60)
    return process


def query(prometheus: ServiceProcess, expr: str, at: float | None = None) -> list:
    params = {"query": expr, **({"time": at} if at is not None else {})}
    response = requests.get(prometheus.url + "/api/v1/query", params=params, timeout=10).json()
    assert response["status"] == "success", (expr, response)
    return response["data"]["result"]


def answer(prometheus: ServiceProcess, expr: str, at: float) -> dict:
    """Each series' labels and value at `at`."""
    return {tuple(sorted(item["metric"].items())): item["value"][1] for item in query(prometheus, expr, at)}


def run_load(deployment: Deployment) -> Ledger:
    """The load test's clients, through the proxy, against the replicas."""
    server = type("Proxy", (), {"url": deployment.public_url, "admin_token": ADMIN})()
    tokens = {b.id: mint(server, "bureau", b.id, b.id) for b in default_catalog().bureaus}
    tokens["statistics"] = mint(server, "statistics", "stats")
    ledger = Ledger()
    ledger.tokens = tokens
    admin = {"Authorization": f"Bearer {ADMIN}"}
    tokens["paths"] = {}
    for bureau in default_catalog().bureaus:
        _, path = reopened_quarter(server.url, admin, bureau.id)
        tokens["paths"][bureau.id] = path
        ledger.revisions[path] = 1  # the reopening
    stop_at = time.monotonic() + LOAD_SECONDS
    threads = [
        threading.Thread(target=client, args=(server, ledger, n, tokens, stop_at)) for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ledger
