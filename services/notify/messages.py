"""E-mails in Traditional Chinese: Jinja2 templates rendered into an RFC 5322 message.

Subjects and bodies are rendered when a notification is created, so the outbox
holds exactly what will be sent; headers that depend on the moment of sending
(Date) are added by build_message.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, meta

from shared import rules as plan_rules
from shared.numbers import half_up
from shared.periods import TAIPEI, Quarter, format_roc_date

TEMPLATES = Path(__file__).with_name("templates")
HEADER_KEY = "X-DGBV-Notification"

# The words of intake's pages (shared/rules.py), so an e-mail and the page it links to agree.
REPORT_STATUS_LABELS = plan_rules.REPORT_STATUS_NAMES
# kpi's words for a verdict and a goal (shared/rules.py): the e-mail, the metrics and the dashboards agree.
INDICATOR_STATUS_LABELS = plan_rules.INDICATOR_STATUS_NAMES
GOAL_KIND_LABELS = plan_rules.GOAL_KIND_NAMES


class Templates(NamedTuple):
    """The names of a rule's templates, in TEMPLATES."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _number(value) -> str:
    """12 -> '12', 12.5 -> '12.5', 1234.565 -> '1,234.57' (half-up), None -> '—'."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{half_up(Decimal(str(value))):,f}".rstrip("0").rstrip(".")
    return f"{value:,}"


def _change(value) -> str:
    """A signed percentage as kpi gives it, already rounded half-up (-2.5 -> '-2.50%')."""
    if value is None:
        return "—"
    return f"{half_up(Decimal(str(value))):+f}%"


def _whole_percent(value) -> str:
    """A whole percent as kpi gives it, already rounded half-up (57 -> '57%')."""
    return "—" if value is None else f"{value}%"


class Renderer:
    """Renders a candidate's facts with the templates of its rule."""

    def __init__(self, plan_short_name: str, form_base_url: str, government: str = ""):
        self.plan_short_name = plan_short_name
        self.government = government  # 新北市政府: bureaus are named in full in greetings
        self.form_base_url = form_base_url.rstrip("/")
        self.folder = TEMPLATES
        self.env = Environment(
            loader=FileSystemLoader(self.folder),
            autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["number"] = _number
        self.env.filters["change"] = _change
        self.env.filters["whole_percent"] = _whole_percent
        self.env.filters["status_label"] = lambda status: REPORT_STATUS_LABELS.get(status or "", "")
        self.env.globals.update(form_url_of=self.form_url, overview_url=self.overview_url)

    def form_url(self, bureau: str, year: int, quarter: int) -> str:
        """The bureau's report form for the quarter."""
        return f"{self.form_base_url}/reports/{bureau}/{year}/{quarter}"

    def overview_url(self, year: int, quarter: int) -> str:
        """intake's overview of the quarter, where coordinators review and reopen reports."""
        return f"{self.form_base_url}/overview?period={Quarter(year, quarter)}"

    def compile(self, name: str) -> None:
        """Load and compile a template and those it extends or includes; raise TemplateNotFound or
        TemplateSyntaxError, so a broken template stops the start rather than an evaluation."""
        self.env.get_template(name)
        source = self.env.loader.get_source(self.env, name)[0]
        for referenced in meta.find_referenced_templates(self.env.parse(source)):
            if referenced:  # None: a name computed when rendering
                self.compile(referenced)

    def render(self, templates: Templates, facts: dict, written_on: dt.date) -> Rendered:
        """Subject, plain text and HTML of a notification about `facts`, with a rule's templates;
        `written_on` (Asia/Taipei) is the reference its footer gives."""
        context = {
            **facts,
            "written_on_roc": format_roc_date(written_on),
            "bureau_full_name": self.government + facts["bureau_name"] if facts.get("bureau_name") else "",
            "plan_short_name": self.plan_short_name,
            "form_url": self.form_url(facts["bureau"], facts["year"], facts["quarter"])
            if facts.get("bureau")
            else None,
            "due": dt.date.fromisoformat(facts["due_date"]) if facts.get("due_date") else None,
            "report_status_label": REPORT_STATUS_LABELS.get(facts.get("report_status") or "", ""),
            "indicator_status_label": INDICATOR_STATUS_LABELS.get(facts.get("status") or "", ""),
            "goal_kind_label": GOAL_KIND_LABELS.get(facts.get("goal_kind") or "", "目標"),
            "baseline_year_roc": facts["baseline_year"] - 1911 if facts.get("baseline_year") else "—",
        }
        subject = self.env.get_template(templates.subject).render(context)
        return Rendered(
            subject=" ".join(subject.split()),
            text=self.env.get_template(templates.text).render(context),
            html=self.env.get_template(templates.html).render(context),
        )


def new_message_id(sender_address: str) -> str:
    """A globally unique Message-ID in the sender's domain, fixed when the row is created."""
    domain = sender_address.rpartition("@")[2] or "localhost"
    return email.utils.make_msgid(idstring="dgbv", domain=domain)


def build_message(notification, sender_address: str, sender_name: str, now: dt.datetime) -> EmailMessage:
    """The e-mail of an outbox row: UTF-8 text and HTML alternatives, both base64-encoded."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = notification.subject
    message["From"] = email.utils.formataddr((sender_name, sender_address))
    message["To"] = ", ".join(notification.recipients)
    message["Date"] = email.utils.format_datetime(now.astimezone(TAIPEI))
    message["Message-ID"] = notification.message_id
    message[HEADER_KEY] = notification.dedup_key
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(notification.body_text, subtype="plain", charset="utf-8", cte="base64")
    message.add_alternative(notification.body_html, subtype="html", charset="utf-8", cte="base64")
    return message
