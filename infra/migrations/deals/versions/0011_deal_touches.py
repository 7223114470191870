"""Every touch linked to a deal, not only the latest, so stalled deals as of a past
moment count the touches made by then.

Revision ID: 0011
Revises: 0010

The history starts from the latest touches already known; the account directory's
feed checkpoint is dropped so the consumer re-reads the accounts feed from the start
and fills in the earlier touches (applying a page again changes nothing else).
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        create table deal_touches (
            deal_id uuid not null,
            touched_at timestamptz not null,
            primary key (deal_id, touched_at)
        )
        """
    )
    op.execute("insert into deal_touches select deal_id, last_touch_at from deal_last_touch")
    op.execute("delete from feed_checkpoints where name = 'accounts-directory'")


def downgrade() -> None:
    op.execute("drop table deal_touches")
