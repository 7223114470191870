"""The event store: events, streams, idempotency records, checkpoints.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.eventstore.schema import DROP_EVENTSTORE_DDL, EVENTSTORE_DDL

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in EVENTSTORE_DDL:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_EVENTSTORE_DDL:
        op.execute(statement)
