"""The small-cell rule on what kpi publishes from case records (README, "Small counts").

A count of 1 to min_cell - 1 people (the catalog's `disclosure`, shared/rules.py is_small_cell) can
point at a victim, so it is withheld: the primary suppression. A withheld cell must not be
recomputable from a total and the other cells of its row or column, so every relation of the
table (a total and its parts) that holds exactly one withheld value gets a second one: its
smallest nonzero part (complementary suppression), until no relation holds exactly one. Parts are
chosen before totals (a total only when the withheld value is its one nonzero part), so that a
sex's grand total, which the trends publish too, is withheld only when it is small itself. A share
(構成比) goes with its count or its whole.

This is the usual heuristic, not a linear-programming audit: no single row or column gives a
withheld cell away, but tables of overlapping spans or categories can be subtracted from one
another. The tables are readable only by the roles that may read the case records themselves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from services.kpi import tables
from services.kpi.tables import WITHHELD, Position, Table
from shared.catalog import Catalog, Disclosure
from shared.rules import is_small_cell


def withheld_positions(table: Table, disclosure: Disclosure) -> set[Position]:
    """The positions of the values the rule withholds in `table`."""
    counts = {
        (row_number, column): value
        for row_number, row in enumerate(table.rows)
        if row.row_type != "share"
        for column, value in enumerate(row.values)
    }
    withheld = {position for position, count in counts.items() if is_small_cell(count, disclosure)}
    settled = False
    while not settled:
        settled = True
        for total, parts in table.relations:
            if sum(position in withheld for position in (total, *parts)) != 1:
                continue
            # Its smallest nonzero part; the total only when the withheld value is its one
            # nonzero part (the total would equal it).
            candidates = [p for p in parts if p not in withheld and counts[p] > 0] or [total]
            withheld.add(min(candidates, key=lambda p: (counts[p], p)))
            settled = False
    for share, part, whole in table.shares:
        if part in withheld or whole in withheld:
            withheld.add(share)
    return withheld


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
