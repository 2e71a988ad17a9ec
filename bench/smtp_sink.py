"""`python -m bench.smtp_sink PORT COUNTS_FILE`: an aiosmtpd server in a process of its own (as a
real mail server would be) that accepts every message; on SIGTERM it writes what it received."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class Counting:
    """Accepts every message (250) and counts messages and sessions."""

    def __init__(self):
        self.messages = 0
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages += 1
        return "250 2.0.0 OK"


def main(port: int, counts: Path) -> None:
    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    print("ready", flush=True)
    while not stopping.wait(0.2):
        pass
    controller.stop()
    counts.write_text(json.dumps({"messages": handler.messages, "connections": handler.connections}))


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
