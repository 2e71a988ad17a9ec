"""Request and response schemas of the notify API."""

from __future__ import annotations

import marshmallow as ma

from services.notify.models import BUREAU_RULES, RULES, STATUSES
from shared.fields import Code, StrictSchema, Text


class NotificationQuerySchema(StrictSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    rule = ma.fields.String(validate=ma.validate.OneOf(RULES))
    bureau = Code()
    year = ma.fields.Integer(validate=ma.validate.Range(min=1912, max=2200))
    quarter = ma.fields.Integer(validate=ma.validate.Range(min=1, max=4))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))
    offset = ma.fields.Integer(
        load_default=0, validate=ma.validate.Range(min=0, max=2**62)
    )  # a database integer


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    dedup_key = ma.fields.String(metadata={"description": "rule:bureau-or-indicator:yearQquarter:stage"})
    rule = ma.fields.String()
    bureau = ma.fields.String(allow_none=True)
    indicator = ma.fields.String(allow_none=True)
    year = ma.fields.Integer()
    quarter = ma.fields.Integer()
    stage = ma.fields.String()
    recipients = ma.fields.List(ma.fields.String())
    subject = ma.fields.String()
    status = ma.fields.String(
        metadata={"description": "pending, sending, sent, failed, cancelled or dry_run"}
    )
    status_reason = ma.fields.String(allow_none=True)
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    next_attempt_at = ma.fields.DateTime()
    message_id = ma.fields.String()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    sent_at = ma.fields.DateTime(allow_none=True)


class NotificationDetailSchema(NotificationSchema):
    body_text = ma.fields.String()
    body_html = ma.fields.String()
    facts = ma.fields.Dict(metadata={"description": "What the rule saw when it fired"})
    deliveries = ma.fields.Integer(metadata={"description": "Times a mail server accepted it"})


class EvaluationInputSchema(StrictSchema):
    dry_run = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Only say what would be created: nothing is written or sent"},
    )


class SkippedSchema(ma.Schema):
    key = ma.fields.String()
    reason = ma.fields.String()


class EvaluationResultSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "The recorded evaluation (absent for a dry run)"})
    trigger = ma.fields.String()
    preview = ma.fields.Boolean()
    evaluated_at = ma.fields.String()
    today = ma.fields.String(metadata={"description": "The date in Asia/Taipei the rules used"})
    created = ma.fields.List(ma.fields.String(), metadata={"description": "Dedup keys written now"})
    existing = ma.fields.List(ma.fields.String(), metadata={"description": "Dedup keys written before"})
    skipped = ma.fields.List(ma.fields.Nested(SkippedSchema))
    superseded = ma.fields.Integer(metadata={"description": "Pending notices an overdue notice replaced"})
    candidates = ma.fields.List(ma.fields.Dict(), metadata={"description": "Dry run: every notification due"})


class EvaluationSchema(ma.Schema):
    id = ma.fields.Integer()
    trigger = ma.fields.String()
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    outcome = ma.fields.String()
    created = ma.fields.Integer()
    error = ma.fields.String(allow_none=True)


class SilenceInputSchema(StrictSchema):
    rule = ma.fields.String(required=True, validate=ma.validate.OneOf(BUREAU_RULES))
    bureau = Code(required=True)
    until = ma.fields.Date(
        required=True, metadata={"description": "Last silenced day (Asia/Taipei), inclusive"}
    )
    comment = Text(load_default="", metadata={"example": "本局承辦人休假至月底，已電話告知"})


class SilenceUpdateSchema(StrictSchema):
    until = ma.fields.Date()
    comment = Text()


class SilenceSchema(ma.Schema):
    id = ma.fields.Integer()
    rule = ma.fields.String()
    bureau = ma.fields.String()
    until = ma.fields.Date()
    comment = ma.fields.String()
    active = ma.fields.Boolean()
    created_by = ma.fields.String()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class SilenceQuerySchema(StrictSchema):
    active = ma.fields.Boolean(
        metadata={"description": "Only silences in force today (or only expired ones)"}
    )
    bureau = Code()
    rule = ma.fields.String(validate=ma.validate.OneOf(BUREAU_RULES))
