"""The pages' forms: field names, schemas with Chinese messages, and the report logic's errors in Chinese.

Form fields are flat (`value-1-police-1-sessions`), so every error is keyed by the name
of the input it belongs to and the template shows it right beside that input. Names have
no dots, which marshmallow would read as paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import marshmallow as ma

from services.intake import users
from services.intake.models import USERNAME_LENGTH
from services.intake.personal_data import PersonalData
from services.intake.reports import ACTION_TEXTS, TEXT_LABELS
from shared import rules as plan_rules
from shared.catalog import Action, Catalog
from shared.errors import DomainError
from shared.fields import CONTROL_CHARACTERS, MAX_COUNT

NOTE_LENGTH, NARRATIVE_LENGTH, REASON_LENGTH = 2000, 20000, 2000

MISSING_VALUE = "送出前必須填寫此欄（沒有辦理請填 0）。"
DOMAIN_MESSAGES = {
    "delay_reason": "本項進度落後，送出前須填寫落後原因。",
    "countermeasure": "本項進度落後，送出前須填寫因應對策。",
    "reason": "報告已送出，修正時必須填寫修正原因。",
    "comment": "請填寫退回意見，說明需要補正的地方。",
}
PAGE_MESSAGES = {
    "year": "這一季不在本系統的填報期間內。",
}
STALE_FORM = "這個頁面缺少版本資訊，請重新整理頁面後再操作。"
# Inputs the person does not type: their errors belong at the top of the page, not beside a field.
PAGE_FIELDS = ("revision",)
# Errors whose message the report logic words in Chinese itself (it names the dates).
WORDED_BY_LOGIC = ("quarter",)


def _token(action_id: str) -> str:
    """An action id as it can appear in an input's name (no dots)."""
    return action_id.replace(".", "-")


def value_field(action_id: str, metric_id: str, sex: str | None = None) -> str:
    """The input of one metric: value-1-police-1-sessions; of one part of a metric counted by sex:
    value-1-police-1-participants-female."""
    name = f"value-{_token(action_id)}-{metric_id}"
    return f"{name}-{sex}" if sex else name


def value_fields(action_id: str, metric) -> list[str]:
    """The inputs a metric is typed into: one, or one per sex."""
    if metric.by_sex:
        return [value_field(action_id, metric.id, sex) for sex in plan_rules.SEXES_REPORTED]
    return [value_field(action_id, metric.id)]


def text_field(kind: str, action_id: str) -> str:
    """The input of an action's note, delay reason or countermeasure: note-1-police-1."""
    return f"{kind}-{_token(action_id)}"


class FormText(ma.fields.String):
    """Text typed into a page: trimmed, without control characters, with a length limit in Chinese."""

    def __init__(self, max_length: int, *, required: bool = False, blank_message: str | None = None):
        defaults = {} if required else {"load_default": ""}
        super().__init__(
            required=required,
            validate=ma.validate.Length(max=max_length, error=f"最多 {max_length} 字，請縮短。"),
            error_messages={"required": blank_message or "必填。", "invalid": "格式不正確。"},
            **defaults,
        )
        self.blank_message = blank_message

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if CONTROL_CHARACTERS.search(text):
            raise ma.ValidationError("含有無法處理的控制字元，請刪除後再送出。")
        text = text.replace("\r\n", "\n").strip()
        if self.blank_message and not text:
            raise ma.ValidationError(self.blank_message)
        return text


class FormCount(ma.fields.Field):
    """A count typed into a page: blank is 'not yet known', otherwise a whole number from 0 up."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = (value or "").strip().replace(",", "").replace("，", "")
        if not text:
            return None
        if re.fullmatch(r"[-－]\s*[0-9０-９]+([.．][0-9０-９]+)?", text):
            raise ma.ValidationError("不可為負數，請填 0 以上的整數。")
        if re.fullmatch(r"[0-9０-９]+[.．][0-9０-９]+", text):
            raise ma.ValidationError("請填整數，不可有小數點。")
        if not re.fullmatch(r"[0-9０-９]+", text):
            raise ma.ValidationError("請填數字（0 以上的整數），不可填文字。")
        number = int(text)  # int() reads full-width digits too
        if number > MAX_COUNT:
            raise ma.ValidationError("數值過大，請確認。")
        return number


@dataclass
class FormState:
    """What a form shows: the values in its inputs and the errors beside them."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    page_errors: list[str] = field(default_factory=list)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def errors_of(self, name: str) -> list[str]:
        return self.errors.get(name, [])

    def has_errors(self) -> bool:
        return bool(self.errors or self.page_errors)

    def add(self, name: str, message: str) -> None:
        if message not in self.errors.setdefault(name, []):
            self.errors[name].append(message)


def _flat_messages(messages) -> list[str]:
    """Every message of a (possibly nested) marshmallow error."""
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _flat_messages(value)]
    if isinstance(messages, list):
        return [text for value in messages for text in _flat_messages(value)]
    return [str(messages)]


def state_from_error(values: dict[str, str], error: ma.ValidationError) -> FormState:
    """Schema errors keyed by input name, with what was typed kept."""
    state = FormState(values=dict(values))
    for name, messages in error.messages.items():
        if name in PAGE_FIELDS:
            state.page_errors.append(STALE_FORM)
            continue
        for message in _flat_messages(messages):
            state.add(name, message)
    return state


def Revision() -> ma.fields.Integer:  # noqa: N802 - reads like a field class
    """The revision of the report a page was rendered from, so a write from a stale page is caught."""
    return ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(min=0),
        error_messages={"required": STALE_FORM, "invalid": STALE_FORM},
    )


# -- the report form ---------------------------------------------------------------
def report_form_schema(catalog: Catalog, bureau: str) -> ma.Schema:
    """The flat schema of one bureau's report form (one input per metric and text)."""
    fields: dict[str, ma.fields.Field] = {
        "narrative": FormText(NARRATIVE_LENGTH),
        "reason": FormText(REASON_LENGTH),
        "revision": Revision(),
    }
    for action in catalog.actions_for(bureau):
        for metric in action.metrics:
            for name in value_fields(action.id, metric):
                fields[name] = FormCount(load_default=None)
        for kind in ACTION_TEXTS:
            fields[text_field(kind, action.id)] = FormText(NOTE_LENGTH)
    # Unknown inputs (the CSRF token, the button pressed) are left out.
    return ma.Schema.from_dict(fields, name=f"ReportForm_{bureau}")(unknown=ma.EXCLUDE)


def _action_content(action: Action, data: dict) -> dict:
    entry = {
        "action": action.id,
        "values": {m.id: data.get(value_field(action.id, m.id)) for m in action.metrics if not m.by_sex},
        **{kind: data.get(text_field(kind, action.id)) or None for kind in ACTION_TEXTS},
    }
    by_sex = {
        m.id: {sex: data.get(value_field(action.id, m.id, sex)) for sex in plan_rules.SEXES_REPORTED}
        for m in action.metrics
        if m.by_sex
    }
    if by_sex:
        entry["by_sex"] = by_sex
    return entry


def report_content(actions: tuple[Action, ...], data: dict) -> dict:
    """Loaded form data as save_report takes it: narrative, reason and one entry per action."""
    return {
        "narrative": data.get("narrative", ""),
        "reason": data.get("reason") or None,
        "actions": [_action_content(action, data) for action in actions],
    }


def stored_actions(content: dict) -> dict:
    """Form content keyed by action id, as reports store it."""
    return {
        entry["action"]: {key: value for key, value in entry.items() if key != "action"}
        for entry in content["actions"]
    }


def explain(error: DomainError, actions: tuple[Action, ...], content: dict, state: FormState) -> None:
    """Put the report logic's errors (English, keyed by action) beside the right inputs, in Chinese."""
    if isinstance(error, PersonalData):
        for found in error.found:
            state.add(input_of(found.path), found.message_zh)
        return
    known = {action.id: action for action in actions}
    typed = stored_actions(content)
    understood = False
    for key, messages in (error.errors or {}).items():
        if key == "actions" and isinstance(messages, dict):
            for action_id, problems in messages.items():
                action = known.get(action_id)
                if action is None or not isinstance(problems, dict):
                    continue
                for problem in problems:
                    if problem == "values":
                        for name in _missing_inputs(action, typed.get(action_id, {})):
                            state.add(name, MISSING_VALUE)
                        understood = True
                    elif problem in DOMAIN_MESSAGES:
                        state.add(text_field(problem, action_id), DOMAIN_MESSAGES[problem])
                        understood = True
        elif key in DOMAIN_MESSAGES:
            state.add(key, DOMAIN_MESSAGES[key])
            understood = True
        elif key in PAGE_MESSAGES:
            state.page_errors.append(PAGE_MESSAGES[key])
            understood = True
        elif key in WORDED_BY_LOGIC:
            state.page_errors.append(error.detail)
            understood = True
    if not understood:
        state.page_errors.append("資料有誤，未能儲存，請檢查後再試。")


def input_of(path: tuple[str, ...]) -> str:
    """The input a text of the report logic's errors was typed into: ("actions", "1.police.1",
    "note") is note-1-police-1."""
    return text_field(path[2], path[1]) if path[0] == "actions" else path[-1]


def _missing_inputs(action: Action, entry: dict) -> list[str]:
    """The inputs of an action left blank (all of them if none is found blank)."""
    values, by_sex = entry.get("values", {}), entry.get("by_sex", {})
    missing, every = [], []
    for metric in action.metrics:
        for name in value_fields(action.id, metric):
            every.append(name)
        if metric.by_sex:
            parts = by_sex.get(metric.id) or {}
            missing += [
                value_field(action.id, metric.id, sex)
                for sex in plan_rules.SEXES_REPORTED
                if parts.get(sex) is None
            ]
        elif values.get(metric.id) is None:
            missing.append(value_field(action.id, metric.id))
    return missing or every


def _shown(number: int | None) -> str:
    return "" if number is None else str(number)


def values_of_report(sheet) -> dict[str, str]:
    """The inputs of the report form filled from a report sheet (what is saved)."""
    values = {
        "narrative": sheet.narrative or "",
        "revision": str(sheet.report.revision if sheet.report else 0),
    }
    for action in sheet.actions:
        for line in action.metrics:
            if line.by_sex is None:
                values[value_field(action.action.id, line.metric.id)] = _shown(line.value)
            else:
                for sex, number in line.by_sex.items():
                    values[value_field(action.action.id, line.metric.id, sex)] = _shown(number)
        for kind in ACTION_TEXTS:
            values[text_field(kind, action.action.id)] = getattr(action, kind) or ""
    return values


def field_titles(sheet) -> dict[str, str]:
    """What each input of the report form is called in the list of errors at the top."""
    titles = {name: TEXT_LABELS[name] for name in ("narrative", "reason")}
    for action in sheet.actions:
        for line in action.metrics:
            titles[value_field(action.action.id, line.metric.id)] = f"{action.action.id} {line.metric.name}"
            for sex, label in plan_rules.SEX_LABELS.items():
                titles[value_field(action.action.id, line.metric.id, sex)] = (
                    f"{action.action.id} {line.metric.name}（{label}）"
                )
        for kind in ACTION_TEXTS:
            titles[text_field(kind, action.action.id)] = f"{action.action.id} {TEXT_LABELS[kind]}"
    return titles


# -- small forms --------------------------------------------------------------------
class SignInForm(ma.Schema):
    """The sign-in form."""

    class Meta:
        unknown = ma.EXCLUDE

    username = FormText(USERNAME_LENGTH, required=True, blank_message="請輸入帳號。")
    password = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=200, error="請輸入密碼。"),
        error_messages={"required": "請輸入密碼。"},
    )
    next = ma.fields.String(load_default="")

    @ma.validates("username")
    def fits_a_user_name(self, username: str, **kwargs) -> None:
        """User names are compared in lower case, which some letters lengthen (İ becomes i̇)."""
        if len(users.normalise_username(username)) > USERNAME_LENGTH:
            raise ma.ValidationError(f"帳號最多 {USERNAME_LENGTH} 字，請確認。")


class AcceptForm(ma.Schema):
    """A coordinator's acceptance of the revision on screen."""

    class Meta:
        unknown = ma.EXCLUDE

    revision = Revision()


class ReturnForm(AcceptForm):
    """A coordinator's return of a report: the comment is required."""

    comment = FormText(REASON_LENGTH, required=True, blank_message=DOMAIN_MESSAGES["comment"])


class ReopenForm(AcceptForm):
    """A coordinator's reopening of a locked quarter: the reason is required, and the page to go
    back to."""

    reason = FormText(REASON_LENGTH, required=True, blank_message="請填寫重新開放的原因（機關會看到）。")
    back = ma.fields.String(load_default="report", validate=ma.validate.OneOf(("report", "overview")))


class UploadForm(ma.Schema):
    """The Excel upload's fields besides the file."""

    class Meta:
        unknown = ma.EXCLUDE

    reason = FormText(REASON_LENGTH)
    revision = Revision()
