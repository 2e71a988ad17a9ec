"""reports remember when a coordinator reopened them (the lock rule needs it)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 12:00:00

The catalog's lock rule (shared/rules.py, is_locked) keeps a reopened quarter open `lock_days`
after the reopening, so kpi's open gaps need `reopened_at`. Rows synced before this revision do
not have it: the cursor goes back to zero so that the next sync reads the change feed again (every
change is an upsert by key, so the read model ends as it was, with `reopened_at` filled in).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE sync_state SET cursor = 0")


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("reopened_at")
