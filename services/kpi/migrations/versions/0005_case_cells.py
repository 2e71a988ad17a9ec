"""case records counted into cells that the sync keeps up to date; demo records found by an index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 18:30:00

The cells are counted here from the records already read, once, in a stream; from then on each
change of the feed moves them (services/kpi/cells.py).
"""

import json
from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _key(cell) -> str:
    # As services/kpi/cells.py spells a cell's key.
    return json.dumps(list(cell), ensure_ascii=False, separators=(",", ":"))


def upgrade() -> None:
    case_cells = op.create_table(
        "case_cells",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("age_band", sa.String(length=10), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=True),
        sa.Column("relationship", sa.String(length=40), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    type_cells = op.create_table(
        "type_cells",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    # Whether any record is demo data, found without reading every ref.
    demo = sa.text("key LIKE 'DEMO-%'")
    op.create_index("ix_cases_demo", "cases", ["id"], sqlite_where=demo, postgresql_where=demo)
    cells: Counter = Counter()
    types: Counter = Counter()
    rows = op.get_bind().execute(
        sa.text("SELECT year, category, role, sex, age_band, cause, relationship, types FROM cases")
    )
    for *cell, numbers in rows:
        cells[tuple(cell)] += 1
        for number in (json.loads(numbers) if isinstance(numbers, str) else numbers) or ():
            types[(*cell[:4], number)] += 1
    names = ("year", "category", "role", "sex", "age_band", "cause", "relationship")
    if cells:
        op.bulk_insert(
            case_cells,
            [{"key": _key(c), **dict(zip(names, c, strict=True)), "count": n} for c, n in cells.items()],
        )
    if types:
        op.bulk_insert(
            type_cells,
            [
                {"key": _key(c), **dict(zip(names[:4] + ("type",), c, strict=True)), "count": n}
                for c, n in types.items()
            ],
        )


def downgrade() -> None:
    op.drop_index("ix_cases_demo", table_name="cases")
    op.drop_table("type_cells")
    op.drop_table("case_cells")
