"""Sixteen concurrent clients against intake under gunicorn: no 5xx, nothing acknowledged is lost."""

from __future__ import annotations

import collections
import random
import threading
import time

import requests

from shared.catalog import default_catalog
from tests.helpers.reports import reopened_quarter
from tests.intake.conftest import full_report
from tests.intake.test_cases import record

CLIENTS = 16
DURATION_SECONDS = 8


def mint(server, role, name, bureau=None) -> str:
    body = {"name": name, "role": role, "bureau": bureau}
    response = requests.post(
        server.url + "/api/v1/tokens",
        json=body,
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["token"]


class Ledger:
    """What the server acknowledged, to compare with what it kept."""

    def __init__(self):
        self.lock = threading.Lock()
        self.revisions = collections.Counter()  # report path -> acknowledged revisions
        self.case_refs: set[str] = set()
        self.statuses = collections.Counter()
        self.requests = 0
        self.lost: list = []  # saves acknowledged although another write came between read and write

    def note(self, response):
        with self.lock:
            self.requests += 1
            self.statuses[response.status_code] += 1


def client(server, ledger: Ledger, number: int, tokens: dict, stop_at: float):
    rng = random.Random(number)
    http = requests.Session()
    bureaus = [b.id for b in default_catalog().bureaus]
    sequence = 0
    while time.monotonic() < stop_at:
        sequence += 1
        bureau = rng.choice(bureaus)
        path = tokens["paths"][bureau]
        headers = {"Authorization": f"Bearer {tokens[bureau]}"}
        action = rng.random()
        if action < 0.45:  # read, then save what was read (or amend when already submitted)
            read = http.get(path, headers=headers, timeout=60)
            ledger.note(read)
            seen = read.headers["ETag"]
            body = full_report(bureau, rng.randint(0, 50), narrative=f"client {number} edit {sequence}")
            response = http.put(path, json=body, headers={**headers, "If-Match": seen}, timeout=60)
            if response.status_code == 422 and "reason" in response.json().get("errors", {}):
                body["reason"] = f"更正 {number}-{sequence}"
                response = http.put(path, json=body, headers={**headers, "If-Match": seen}, timeout=60)
            ledger.note(response)
            if response.status_code == 200:
                if response.json()["revision"] != int(seen.strip('"')) + 1:
                    ledger.lost.append((path, seen, response.json()["revision"]))
                with ledger.lock:
                    ledger.revisions[path] += 1
        elif action < 0.75:
            response = http.post(path + "/submit", headers={**headers, "If-Match": "*"}, timeout=60)
            ledger.note(response)
            if response.status_code == 200:
                with ledger.lock:
                    ledger.revisions[path] += 1
        else:
            refs = [f"L{number:02d}-{sequence:05d}-C{i:03d}" for i in range(50)]
            response = http.post(
                server.url + "/api/v1/cases",
                json={"records": [record(ref) for ref in refs]},
                headers={"Authorization": f"Bearer {tokens['statistics']}"},
                timeout=60,
            )
            ledger.note(response)
            if response.status_code == 200:
                with ledger.lock:
                    ledger.case_refs.update(refs)


def test_concurrent_clients_lose_nothing_and_the_feed_holds_every_change_once(intake_server, backend):
    tokens = {b.id: mint(intake_server, "bureau", b.id, b.id) for b in default_catalog().bureaus}
    tokens["statistics"] = mint(intake_server, "statistics", "stats")
    service = {"Authorization": f"Bearer {mint(intake_server, 'service', 'feed reader')}"}
    ledger = Ledger()
    # Every bureau reports on the quarter that has just ended, reopened: its first revision.
    admin = {"Authorization": f"Bearer {intake_server.admin_token}"}
    tokens["paths"] = {}
    for bureau in default_catalog().bureaus:
        _, path = reopened_quarter(intake_server.url, admin, bureau.id)
        tokens["paths"][bureau.id] = path
        ledger.revisions[path] = 1
    stop_at = time.monotonic() + DURATION_SECONDS
    threads = [
        threading.Thread(target=client, args=(intake_server, ledger, n, tokens, stop_at))
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not [s for s in ledger.statuses if s >= 500], ledger.statuses
    assert ledger.requests > 100
    assert ledger.lost == []
    # 422: a submit of the reopened, still empty draft; 409: a submit of an already submitted report;
    # 412: a save from a read another client wrote over in between.
    assert set(ledger.statuses) <= {200, 409, 412, 422}, ledger.statuses

    for path, acknowledged in ledger.revisions.items():
        bureau = path.split("/")[-3]
        report = requests.get(path, headers={"Authorization": f"Bearer {tokens[bureau]}"}, timeout=30).json()
        assert report["revision"] == acknowledged == report["history_total"], path

    changes, after = [], 0
    while True:
        page = requests.get(
            f"{intake_server.url}/api/v1/changes?after={after}&limit=5000", headers=service, timeout=60
        ).json()
        changes += page["changes"]
        after = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [c["position"] for c in changes] == list(range(1, len(changes) + 1))
    per_key = collections.Counter((c["entity"], c["key"]) for c in changes)
    for path, acknowledged in ledger.revisions.items():
        key = "/".join(path.split("/")[-3:])
        assert per_key[("report", key)] == acknowledged
    case_keys = {key for entity, key in per_key if entity == "case"}
    assert case_keys == ledger.case_refs
    assert all(per_key[("case", ref)] == 1 for ref in ledger.case_refs)
    print(f"\n{backend}: {ledger.requests} requests in {DURATION_SECONDS}s, statuses {dict(ledger.statuses)}")
