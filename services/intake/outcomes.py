"""Outcome statistics: quarterly counts of the plan's indicators, with revisions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.intake import feed
from services.intake.models import OutcomeCount, OutcomeRevision
from shared.auth import Principal
from shared.catalog import Catalog
from shared.changes import OutcomeChange
from shared.errors import Invalid
from shared.periods import Quarter


def _check(catalog: Catalog, item: dict, now) -> None:
    try:
        catalog.indicator(item["indicator"])
    except KeyError:
        raise Invalid(
            f"Unknown indicator {item['indicator']!r}.", {"indicator": ["Unknown indicator."]}
        ) from None
    first = catalog.plan.history_first_year
    if item["quarter"] not in (1, 2, 3, 4):
        raise Invalid("Quarters are numbered 1-4.", {"quarter": ["Must be 1, 2, 3 or 4."]})
    if not first <= item["year"] <= now.year:
        raise Invalid(
            f"Outcome statistics cover {first} to {now.year}.",
            {"year": [f"Must be {first}-{now.year}."]},
        )
    if item["year"] < first:
        raise Invalid(f"Outcome statistics start in {first}.", {"year": [f"Must be {first} or later."]})
    if Quarter(item["year"], item["quarter"]).start > now.date():
        raise Invalid("That quarter has not started yet.", {"quarter": ["Quarter is in the future."]})


def record_counts(
    session: Session, catalog: Catalog, principal: Principal, items: list[dict], now
) -> list[OutcomeCount]:
    """Write several counts at once: all are applied or none (the caller's transaction)."""
    for index, item in enumerate(items):
        try:
            _check(catalog, item, now)
        except Invalid as error:
            raise Invalid(f"Item {index}: {error.detail}", {str(index): error.errors}) from None
    seen = set()
    results = []
    for item in items:
        key = (item["indicator"], item["year"], item["quarter"])
        if key in seen:
            raise Invalid(f"{key} is given twice.", {"items": ["Duplicate indicator/year/quarter."]})
        seen.add(key)
        results.append(_record(session, principal, *key, item["count"], now))
    return results


def _record(session: Session, principal: Principal, indicator, year, quarter, count, now) -> OutcomeCount:
    outcome = session.scalar(
        select(OutcomeCount)
        .where(
            OutcomeCount.indicator == indicator,
            OutcomeCount.year == year,
            OutcomeCount.quarter == quarter,
        )
        .with_for_update()
    )
    previous = None
    if outcome is None:
        outcome = OutcomeCount(indicator=indicator, year=year, quarter=quarter, revision=0)
        session.add(outcome)
    elif outcome.count == count:
        return outcome
    else:
        previous = outcome.count
    outcome.count, outcome.revision = count, outcome.revision + 1
    outcome.updated_at, outcome.updated_by = now, principal.name
    session.flush()
    session.add(
        OutcomeRevision(
            outcome_id=outcome.id,
            number=outcome.revision,
            count=count,
            previous=previous,
            actor=principal.name,
            at=now,
        )
    )
    feed.record(
        session,
        OutcomeChange(
            indicator, year, quarter, outcome.count, outcome.revision, outcome.updated_at, outcome.updated_by
        ),
        now,
    )
    return outcome


def list_counts(session: Session, *, indicator=None, year=None) -> list[OutcomeCount]:
    query = select(OutcomeCount).options(selectinload(OutcomeCount.revisions))
    if indicator:
        query = query.where(OutcomeCount.indicator == indicator)
    if year:
        query = query.where(OutcomeCount.year == year)
    return list(
        session.scalars(query.order_by(OutcomeCount.indicator, OutcomeCount.year, OutcomeCount.quarter))
    )
