"""Activity targets: the planned value of each action metric for a year."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import feed, installation
from services.intake.models import ActivityTarget
from shared.auth import Principal
from shared.catalog import Catalog
from shared.changes import TargetChange
from shared.errors import Invalid


def set_target(
    session: Session,
    catalog: Catalog,
    principal: Principal,
    *,
    year,
    action,
    metric,
    annual,
    quarterly,
    now,
) -> ActivityTarget:
    """Create or replace a target of an output metric; quarterly values, when given, must add up to
    the annual one. A caseload metric counts demand (referrals, victims served): it has no target."""
    first = installation.first_quarter(session, catalog).year
    if not first <= year <= now.year + 5:
        raise Invalid(f"Targets are set for {first} to {now.year + 5}.", {"year": ["Year out of range."]})
    try:
        found = catalog.metric(action, metric)
    except KeyError:
        raise Invalid(f"Unknown action metric {action}/{metric}.", {"metric": ["Unknown metric."]}) from None
    if not found.judged:
        raise Invalid(
            f"{found.name}（{action}）為案件量指標，反映需求而非工作量，不設定目標，只呈現趨勢。",
            {"metric": ["A caseload metric has no target: it is shown as a trend, never judged."]},
        )
    if quarterly is not None and sum(quarterly) != annual:
        raise Invalid(
            f"The quarterly values add up to {sum(quarterly)}, not the annual {annual}.",
            {"quarterly": ["Must add up to the annual value."]},
        )
    target = session.scalar(
        select(ActivityTarget)
        .where(
            ActivityTarget.year == year,
            ActivityTarget.action == action,
            ActivityTarget.metric == metric,
        )
        .with_for_update()
    )
    if target is None:
        target = ActivityTarget(year=year, action=action, metric=metric)
        session.add(target)
    elif target.annual == annual and target.quarterly == quarterly:
        return target
    target.annual, target.quarterly = annual, quarterly
    target.updated_at, target.updated_by = now, principal.name
    session.flush()
    feed.record(
        session,
        TargetChange(
            year,
            action,
            metric,
            annual,
            tuple(quarterly) if quarterly is not None else None,
            target.updated_at,
            target.updated_by,
        ),
        now,
    )
    return target


def list_targets(session: Session, catalog: Catalog, *, year=None, bureau=None) -> list[ActivityTarget]:
    query = select(ActivityTarget).order_by(ActivityTarget.year, ActivityTarget.action, ActivityTarget.metric)
    if year is not None:
        query = query.where(ActivityTarget.year == year)
    if bureau is not None:
        query = query.where(ActivityTarget.action.in_([a.id for a in catalog.actions_for(bureau)]))
    return list(session.scalars(query))
