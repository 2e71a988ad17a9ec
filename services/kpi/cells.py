"""The case records counted into cells, kept up to date change by change.

Tables 1-3, the trends and the type counts on /metrics need only how many case records share
each set of attributes (tables.py: a `CaseCell` per year, category, role, sex, age band, cause
and relationship; a `TypeCell` per year, category, role, sex and type). The sync keeps these
counts in two small tables: a record that enters adds one to its cells, a record that changes
leaves its old cells (minus one) and enters its new ones, in the same transaction as the record
itself. So a batch of case records costs work in proportion to the batch, and the snapshot reads
a few thousand cells instead of every record (bench/README.md, "Fresh figures").

`recount` counts every record again, streaming them: the periodic safety net and the reference
the tests hold the incremental counts to.
"""

from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.kpi.models import CaseCellRow, CaseRow, TypeCellRow
from services.kpi.tables import CaseCell, TypeCell, count_cells

# The columns of a case record that place it in its cells, in CaseCell's order.
CELL_COLUMNS = ("year", "category", "role", "sex", "age_band", "cause", "relationship")
RECORD_COLUMNS = tuple(getattr(CaseRow, name) for name in (*CELL_COLUMNS, "types"))
_STREAM_ROWS = 10_000


class Delta:
    """What a set of changes does to the cells' counts: records leaving and entering."""

    def __init__(self):
        self.cells: Counter = Counter()
        self.types: Counter = Counter()

    def _count(self, record, sign: int) -> None:
        year, category, role, sex = record.year, record.category, record.role, record.sex
        self.cells[(year, category, role, sex, record.age_band, record.cause, record.relationship)] += sign
        for number in record.types or ():
            self.types[(year, category, role, sex, number)] += sign

    def add(self, record) -> None:
        """A record (any object with the read model's attributes) enters its cells."""
        self._count(record, 1)

    def remove(self, record) -> None:
        """A record as it was stored leaves its cells (it changed, or is gone)."""
        self._count(record, -1)


def apply(session: Session, delta: Delta) -> None:
    """Add the delta to the stored counts; a cell whose count falls to zero is removed."""
    for model, counts, columns in (
        (CaseCellRow, delta.cells, CELL_COLUMNS),
        (TypeCellRow, delta.types, ("year", "category", "role", "sex", "type")),
    ):
        moved = {key: change for key, change in counts.items() if change}
        if not moved:
            continue
        rows = [
            {"key": _key(key), **dict(zip(columns, key, strict=True)), "count": change}
            for key, change in sorted(moved.items(), key=_sort_key)  # one lock order for every writer
        ]
        insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(model.__table__)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["key"], set_={"count": model.__table__.c.count + statement.excluded.count}
            ),
            rows,
        )
        emptied = [row["key"] for row in rows if row["count"] < 0]
        for start in range(0, len(emptied), 500):
            chunk = emptied[start : start + 500]
            session.execute(delete(model).where(model.key.in_(chunk), model.count <= 0))


def read(session: Session) -> tuple[list[CaseCell], list[TypeCell]]:
    """The stored cells, in the order `tables.count_cells` gives them."""
    cells = [
        CaseCell(*row)
        for row in session.execute(
            select(*(getattr(CaseCellRow, name) for name in CELL_COLUMNS), CaseCellRow.count)
        )
    ]
    types = [
        TypeCell(*row)
        for row in session.execute(
            select(
                TypeCellRow.year,
                TypeCellRow.category,
                TypeCellRow.role,
                TypeCellRow.sex,
                TypeCellRow.type,
                TypeCellRow.count,
            )
        )
    ]
    return sorted(cells, key=_cell_sort_key), sorted(types, key=_cell_sort_key)


def recount(session: Session) -> None:
    """Count every record again into fresh cells, reading the records in a stream: memory holds
    the cells, never the records."""
    rows = session.execute(select(*RECORD_COLUMNS).execution_options(yield_per=_STREAM_ROWS))
    cells, types = count_cells(rows)
    session.execute(delete(CaseCellRow))
    session.execute(delete(TypeCellRow))
    delta = Delta()
    delta.cells.update({tuple(cell[:-1]): cell.count for cell in cells})
    delta.types.update({tuple(cell[:-1]): cell.count for cell in types})
    apply(session, delta)


def _key(cell: tuple) -> str:
    return json.dumps(cell, ensure_ascii=False, separators=(",", ":"))


def _sort_key(item) -> tuple:
    return tuple("" if v is None else str(v) for v in item[0])


def _cell_sort_key(cell) -> tuple:
    return tuple("" if v is None else str(v) for v in cell[:-1])
