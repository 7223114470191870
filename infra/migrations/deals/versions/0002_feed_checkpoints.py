"""Checkpoints of feed consumers.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shared.eventstore.feed_schema import FEED_CHECKPOINTS_DDL

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(FEED_CHECKPOINTS_DDL)


def downgrade() -> None:
    op.execute("drop table feed_checkpoints")
