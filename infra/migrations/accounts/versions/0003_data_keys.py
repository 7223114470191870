"""Per-contact data keys for crypto-shredding of personal fields.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.eventstore.crypto import DATA_KEYS_DDL

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(DATA_KEYS_DDL)


def downgrade() -> None:
    op.execute("drop table data_keys")
