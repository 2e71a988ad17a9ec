"""The marshmallow base schema and fields every service's schemas use."""

from __future__ import annotations

import re

import marshmallow as ma

# Control characters that no report text carries (tabs and line breaks are allowed).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The largest count a report, a target or a workbook cell may hold.
MAX_COUNT = 1_000_000_000


class Text(ma.fields.String):
    """A string without control characters (tabs and line breaks allowed), trimmed."""

    def __init__(self, *, max_length: int = 2000, **kwargs):
        validators = [*kwargs.pop("validate", []), ma.validate.Length(max=max_length)]
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if CONTROL_CHARACTERS.search(text):
            raise ma.ValidationError("Control characters are not allowed.")
        return text.strip()


def Count(**kwargs) -> ma.fields.Integer:  # noqa: N802 - reads like a field class
    """A non-negative whole number, as counts and reported values are."""
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_COUNT), **kwargs)


def Code(max_length: int = 40, **kwargs) -> ma.fields.String:  # noqa: N802 - reads like a field class
    """An id of the catalog (a bureau, an action, a metric, an indicator, a code): a short string, as
    long as the columns that hold such ids at most."""
    validators = [*kwargs.pop("validate", []), ma.validate.Length(max=max_length)]
    return ma.fields.String(validate=validators, **kwargs)


class StrictSchema(ma.Schema):
    """Unknown fields are refused, never silently dropped."""

    class Meta:
        unknown = ma.RAISE
        ordered = True
