"""The development mail catcher: an SMTP server on 127.0.0.1 that keeps every message as a .eml file.

`make run` starts it on port 8025 and points notify at it, so a newcomer can open
var/mail/*.eml and read exactly what would have been sent.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import threading
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class MailboxHandler:
    """aiosmtpd handler: accept every message (250) and write it to `folder`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.save(envelope.mail_from, envelope.rcpt_tos, envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"

    def save(self, mail_from: str, recipients: list[str], content: bytes) -> Path:
        """Write one message with the envelope in front, named by time and dedup key."""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        key = parsed.get("X-DGBV-Notification") or parsed.get("Message-ID") or uuid.uuid4().hex
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        envelope = f"X-Envelope-From: {mail_from}\r\nX-Envelope-To: {', '.join(recipients)}\r\n".encode()
        with self._lock:
            path = self.folder / f"{stamp}-{_UNSAFE.sub('_', str(key)).strip('_')[:120]}.eml"
            path.write_bytes(envelope + content)
        return path


def start(folder: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """Start the catcher in a background thread; stop it with `.stop()`."""
    controller = Controller(MailboxHandler(folder), hostname=host, port=port)
    controller.start()
    return controller
