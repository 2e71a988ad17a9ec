"""the cursor of intake's change feed, which notify follows to react to events at once

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty at first: the follower's first run starts at the feed's end (what came before is history).
    op.create_table(
        "feed_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("feed_cursor")
