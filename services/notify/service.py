"""The notify service's parts, wired from its settings: used by the web app and the scheduler."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from jinja2 import TemplateNotFound, TemplateSyntaxError

from services.notify import models
from services.notify.messages import Rendered, Renderer
from services.notify.rules import RULES, Rule, Thresholds
from services.notify.sources import Sources
from shared.catalog import Catalog, default_catalog
from shared.db import Database
from shared.settings import SettingsError


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
    """Refuse a password that would cross the network in clear (each setting alone is checked as
    it is read, shared/settings.py)."""
    if (
        config.get("SMTP_USERNAME")
        and config["SMTP_SECURITY"] == "none"
        and not _is_loopback(config["SMTP_HOST"])
    ):
        raise SettingsError("SMTP_USERNAME is set but SMTP_SECURITY=none: the password would travel in clear")


def check_rules(rules: Mapping[str, Rule], renderer: Renderer) -> None:
    """Refuse to start with a notification rule that lacks a part: otherwise it would fail only when
    an evaluation writes its first notification, or stall the sender when it is re-checked."""
    for name, rule in rules.items():
        if rule.events and not callable(getattr(rule, "react", None)):
            raise SettingsError(
                f"notification rule {name!r} reacts to {', '.join(rule.events)} but has no react"
            )
        if not rule.events and not rule.scheduled:
            raise SettingsError(f"notification rule {name!r} has no evaluate")
        if not callable(getattr(rule, "recheck", None)):
            raise SettingsError(f"notification rule {name!r} has no recheck")
        for template in rule.templates:
            try:
                renderer.compile(template)
            except TemplateNotFound as error:
                raise SettingsError(
                    f"notification rule {name!r} has no template {error.name} in {renderer.folder}"
                ) from None
            except TemplateSyntaxError as error:
                raise SettingsError(
                    f"notification rule {name!r}: template {error.name} does not compile: "
                    f"{error.message} (line {error.lineno})"
                ) from None
        if name not in models.RULES:
            raise SettingsError(
                f"notification rule {name!r} is not in models.RULES: the API and the metrics would not know it"
            )


class Notifier:
    """Everything an evaluation or a delivery needs: settings, database, sources, rules, clock."""

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
            config["PLAN_SHORT_NAME"], config["PUBLIC_BASE_URL"], f"{self.catalog.plan.city}政府"
        )
        check_rules(RULES, self.renderer)
        self.rules = RULES
        self.smtp = SmtpSettings.from_config(config)

    @property
    def clock(self) -> Callable:
        return self.config["CLOCK"]

    def now(self):
        return self.config["CLOCK"]()

    def render(self, rule: str, facts: dict, written_on: dt.date) -> Rendered:
        """The message of a notification of `rule` about `facts`, written on that day (Taipei)."""
        return self.renderer.render(self.rules[rule].templates, facts, written_on)
