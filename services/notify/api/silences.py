"""Silences: no notification of a rule for a bureau until a date (a bureau on agreed leave)."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from services.notify.api import MANAGERS, current_notifier, now
from services.notify.evaluation import taipei_today
from services.notify.models import Silence
from services.notify.schemas import SilenceInputSchema, SilenceQuerySchema, SilenceSchema, SilenceUpdateSchema
from shared.api import api_blueprint
from shared.auth import current_principal, require_roles
from shared.db import get_session
from shared.errors import Invalid, NotFound

blp = api_blueprint(
    "silences",
    __name__,
    "Silences, as Alertmanager's: a rule stays quiet for a bureau through the end of a date (Asia/Taipei).",
)


def _document(silence: Silence) -> dict:
    return {
        **{column.key: getattr(silence, column.key) for column in Silence.__table__.columns},
        "active": silence.until >= taipei_today(now()),
    }


def _silence(silence_id: int) -> Silence:
    silence = get_session().get(Silence, silence_id)
    if silence is None:
        raise NotFound(f"No silence {silence_id}.")
    return silence


@blp.route("/silences")
class Silences(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(SilenceQuerySchema, location="query")
    @blp.response(200, SilenceSchema(many=True))
    def get(self, query):
        """List silences, latest ending first"""
        statement = select(Silence).order_by(Silence.until.desc(), Silence.id.desc())
        today = taipei_today(now())
        if "active" in query:
            statement = statement.where(Silence.until >= today if query["active"] else Silence.until < today)
        for name in ("bureau", "rule"):
            if name in query:
                statement = statement.where(getattr(Silence, name) == query[name])
        return [_document(silence) for silence in get_session().scalars(statement)]

    @require_roles(*MANAGERS)
    @blp.arguments(SilenceInputSchema)
    @blp.response(201, SilenceSchema)
    def post(self, body):
        """Silence a rule for a bureau through the end of a date"""
        try:
            current_notifier().catalog.bureau(body["bureau"])
        except KeyError:
            raise Invalid(f"No bureau {body['bureau']!r}.", {"bureau": ["Unknown bureau."]}) from None
        moment = now()
        silence = Silence(**body, created_by=current_principal().name, created_at=moment, updated_at=moment)
        session = get_session()
        session.add(silence)
        session.flush()
        return _document(silence)


@blp.route("/silences/<int:silence_id>")
class SilenceById(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, SilenceSchema)
    def get(self, silence_id):
        """Read a silence"""
        return _document(_silence(silence_id))

    @require_roles(*MANAGERS)
    @blp.arguments(SilenceUpdateSchema)
    @blp.response(200, SilenceSchema)
    def patch(self, body, silence_id):
        """Change a silence's end date or comment"""
        silence = _silence(silence_id)
        for name, value in body.items():
            setattr(silence, name, value)
        silence.updated_at = now()
        return _document(silence)

    @require_roles(*MANAGERS)
    @blp.response(204)
    def delete(self, silence_id):
        """Delete a silence: the rule speaks again from the next evaluation"""
        get_session().delete(_silence(silence_id))
