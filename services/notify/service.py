"""The notify service's parts, wired from its settings: used by the web app and the scheduler."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.notify.messages import Renderer
from services.notify.rules import Thresholds
from services.notify.sources import Sources
from shared.catalog import Catalog, default_catalog
from shared.db import Database

SECURITY_MODES = ("starttls", "ssl", "none")


class SettingsError(ValueError):
    """A setting that is missing or unsafe: the process refuses to start."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None
    sender: str
    sender_name: str
    timeout: float
    ca_file: str | None

    @classmethod
    def from_config(cls, config: Mapping) -> SmtpSettings:
        return cls(
            host=config["SMTP_HOST"],
            port=int(config["SMTP_PORT"]),
            security=config["SMTP_SECURITY"],
            username=config.get("SMTP_USERNAME") or None,
            password=config.get("SMTP_PASSWORD") or None,
            sender=config["SMTP_FROM"],
            sender_name=config["SMTP_FROM_NAME"],
            timeout=float(config["SMTP_TIMEOUT"]),
            ca_file=config.get("SMTP_CA_FILE") or None,
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_settings(config: Mapping) -> None:
    """Refuse to start without a service token or with a password that would cross the network in clear."""
    if not config.get("INTAKE_TOKEN"):
        raise SettingsError("INTAKE_TOKEN is required: a service token minted by intake")
    if config["SMTP_SECURITY"] not in SECURITY_MODES:
        raise SettingsError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")
    if (
        config.get("SMTP_USERNAME")
        and config["SMTP_SECURITY"] == "none"
        and not _is_loopback(config["SMTP_HOST"])
    ):
        raise SettingsError("SMTP_USERNAME is set but SMTP_SECURITY=none: the password would travel in clear")


class Notifier:
    """Everything an evaluation or a delivery needs: settings, database, sources, clock."""

    def __init__(
        self,
        config: Mapping,
        database: Database,
        sources: Sources | None = None,
        catalog: Catalog | None = None,
    ):
        self.config = config
        self.database = database
        self.sources = sources or Sources(
            config["INTAKE_URL"], config["KPI_URL"], config["INTAKE_TOKEN"], float(config["SOURCE_TIMEOUT"])
        )
        self.catalog = catalog or default_catalog()
        self.thresholds = Thresholds.from_config(config)
        self.renderer = Renderer(
            config["PLAN_SHORT_NAME"], config["REPORT_FORM_BASE_URL"], f"{self.catalog.plan.city}政府"
        )
        self.smtp = SmtpSettings.from_config(config)

    @property
    def clock(self) -> Callable:
        return self.config["CLOCK"]

    def now(self):
        return self.config["CLOCK"]()
