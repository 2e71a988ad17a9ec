"""Anonymous case records and the change feed."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from services.intake import cases, feed
from services.intake.api import api_blueprint
from services.intake.context import current_catalog, now
from services.intake.schemas import (
    CaseBatchSchema,
    CaseQuerySchema,
    CaseSchema,
    ChangePageSchema,
    ChangeQuerySchema,
    UploadResultSchema,
)
from shared.auth import CASE_READERS, Role, require_roles
from shared.db import get_database, get_session
from shared.errors import Invalid

blp = api_blueprint("cases", __name__, "Anonymous case records for Tables 1-3, and the change feed.")

UPLOADERS = (Role.ADMIN, Role.STATISTICS)
FEED_READERS = (Role.ADMIN, Role.SERVICE)


def _check_batch_size(count: int) -> None:
    limit = current_app.config["MAX_CASE_BATCH"]
    if count > limit:
        raise Invalid(f"At most {limit} records per upload; this one has {count}. Split it.")


@blp.route("/cases")
class Cases(MethodView):
    @require_roles(*CASE_READERS)
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CaseSchema(many=True))
    def get(self, query):
        """List case records (statistics, admin and service only), paged by `after_id`"""
        return cases.list_records(get_session(), **query)

    @require_roles(*UPLOADERS)
    @blp.arguments(CaseBatchSchema)
    @blp.response(200, UploadResultSchema)
    def post(self, body):
        """Upload case records as JSON

        All or nothing. A known `ref` updates its record instead of adding one. A value
        that looks like a national ID, a phone number or an e-mail address anywhere
        rejects the whole upload.
        """
        _check_batch_size(len(body["records"]))
        return cases.upsert_records(get_session(), current_catalog(), body["records"], now())


@blp.route("/cases/csv")
class CasesCsv(MethodView):
    body_media_types = ("text/csv", "multipart/form-data")

    @require_roles(*UPLOADERS)
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    )
    @blp.response(200, UploadResultSchema)
    def post(self):
        """Upload case records as CSV

        Columns: ref, date, category, types (numbers separated by ';'), role, sex,
        age_band or age, cause, relationship, district. UTF-8, with or without BOM.
        Errors name the CSV row (the header is row 1). All or nothing.
        """
        if request.mimetype == "text/csv":
            raw = request.get_data()
        elif "file" in request.files:
            raw = request.files["file"].read()
        else:
            raise Invalid("Send the CSV file in a form field named 'file'.")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("The CSV file must be UTF-8 encoded.") from None
        records = cases.records_from_csv(text)
        _check_batch_size(len(records))
        return cases.upsert_records(get_session(), current_catalog(), records, now(), first_row_number=2)


@blp.route("/changes")
class Changes(MethodView):
    @require_roles(*FEED_READERS)
    @blp.arguments(ChangeQuerySchema, location="query")
    @blp.response(200, ChangePageSchema)
    def get(self, query):
        """Read the change feed

        Every created or changed report, target, outcome count and case record, in
        commit order. Start with `after=0` and pass `next_cursor` back as `after`.
        The cursor only grows: a consumer that stores it resumes without gaps or repeats.
        `last_position` is the newest position: a consumer that wants only what happens from
        now on starts there. With `wait=<seconds>` an empty page is answered only when a change
        commits or the seconds have passed, whichever comes first (a long poll).
        """
        session = get_session()

        def read_page():
            session.rollback()  # a new transaction, so each read sees the latest commits
            return feed.read(session, query["after"], query["limit"] + 1)

        changes = feed.wait_for_changes(get_database(), read_page, query["wait"])
        page = changes[: query["limit"]]
        return {
            "changes": page,
            "next_cursor": page[-1].position if page else query["after"],
            "has_more": len(changes) > query["limit"],
            "last_position": feed.last_position(get_session()),
        }
