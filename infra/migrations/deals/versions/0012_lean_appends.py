"""Appends write their event rows and nothing else: the (stream_id, version) key
checks the version and the previous row holds the hash to chain from, so the
streams table goes; no index on event_id or event_type, and a BRIN summary
instead of a b-tree on recorded_at.

Revision ID: 0012
Revises: 0011

Downgrading rebuilds the streams table from the events.
"""

from alembic import op

from shared.eventstore.schema import LEAN_APPENDS_DDL, LEAN_APPENDS_UNDO

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in LEAN_APPENDS_DDL:
        op.execute(statement)


def downgrade() -> None:
    for statement in LEAN_APPENDS_UNDO:
        op.execute(statement)
