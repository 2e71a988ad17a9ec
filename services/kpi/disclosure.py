"""The small-cell rule on what kpi publishes from case records (README, "Small counts").

A count of 1 to min_cell - 1 people (the catalog's `disclosure`, shared/rules.py is_small_cell) can
point at a victim, so it is withheld: the primary suppression. Then, so that no withheld count can
be worked out from what is shown:
- complementary suppression: a relation of the table (a total and its parts: a row, a column)
  that holds exactly one withheld value gets a second one, its smallest nonzero part (its total
  when the withheld value is its one nonzero part), until no relation holds exactly one;
- an audit on bounds (`pinned`): a reader also knows that a withheld value is at least 1, since
  zero is shown as `-`; if the rows and columns together still pin a small count to one value
  (2 = 1 + 1), the smallest shown value around it is withheld as well, and so on.
A sex's grand total is never withheld unless it is small itself: the trends publish it. Where the
shape of a sparse block pins its cells anyway (a total of 3 over three nonzero cells), nothing short
of hiding zeros would help, and the cells stay as they are: withheld. A share (構成比) goes with its
count or its whole.

Interval reasoning is not a full linear-programming audit, and tables of overlapping spans or
categories can be subtracted from one another; the tables are readable only by the roles that may
read the case records themselves, and what everyone reads (the trends, /metrics) publishes no
totals to subtract from.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from services.kpi import tables
from services.kpi.tables import WITHHELD, Position, Table
from shared.catalog import Catalog, Disclosure
from shared.rules import is_small_cell

Relation = tuple[Position, tuple[Position, ...]]


def withheld_positions(table: Table, disclosure: Disclosure) -> set[Position]:
    """The positions of the values the rule withholds in `table`."""
    counts = {
        (row_number, column): value
        for row_number, row in enumerate(table.rows)
        if row.row_type != "share"
        for column, value in enumerate(row.values)
    }
    small = {position for position, count in counts.items() if is_small_cell(count, disclosure)}
    withheld = set(small)
    while True:
        _complete(table.relations, counts, withheld)
        widening = _widening(
            table.relations, counts, withheld, pinned(table.relations, counts, withheld) & small
        )
        if widening is None:
            break
        withheld.add(widening)
    for share, part, whole in table.shares:
        if part in withheld or whole in withheld:
            withheld.add(share)
    return withheld


def _complete(relations: list[Relation], counts: dict, withheld: set[Position]) -> None:
    """Complementary suppression: no relation holds exactly one withheld value, unless its only
    other nonzero member is a grand total."""
    shown_always = _grand_totals(relations)
    settled = False
    while not settled:
        settled = True
        for total, parts in relations:
            if sum(position in withheld for position in (total, *parts)) != 1:
                continue
            # Its smallest nonzero part; the total only when the withheld value is its one
            # nonzero part (the total would equal it).
            candidates = [p for p in parts if p not in withheld and counts[p] > 0]
            candidates = candidates or ([total] if total not in shown_always else [])
            if candidates:
                withheld.add(min(candidates, key=lambda p: (counts[p], p)))
                settled = False


def _grand_totals(relations: list[Relation]) -> set[Position]:
    """Totals that are part of no relation: a sex's count in the table, which the trends publish
    unless it is small, so withholding it here would hide nothing."""
    parts = {part for _, members in relations for part in members}
    return {total for total, _ in relations} - parts


def pinned(relations: list[Relation], counts: dict, withheld: set[Position]) -> set[Position]:
    """The withheld values that reasoning on bounds recovers exactly.

    What a reader knows: every shown value, that a withheld value is at least 1 (zero is shown),
    and that each relation adds up. Each relation bounds each of its withheld members by the
    bounds of the others, until nothing tightens (interval propagation); a withheld value whose
    lowest and highest possible values meet is recovered.
    """
    low = dict.fromkeys(withheld, 1)
    high = dict.fromkeys(withheld, math.inf)

    def bounds(position):
        return (low[position], high[position]) if position in withheld else (counts[position],) * 2

    tightened = True
    while tightened:
        tightened = False
        for total, parts in relations:
            # total - parts = 0, so each member's sign x value = -(the others' signed sum).
            signed = [(total, 1), *((part, -1) for part in parts)]
            for position, sign in signed:
                if position not in withheld:
                    continue
                others = [
                    (sign_ * bounds(p)[0], sign_ * bounds(p)[1]) for p, sign_ in signed if p != position
                ]
                others_low = sum(min(pair) for pair in others)
                others_high = sum(max(pair) for pair in others)
                own_low, own_high = bounds(position)
                new_low = max(own_low, -others_high if sign > 0 else others_low)
                new_high = min(own_high, -others_low if sign > 0 else others_high)
                if (new_low, new_high) != (own_low, own_high):
                    low[position], high[position] = new_low, new_high
                    tightened = True
    return {position for position in withheld if low[position] == high[position]}


def _widening(
    relations: list[Relation], counts: dict, withheld: set[Position], recovered: set[Position]
) -> Position | None:
    """A value to withhold as well so that a recovered small count no longer is: the smallest
    shown nonzero value of a relation around it, never a grand total."""
    shown_always = _grand_totals(relations)
    for position in sorted(recovered):
        candidates = [
            member
            for total, parts in relations
            if position == total or position in parts
            for member in (*parts, total)
            if member not in withheld and counts[member] > 0 and member not in shown_always
        ]
        if candidates:
            return min(candidates, key=lambda p: (counts[p], p))
    return None


def suppress(table: Table, disclosure: Disclosure) -> Table:
    """The table as anyone may read it: every withheld value replaced by WITHHELD."""
    withheld = withheld_positions(table, disclosure)
    rows = [
        dataclasses.replace(
            row,
            values=[
                WITHHELD if (row_number, column) in withheld else value
                for column, value in enumerate(row.values)
            ],
        )
        for row_number, row in enumerate(table.rows)
    ]
    return dataclasses.replace(table, rows=rows, min_cell=disclosure.min_cell)


def type_counts(catalog: Catalog, type_cells: Iterable[tables.TypeCell]) -> dict:
    """The cells of dgbv_gbv_type_count: each year's types table over every category, suppressed.

    `counts` holds [type, role, sex, year, count] of the cells published (nonzero), `withheld`
    [type, role, sex, year] of those withheld. A role's total is not a metric of its own.
    """
    type_cells = list(type_cells)
    counts, withheld = [], []
    for year in sorted({cell.year for cell in type_cells}):
        table = suppress(tables.types_table(catalog, type_cells, None, year, year), catalog.disclosure)
        for row in table.rows:
            for (role, sex), value in zip(tables.TYPE_COLUMNS, row.values, strict=True):
                if sex is None or value == 0:
                    continue
                labels = [int(row.code), role, sex, year]
                if value is WITHHELD:
                    withheld.append(labels)
                else:
                    counts.append([*labels, value])
    return {"counts": counts, "withheld": withheld}
