"""The outbox and evaluations."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from services.notify import outbox
from services.notify.api import MANAGERS, current_notifier, now
from services.notify.evaluation import evaluate, taipei_today
from services.notify.models import Evaluation, Notification
from services.notify.schemas import (
    EvaluationInputSchema,
    EvaluationResultSchema,
    EvaluationSchema,
    NotificationDetailSchema,
    NotificationQuerySchema,
    NotificationSchema,
)
from shared.api import api_blueprint
from shared.auth import current_principal, require_roles
from shared.db import get_session

blp = api_blueprint(
    "notifications",
    __name__,
    "The outbox of e-mails (status, attempts, last error), evaluations of the rules on demand, "
    "resending and cancelling.",
)


@blp.route("/notifications")
class Notifications(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationSchema(many=True))
    def get(self, query):
        """List notifications, newest first"""
        statement = select(Notification).order_by(Notification.id.desc())
        for name in ("status", "rule", "bureau", "year", "quarter"):
            if name in query:
                statement = statement.where(getattr(Notification, name) == query[name])
        return get_session().scalars(statement.limit(query["limit"]).offset(query["offset"])).all()


@blp.route("/notifications/<int:notification_id>")
class NotificationById(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, NotificationDetailSchema)
    def get(self, notification_id):
        """Read a notification with its message and the facts behind it"""
        return outbox.get(get_session(), notification_id)


@blp.route("/notifications/<int:notification_id>/resend")
class ResendNotification(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, NotificationDetailSchema)
    def post(self, notification_id):
        """Send a notification again

        A sent, failed, cancelled or dry-run notification goes back to the queue; its
        reason is re-checked before it is sent, as for any other. One whose message could
        not be rendered when it was written is rendered now (409 if it still cannot be).
        """
        notifier = current_notifier()
        return outbox.resend(
            get_session(),
            notification_id,
            now(),
            current_principal().name,
            lambda row: notifier.render(row.rule, row.facts, taipei_today(row.created_at)),
        )


@blp.route("/notifications/<int:notification_id>/cancel")
class CancelNotification(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, NotificationDetailSchema)
    def post(self, notification_id):
        """Cancel a notification that has not been sent"""
        return outbox.cancel(get_session(), notification_id, now(), current_principal().name)


@blp.route("/evaluations")
class Evaluations(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, EvaluationSchema(many=True))
    def get(self):
        """The last 50 evaluations, scheduled or asked for"""
        return get_session().scalars(select(Evaluation).order_by(Evaluation.id.desc()).limit(50)).all()

    @require_roles(*MANAGERS)
    @blp.arguments(EvaluationInputSchema)
    @blp.response(200, EvaluationResultSchema)
    def post(self, body):
        """Evaluate the rules now

        Writes the new notifications to the outbox (the scheduler sends them within
        SEND_INTERVAL_SECONDS). With `dry_run`, writes nothing and lists every
        notification that is due, marking those not yet written as `new`.
        """
        return evaluate(current_notifier(), trigger="api", preview=body["dry_run"])
