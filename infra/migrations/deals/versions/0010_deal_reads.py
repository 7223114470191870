"""Deal list, pipeline catalog, account directory and last touch per deal.

Revision ID: 0010
Revises: 0002

An independent branch off 0002 (the views add theirs): migrations run to all heads.
``account_directory`` and ``deal_last_touch`` are filled from the accounts feed and
joined by the views under exactly these names.
"""

from alembic import op

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = (
    """
    create table deal_list (
        deal_id uuid primary key,
        account_id uuid not null,
        title text not null,
        owner_id text not null,
        pipeline text not null,
        stage text not null,
        status text not null,
        amount numeric not null,
        currency text not null,
        suggested_probability numeric not null,
        asserted_probability numeric,
        suggested_category text not null,
        asserted_category text,
        expected_close_date date,
        stage_entered_at timestamptz not null,
        ended_at timestamptz,
        opened_at timestamptz not null,
        updated_at timestamptz not null,
        version integer not null
    )
    """,
    # GET /deals pages newest first, overall and by owner or account (keyset).
    "create index deal_list_opened on deal_list (opened_at desc, deal_id desc)",
    "create index deal_list_owner on deal_list (owner_id, opened_at desc, deal_id desc)",
    "create index deal_list_account on deal_list (account_id, opened_at desc, deal_id desc)",
    "create index deal_list_pipeline on deal_list (pipeline, stage, status)",
    """
    create table pipelines (
        code text primary key,
        name text not null,
        definition jsonb not null,
        version integer not null,
        defined_at timestamptz not null,
        updated_at timestamptz not null
    )
    """,
    """
    create table account_directory (
        account_id uuid primary key,
        name text,
        region text,
        owner_id text,
        grade text,
        tier text,
        archived boolean not null default false,
        updated_at timestamptz
    )
    """,
    """
    create table deal_last_touch (
        deal_id uuid primary key,
        last_touch_at timestamptz not null
    )
    """,
)
DOWNGRADE = (
    "drop table deal_last_touch",
    "drop table account_directory",
    "drop table pipelines",
    "drop table deal_list",
)


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
