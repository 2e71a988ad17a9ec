"""Conditional writes of reports (RFC 9110): the ETag is the revision, If-Match says which one the
writer saw, and the domain compares them under the row lock."""

from __future__ import annotations

from flask import request

from services.intake import reports
from shared.errors import PROBLEM_CONTENT_TYPE, ProblemSchema

# A report's ETag is its revision number; every write checks If-Match against it under the row lock.
ETAG = {"ETag": {"description": 'The report\'s revision, e.g. "7"', "schema": {"type": "string"}}}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": 'The ETag you read ("7"), or * for whatever is current. Required once the report '
    "exists (428 without it); 412 when the report has changed since.",
}
PRECONDITIONS = {
    412: "The report changed since the ETag in If-Match: nothing was written; read it again.",
    428: "The report exists and If-Match is missing.",
}


def seen_in_request() -> reports.Seen:
    """If-Match as the domain reads it: strong comparison only (RFC 9110, section 13.1.1)."""
    if not request.headers.get("If-Match"):
        return reports.Seen.unstated()
    if request.if_match.star_tag:
        return reports.Seen.any()
    return reports.Seen(frozenset(int(tag) for tag in request.if_match.as_set() if _is_revision(tag)))


def _is_revision(tag: str | None) -> bool:
    """Our ETags are revision numbers; any other tag simply matches nothing."""
    return bool(tag) and tag.isascii() and tag.isdigit() and len(tag) <= 18


def writes(blp, response):
    """Document a conditional write of `blp`: If-Match, 412 and 428, and (`response`) the report."""

    def decorate(view):
        view = blp.doc(parameters=[IF_MATCH])(view)
        for status, description in PRECONDITIONS.items():
            view = blp.alt_response(
                status, schema=ProblemSchema, content_type=PROBLEM_CONTENT_TYPE, description=description
            )(view)
        return response(view)

    return decorate


def answer(report, rules):
    """The report as the API shows it, with its revision as the ETag."""
    return reports.view(report, rules), reports.etag(report)
