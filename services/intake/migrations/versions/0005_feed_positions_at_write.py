"""the change feed numbers its rows when they are written

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 18:30:00

Rows used to be written without a position and numbered by the first read of the feed after
their commit. Rows written before this revision and not yet read are numbered here, in the order
the old sequencer would have given them (id order); every row then has its position.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE changes SET position = numbered.base + numbered.n
        FROM (
            SELECT c.id,
                   ROW_NUMBER() OVER (ORDER BY c.id) AS n,
                   (SELECT COALESCE(MAX(position), 0) FROM changes) AS base
            FROM changes c WHERE c.position IS NULL
        ) AS numbered
        WHERE changes.id = numbered.id
        """
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index("ix_changes_unpositioned")
        batch_op.alter_column("position", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.alter_column("position", existing_type=sa.BigInteger(), nullable=True)
        batch_op.create_index(
            "ix_changes_unpositioned",
            ["id"],
            unique=False,
            postgresql_where=sa.text("position IS NULL"),
            sqlite_where=sa.text("position IS NULL"),
        )
