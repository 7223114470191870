"""Webhook subscriptions, each with its own feed checkpoint.

Revision ID: 0100
Revises: 0002

An independent branch off 0002: migrations run to all heads.
"""

from alembic import op

from shared.fanout.schema import DROP_SUBSCRIPTIONS_DDL, SUBSCRIPTIONS_DDL

revision = "0100"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in SUBSCRIPTIONS_DDL:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_SUBSCRIPTIONS_DDL:
        op.execute(statement)
