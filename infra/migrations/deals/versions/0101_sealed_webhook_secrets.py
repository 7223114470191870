"""Webhook signing secrets sealed under the master key; the plaintext column goes.

Revision ID: 0101
Revises: 0100

See :func:`shared.fanout.schema.migrate_to_sealed_secrets`: the stored secrets
are sealed in this migration's transaction; the downgrade opens them again.
"""

from alembic import op

from shared.fanout.schema import migrate_to_plaintext_secrets, migrate_to_sealed_secrets

revision = "0101"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migrate_to_sealed_secrets(op.get_bind())


def downgrade() -> None:
    migrate_to_plaintext_secrets(op.get_bind())
