"""Request and response schemas of the intake API."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest.fields import Upload

from services.intake.cases import REF_MAX_LENGTH, REF_PATTERN, REF_RULE, ref_problem, reject_pii
from services.intake.models import USERNAME_LENGTH
from services.intake.users import USER_ROLES
from shared.auth import Role
from shared.fields import Code, Count, StrictSchema, Text

YEAR = ma.validate.Range(min=1912, max=2200)
QUARTER = ma.validate.Range(min=1, max=4)
INDICATOR_LENGTH = 60  # as outcome_counts.indicator
EMAIL_LENGTH = 254  # RFC 5321's longest address, as bureau_contacts.email


def known_bureau(value: str) -> None:
    """Bureau ids come from the catalog the app loaded, so another city's plan needs no code change."""
    if value not in {b.id for b in current_app.extensions["catalog"].bureaus}:
        raise ma.ValidationError(f"Unknown bureau {value!r}.")


# -- reports -----------------------------------------------------------------
class SexCountsSchema(StrictSchema):
    male = Count(allow_none=True, load_default=None, metadata={"description": "男"})
    female = Count(allow_none=True, load_default=None, metadata={"description": "女"})
    other = Count(allow_none=True, load_default=None, metadata={"description": "其他或不詳"})


class ReportActionSchema(StrictSchema):
    action = Code(required=True, metadata={"example": "1.police.1"})
    values = ma.fields.Dict(
        keys=ma.fields.String(),
        values=Count(allow_none=True),
        load_default=dict,
        metadata={"description": "The quarter's value of each metric not counted by sex"},
    )
    by_sex = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(SexCountsSchema),
        load_default=dict,
        metadata={
            "description": "Metrics that count people (the catalog's by_sex), by sex; their value is the total",
            "example": {"participants": {"male": 200, "female": 215, "other": 5}},
        },
    )
    note = Text(allow_none=True, load_default=None)
    delay_reason = Text(allow_none=True, load_default=None, metadata={"description": "落後原因"})
    countermeasure = Text(allow_none=True, load_default=None, metadata={"description": "因應對策"})


class ReportContentSchema(StrictSchema):
    narrative = Text(max_length=20000, load_default="")
    actions = ma.fields.List(ma.fields.Nested(ReportActionSchema), load_default=list)
    reason = Text(
        allow_none=True,
        load_default=None,
        metadata={"description": "Required to amend a submitted report"},
    )


class SexCountsPatchSchema(StrictSchema):
    male = Count(allow_none=True)
    female = Count(allow_none=True)
    other = Count(allow_none=True)


class ActionPatchSchema(StrictSchema):
    values = ma.fields.Dict(keys=ma.fields.String(), values=Count(allow_none=True), allow_none=True)
    by_sex = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(SexCountsPatchSchema, allow_none=True),
        allow_none=True,
    )
    note = Text(allow_none=True)
    delay_reason = Text(allow_none=True, metadata={"description": "落後原因"})
    countermeasure = Text(allow_none=True, metadata={"description": "因應對策"})


class ReportPatchSchema(StrictSchema):
    """A JSON Merge Patch (RFC 7396) of a report: only the members named change, null clears one.
    Actions are keyed by their id, so one value of one action can be patched alone."""

    narrative = Text(max_length=20000, allow_none=True)
    reason = Text(allow_none=True, metadata={"description": "Required to amend a submitted report"})
    actions = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(ActionPatchSchema, allow_none=True),
        metadata={
            "example": {
                "1.police.1": {"values": {"sessions": 3}, "by_sex": {"participants": {"female": 120}}}
            }
        },
    )


class ReturnSchema(StrictSchema):
    comment = Text(required=True, validate=[ma.validate.Length(min=1)])


class ReasonSchema(StrictSchema):
    reason = Text(required=True, validate=[ma.validate.Length(min=1)])


REPORT_STATUSES = ["draft", "submitted", "accepted", "returned"]


class SexCountsOutSchema(ma.Schema):
    male = ma.fields.Integer(allow_none=True)
    female = ma.fields.Integer(allow_none=True)
    other = ma.fields.Integer(allow_none=True)


class ActionEntrySchema(ma.Schema):
    action = ma.fields.String(metadata={"example": "1.police.1"})
    values = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(allow_none=True),
        metadata={"description": "Each metric's value (a metric counted by sex: the total of its parts)"},
    )
    by_sex = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(SexCountsOutSchema))
    note = ma.fields.String(allow_none=True)
    delay_reason = ma.fields.String(allow_none=True, metadata={"description": "落後原因"})
    countermeasure = ma.fields.String(allow_none=True, metadata={"description": "因應對策"})


class ReportSchema(ma.Schema):
    bureau = ma.fields.String()
    year = ma.fields.Integer()
    quarter = ma.fields.Integer()
    period = ma.fields.String(metadata={"example": "2022Q2"})
    period_label = ma.fields.String(metadata={"example": "民國111年第2季"})
    status = ma.fields.String(validate=ma.validate.OneOf(REPORT_STATUSES))
    narrative = ma.fields.String()
    actions = ma.fields.List(ma.fields.Nested(ActionEntrySchema))
    revision = ma.fields.Integer()
    due_at = ma.fields.DateTime(metadata={"description": "The instant the report becomes late"})
    submitted_at = ma.fields.DateTime(allow_none=True, metadata={"description": "The first submission"})
    days_late = ma.fields.Integer(allow_none=True)
    reopened_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When a coordinator last reopened the quarter"}
    )
    open_until = ma.fields.DateTime(
        metadata={
            "description": "When the quarter closes for the bureau (its lock date, or later if reopened)"
        }
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ChangedFieldSchema(ma.Schema):
    field = ma.fields.String(metadata={"example": "actions.1.police.1.values.sessions"})
    old = ma.fields.Raw(allow_none=True)
    new = ma.fields.Raw(allow_none=True)


class RevisionSchema(ma.Schema):
    number = ma.fields.Integer()
    event = ma.fields.String(
        metadata={
            "description": "created, saved, submitted, resubmitted, amended, accepted, returned or reopened"
        }
    )
    status = ma.fields.String(validate=ma.validate.OneOf(REPORT_STATUSES))
    actor = ma.fields.String()
    at = ma.fields.DateTime()
    reason = ma.fields.String(allow_none=True)
    comment = ma.fields.String(allow_none=True)
    changes = ma.fields.List(ma.fields.Nested(ChangedFieldSchema))


class BehindMetricSchema(ma.Schema):
    metric = ma.fields.String()
    planned_to_date = ma.fields.Float()
    reported_to_date = ma.fields.Integer()
    percent = ma.fields.Integer(metadata={"description": "reported / planned, whole percent, half-up"})


class ReportWithHistorySchema(ReportSchema):
    history = ma.fields.List(
        ma.fields.Nested(RevisionSchema),
        metadata={"description": "The newest revisions (up to 20), oldest first; older ones: GET …/history"},
    )
    history_total = ma.fields.Integer(metadata={"description": "How many revisions the report has"})
    latest_by_event = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(RevisionSchema),
        metadata={"description": "The newest revision of each event, e.g. the last return and its comment"},
    )
    behind = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.Nested(BehindMetricSchema)),
        metadata={"description": "Actions behind plan (shared/rules.py): they need 落後原因 and 因應對策"},
    )
    locked = ma.fields.Boolean()


class HistoryQuerySchema(StrictSchema):
    before = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=2**31),
        metadata={"description": "Revisions older than this number"},
    )
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class HistoryPageSchema(ma.Schema):
    revisions = ma.fields.List(ma.fields.Nested(RevisionSchema), metadata={"description": "Oldest first"})
    next_before = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Pass as `before` for the page before this one; null at the first"},
    )


class ReportQuerySchema(StrictSchema):
    year = ma.fields.Integer(validate=YEAR)
    quarter = ma.fields.Integer(validate=QUARTER)
    bureau = Code(validate=[known_bureau])
    status = ma.fields.String(validate=ma.validate.OneOf(["draft", "submitted", "accepted", "returned"]))


# -- targets -----------------------------------------------------------------
class TargetInputSchema(StrictSchema):
    annual = Count(required=True)
    quarterly = ma.fields.List(
        Count(), validate=ma.validate.Length(equal=4), allow_none=True, load_default=None
    )


class TargetSchema(ma.Schema):
    year = ma.fields.Integer()
    action = ma.fields.String()
    metric = ma.fields.String()
    annual = ma.fields.Integer()
    quarterly = ma.fields.List(ma.fields.Integer(), allow_none=True)
    updated_at = ma.fields.DateTime()
    updated_by = ma.fields.String()


class TargetQuerySchema(StrictSchema):
    year = ma.fields.Integer(validate=YEAR)
    bureau = Code(validate=[known_bureau])


# -- outcome statistics ------------------------------------------------------
class OutcomeInputSchema(StrictSchema):
    count = Count(required=True)


class OutcomeItemSchema(StrictSchema):
    indicator = Code(INDICATOR_LENGTH, required=True)
    year = ma.fields.Integer(required=True, validate=YEAR)
    quarter = ma.fields.Integer(required=True, validate=QUARTER)
    count = Count(required=True)


class OutcomeBatchSchema(StrictSchema):
    items = ma.fields.List(
        ma.fields.Nested(OutcomeItemSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=1000),
    )


class OutcomeSchema(ma.Schema):
    indicator = ma.fields.String()
    year = ma.fields.Integer()
    quarter = ma.fields.Integer()
    count = ma.fields.Integer()
    revision = ma.fields.Integer()
    updated_at = ma.fields.DateTime()
    updated_by = ma.fields.String()


class OutcomeRevisionSchema(ma.Schema):
    number = ma.fields.Integer()
    count = ma.fields.Integer()
    previous = ma.fields.Integer(allow_none=True)
    actor = ma.fields.String()
    at = ma.fields.DateTime()


class OutcomeWithHistorySchema(OutcomeSchema):
    history = ma.fields.List(ma.fields.Nested(OutcomeRevisionSchema), attribute="revisions")


class OutcomeQuerySchema(StrictSchema):
    indicator = Code(INDICATOR_LENGTH)
    year = ma.fields.Integer(validate=YEAR)


# -- case records ------------------------------------------------------------
class CaseRef(ma.fields.String):
    """A case reference, trimmed (`X` and `X\\n` are one reference) and checked (cases.ref_problem)."""

    def _deserialize(self, value, attr, data, **kwargs):
        ref = super()._deserialize(value, attr, data, **kwargs).strip()
        problem = ref_problem(ref)
        if problem:
            raise ma.ValidationError(problem)
        return ref


class CaseRecordSchema(StrictSchema):
    ref = CaseRef(
        required=True,
        metadata={
            "description": f"Opaque external reference, re-uploading it updates the record: {REF_RULE}",
            "pattern": f"^{REF_PATTERN.pattern}$",
            "maxLength": REF_MAX_LENGTH,
            "example": "NTPC-111-0001",
        },
    )
    date = ma.fields.Date(required=True)
    category = Code(required=True)
    types = ma.fields.List(
        ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=99)),
        load_default=list,
        validate=ma.validate.Length(max=10),
    )
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["suspect", "victim"]))
    sex = ma.fields.String(required=True, validate=ma.validate.OneOf(["male", "female"]))
    age_band = Code()
    age = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=130))
    cause = Code()
    relationship = Code()
    district = Code()


class CaseBatchSchema(StrictSchema):
    records = ma.fields.List(
        ma.fields.Nested(CaseRecordSchema), required=True, validate=ma.validate.Length(min=1)
    )

    @ma.pre_load
    def refuse_personal_data(self, data, **kwargs):
        """Personal data is named as such, before any other validation."""
        if isinstance(data, dict) and isinstance(data.get("records"), list):
            reject_pii([r for r in data["records"] if isinstance(r, dict)])
        return data


class UploadResultSchema(ma.Schema):
    received = ma.fields.Integer()
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()


class CaseSchema(ma.Schema):
    id = ma.fields.Integer()
    ref = ma.fields.String()
    date = ma.fields.Date(attribute="occurred_on")
    category = ma.fields.String()
    types = ma.fields.List(ma.fields.Integer())
    role = ma.fields.String()
    sex = ma.fields.String()
    age_band = ma.fields.String()
    cause = ma.fields.String(allow_none=True)
    relationship = ma.fields.String(allow_none=True)
    district = ma.fields.String(allow_none=True)


class CaseQuerySchema(StrictSchema):
    # Case ids are 32-bit integers in PostgreSQL.
    after_id = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=2**31 - 1))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))
    year = ma.fields.Integer(validate=YEAR)
    category = Code()


# -- change feed -------------------------------------------------------------
# Long enough to save most polls, short enough for proxies' idle timeouts (often 60 s).
MAX_FEED_WAIT_SECONDS = 30


class ChangeQuerySchema(StrictSchema):
    after = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=2**62))
    limit = ma.fields.Integer(load_default=500, validate=ma.validate.Range(min=1, max=5000))
    wait = ma.fields.Integer(
        load_default=0,
        validate=ma.validate.Range(min=0, max=MAX_FEED_WAIT_SECONDS),
        metadata={"description": "Seconds to wait for a change when there is none yet (a long poll)."},
    )


class ChangeSchema(ma.Schema):
    position = ma.fields.Integer()
    entity = ma.fields.String(metadata={"description": "report, target, outcome or case"})
    key = ma.fields.String()
    data = ma.fields.Dict()
    recorded_at = ma.fields.DateTime()


class ChangePageSchema(ma.Schema):
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema))
    next_cursor = ma.fields.Integer(metadata={"description": "Pass as 'after' to continue"})
    has_more = ma.fields.Boolean()
    last_position = ma.fields.Integer(
        metadata={"description": "The feed's newest position: a new consumer may start there"}
    )


# -- bureau directory ---------------------------------------------------------
class ContactSchema(StrictSchema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=EMAIL_LENGTH))
    name = Text(max_length=100, allow_none=True, load_default=None)


class BureauContactsInputSchema(StrictSchema):
    contacts = ma.fields.List(
        ma.fields.Nested(ContactSchema), required=True, validate=ma.validate.Length(max=50)
    )


class BureauSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    name_en = ma.fields.String()
    contacts = ma.fields.List(ma.fields.Nested(ContactSchema))


# -- tokens ------------------------------------------------------------------
class TokenInputSchema(StrictSchema):
    name = Text(required=True, max_length=100, validate=[ma.validate.Length(min=1)])
    role = ma.fields.String(required=True, validate=ma.validate.OneOf([r.value for r in Role]))
    bureau = Code(allow_none=True, load_default=None)


class TokenSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    role = ma.fields.String()
    bureau = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    created_by = ma.fields.String()
    revoked_at = ma.fields.DateTime(allow_none=True)


class MintedTokenSchema(TokenSchema):
    token = ma.fields.String(
        attribute="secret", metadata={"description": "The secret: shown only in this response"}
    )


class IntrospectionInputSchema(StrictSchema):
    token = ma.fields.String(required=True, validate=ma.validate.Length(max=200))


class IntrospectionSchema(ma.Schema):
    active = ma.fields.Boolean(required=True)
    sub = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    bureau = ma.fields.String(allow_none=True)


# -- users of the web pages ----------------------------------------------------
MIN_PASSWORD_LENGTH = 10


class UserInputSchema(StrictSchema):
    username = ma.fields.String(
        required=True,
        validate=[
            ma.validate.Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9._-]{2,59}$",
                error="3-60 letters, digits, '.', '_' or '-', starting with a letter or digit.",
            ),
            ma.validate.Length(max=USERNAME_LENGTH),
        ],
        metadata={"description": "Case-insensitive; stored in lower case", "example": "police.chen"},
    )
    name = Text(
        max_length=100,
        allow_none=True,
        load_default=None,
        metadata={"description": "Shown as the actor in report histories; the user name if omitted"},
    )
    role = ma.fields.String(required=True, validate=ma.validate.OneOf([r.value for r in USER_ROLES]))
    bureau = Code(allow_none=True, load_default=None, metadata={"description": "Required for bureau users"})
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(min=MIN_PASSWORD_LENGTH, max=200),
        metadata={"description": f"At least {MIN_PASSWORD_LENGTH} characters; stored only as an argon2 hash"},
    )


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    bureau = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    created_by = ma.fields.String()
    last_sign_in_at = ma.fields.DateTime(allow_none=True)


# -- report workbooks (.xlsx) ----------------------------------------------------
class WorkbookFormSchema(StrictSchema):
    reason = Text(
        allow_none=True,
        load_default=None,
        metadata={"description": "Required when the upload amends a submitted report"},
    )


class WorkbookFileSchema(StrictSchema):
    file = Upload(required=True, metadata={"description": "The filled-in .xlsx template"})


class UserUpdateSchema(StrictSchema):
    name = Text(max_length=100, validate=[ma.validate.Length(min=1)])
    active = ma.fields.Boolean(metadata={"description": "false signs the user out and refuses sign-ins"})
    password = ma.fields.String(
        load_only=True,
        validate=ma.validate.Length(min=MIN_PASSWORD_LENGTH, max=200),
        metadata={"description": "A new password; it ends the user's current sessions"},
    )
