"""Won contract values per deal, followed from the deals feed (``GET /views/accounts``).

Revision ID: 0011
Revises: 0010

One row per deal the deals service opened: its account and currency, its status and,
once won, the contract value. ``version`` is the deal version last applied, so a
page of the feed delivered twice changes nothing the second time.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = (
    """
    create table deal_values (
        deal_id         uuid primary key,
        account_id      uuid        not null,
        currency        text        not null,
        status          text        not null,
        contract_value  numeric,
        signed_date     date,
        won_at          timestamptz,
        version         integer     not null
    )
    """,
    # the view sums the won deals per account and currency
    """
    create index deal_values_won_idx on deal_values (account_id, currency)
        include (contract_value) where status in ('won', 'closed')
    """,
)


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    op.execute("drop table deal_values")
