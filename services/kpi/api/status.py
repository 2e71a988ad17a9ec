"""The KPI service's own state: how far it has read intake, and how old its figures are."""

from __future__ import annotations

from flask.views import MethodView

from services.kpi import snapshot
from services.kpi.api import now
from services.kpi.models import SyncState
from services.kpi.schemas import StatusSchema
from shared.api import api_blueprint
from shared.auth import ALL_ROLES, require_roles
from shared.db import get_session

blp = api_blueprint("status", __name__, "The state of the sync with intake.")


@blp.route("/status")
class Status(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.response(200, StatusSchema)
    def get(self):
        """The sync's state

        `cursor` is the position reached in intake's change feed; `source_up` says whether
        the last sync could read intake; `age_seconds` is the time since the last successful
        sync. While intake is down the service keeps serving its last figures. `demo_data`
        says whether the figures include demo data (`python -m services.intake demo-data`).
        `current_quarter` and `current_year` are the period every default and metric shows.
        """
        state = get_session().get(SyncState, 1)
        summary = snapshot.item(get_session(), "summary", "current") or {}
        age = (now() - state.last_success_at).total_seconds() if state.last_success_at else None
        return {
            "cursor": state.cursor,
            "last_sync_at": state.last_sync_at,
            "last_success_at": state.last_success_at,
            "age_seconds": round(max(0.0, age), 3) if age is not None else None,
            "source_up": state.source_up,
            "last_error": state.last_error,
            "snapshot_at": state.snapshot_at,
            "demo_data": bool(summary.get("demo_data")),
            "first_quarter": summary.get("first_quarter"),
            "current_quarter": summary.get("current_quarter"),
            "current_year": summary.get("current_year"),
        }
