"""notify SIGKILLed after claiming messages and before sending them: each is sent exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from sqlalchemy import create_engine, text

from shared.db import normalise_url
from tests.helpers.processes import ROOT, run_cli
from tests.notify.test_processes import notify_env
from tests.notify.world import BUREAUS, after_lock


class SilentSmtpServer:
    """Accepts connections and never greets: a sender that reached it is stuck after claiming."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._hold, daemon=True).start()

    def _hold(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def stop(self):
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for connection in self.held:
            connection.close()


def statuses(database_url: str) -> list[str]:
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as connection:
        found = [row[0] for row in connection.execute(text("SELECT status FROM notifications ORDER BY id"))]
    engine.dispose()
    return found


def test_a_sender_killed_between_claiming_and_sending_is_made_good_once(world, period, notify_db_url, smtp):
    for bureau in BUREAUS[:-2]:
        world.submit(bureau, period.year, period.quarter)
    world.sync()
    at = ["--at", after_lock(period).isoformat()]
    created = json.loads(
        run_cli(["services.notify", "evaluate", *at], notify_env(world, notify_db_url, smtp.port))
    )["created"]
    assert created

    silent = SilentSmtpServer()
    stuck_env = {
        **os.environ,
        **notify_env(world, notify_db_url, silent.port, SEND_LEASE_SECONDS="2", SMTP_TIMEOUT="60"),
    }
    sender = subprocess.Popen(
        [sys.executable, "-m", "services.notify", "send"],
        cwd=ROOT,
        env=stuck_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while "sending" not in statuses(notify_db_url):
            assert time.monotonic() < deadline, "the sender never claimed its messages"
            time.sleep(0.1)
        os.killpg(sender.pid, signal.SIGKILL)  # claimed, connected, nothing sent
        sender.wait(timeout=10)
    finally:
        silent.stop()
    assert smtp.delivered() == []

    time.sleep(2.5)  # the dead sender's lease runs out
    env = notify_env(world, notify_db_url, smtp.port)
    assert json.loads(run_cli(["services.notify", "send"], env)).get("sent") == len(created)
    assert json.loads(run_cli(["services.notify", "send"], env)) == {}
    assert sorted(smtp.delivered()) == sorted(created)
    assert set(statuses(notify_db_url)) == {"sent"}
