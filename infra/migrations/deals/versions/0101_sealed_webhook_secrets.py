"""Webhook signing secrets sealed under the master key; the plaintext column goes.

Revision ID: 0101
Revises: 0100

The secrets already stored are sealed here, in the migration's transaction,
between adding ``sealed_secret`` and dropping ``secret`` — and so are the
copies in the answers to ``POST /subscriptions`` kept for idempotent replays.
Sealing at the service's next start instead would leave plaintext at rest
until then and a second code path for rows of either kind; this way the
schema has one shape and no plaintext survives the upgrade.

The master key comes from the settings (``MASTER_KEY``, or the dev key in
``DATA_DIR``), read only when there are secrets to seal: an empty schema
migrates without one. The downgrade opens them again.
"""

from alembic import op

from shared.fanout.schema import (
    ADD_PLAINTEXT_SECRET_DDL,
    ADD_SEALED_SECRET_DDL,
    DROP_PLAINTEXT_SECRET_DDL,
    DROP_SEALED_SECRET_DDL,
    open_stored_secrets,
    seal_stored_secrets,
)
from shared.settings import Settings

revision = "0101"
down_revision = "0100"
branch_labels = None
depends_on = None


def _master_key() -> bytes:
    return Settings().master_key_bytes


def upgrade() -> None:
    op.execute(ADD_SEALED_SECRET_DDL)
    seal_stored_secrets(op.get_bind(), _master_key)
    for statement in DROP_PLAINTEXT_SECRET_DDL:
        op.execute(statement)


def downgrade() -> None:
    op.execute(ADD_PLAINTEXT_SECRET_DDL)
    open_stored_secrets(op.get_bind(), _master_key)
    for statement in DROP_SEALED_SECRET_DDL:
        op.execute(statement)
