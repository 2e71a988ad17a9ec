"""the small-cell rule: forget the type counts stored before it, unsuppressed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:00:00

The snapshot's `gbv_types` row of an older kpi holds every count, however small, and /metrics
would serve it until the scheduler's next cycle. It is deleted; until that cycle recomputes it
under the catalog's rule, /metrics has no type counts.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM snapshot_items WHERE section = 'gbv_types'")


def downgrade() -> None:
    """Nothing to undo: an older kpi reads the suppressed row's `counts` as its own."""
