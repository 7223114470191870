"""Deal views: state history with validity intervals, pipeline totals (changes and their
Fenwick tree), stage visits and funnel facts, win/loss outcomes
(services/deals/projections/views_*.py).

Revision ID: 0020
Revises: 0002

An independent branch off 0002: migrations run to all heads. Every table here is a
projection (rebuildable from event zero); none uses serial columns.
"""

from alembic import op

revision = "0020"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = (
    """
    create table deal_state_history (
        deal_id uuid not null,
        valid_from timestamptz not null,
        valid_to timestamptz not null default 'infinity',
        version integer not null,
        status text not null,
        pipeline text not null,
        stage text not null,
        stage_entered_at timestamptz not null,
        owner_id text not null,
        account_id uuid not null,
        title text not null,
        amount numeric not null,
        currency text not null,
        suggested_probability numeric not null,
        asserted_probability numeric,
        probability numeric not null,
        weighted_amount numeric not null,
        suggested_category text not null,
        asserted_category text,
        forecast_category text not null,
        expected_close_date date,
        opened_at timestamptz not null,
        primary key (deal_id, valid_from),
        check (valid_from < valid_to)
    )
    """,
    # "valid at T": tstzrange(valid_from, valid_to) @> T, answered by GiST.
    """create index deal_state_history_during on deal_state_history
       using gist (tstzrange(valid_from, valid_to))""",
    # The live views read only current open rows, often one owner's: the pipeline view by
    # owner reads them from the index alone.
    """create index deal_state_history_open on deal_state_history (owner_id, pipeline, stage)
       include (currency, amount, weighted_amount, stage_entered_at, account_id)
       where valid_to = 'infinity' and status = 'open'""",
    # One owner's rows as of T: valid_from <= T, then valid_to > T among them, index only.
    """create index deal_state_history_owner on deal_state_history (owner_id, valid_from)
       include (valid_to, status, pipeline, stage, currency, amount, weighted_amount,
                stage_entered_at, account_id)""",
    # The waterfall reads the changes made between two moments.
    "create index deal_state_history_changes on deal_state_history (valid_from)",
    # Pipeline totals (views_rollup): deltas at their exact time, and their sums over
    # aligned blocks of hours per (pipeline, stage, currency).
    """
    create table pipeline_changes (
        at timestamptz not null,
        pipeline text not null,
        stage text not null,
        currency text not null,
        deals integer not null,
        amount numeric not null,
        weighted_amount numeric not null,
        entered_epoch numeric not null,
        primary key (at, pipeline, stage, currency)
    )
    """,
    """
    create table pipeline_tree (
        node bigint not null,
        pipeline text not null,
        stage text not null,
        currency text not null,
        deals integer not null,
        amount numeric not null,
        weighted_amount numeric not null,
        entered_epoch numeric not null,
        primary key (node, pipeline, stage, currency)
    )
    """,
    """
    create table deal_stage_visits (
        deal_id uuid not null,
        seq integer not null,
        pipeline text not null,
        stage text not null,
        entered_at timestamptz not null,
        entered_by text not null,
        left_at timestamptz,
        left_by text,
        primary key (deal_id, seq)
    )
    """,
    """
    create table deal_stage_funnel (
        deal_id uuid not null,
        stage text not null,
        pipeline text not null,
        account_id uuid not null,
        opened_at timestamptz not null,
        reached_at timestamptz not null,
        went_on_at timestamptz,
        went_on_by text,
        spent_seconds numeric not null default 0,
        primary key (deal_id, stage)
    )
    """,
    "create index deal_stage_funnel_pipeline on deal_stage_funnel (pipeline, stage)",
    """
    create table outcome_deals (
        deal_id uuid primary key,
        owner_id text not null,
        account_id uuid not null,
        pipeline text not null,
        currency text not null,
        amount numeric not null,
        opened_at timestamptz not null,
        competitors text[] not null default '{}',
        outcomes integer not null default 0
    )
    """,
    """
    create table deal_outcomes (
        deal_id uuid not null,
        seq integer not null,
        outcome text not null check (outcome in ('won', 'lost')),
        at timestamptz not null,
        retracted_at timestamptz,
        stage text not null,
        cause text,
        competitor text,
        competitors text[] not null default '{}',
        owner_id text not null,
        account_id uuid not null,
        pipeline text not null,
        amount numeric not null,
        currency text not null,
        opened_at timestamptz not null,
        primary key (deal_id, seq)
    )
    """,
    "create index deal_outcomes_at on deal_outcomes (at)",
)
TABLES = (
    "deal_outcomes",
    "outcome_deals",
    "deal_stage_funnel",
    "deal_stage_visits",
    "pipeline_tree",
    "pipeline_changes",
    "deal_state_history",
)


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        op.execute("drop table if exists " + table)
    op.execute("delete from checkpoints where name like 'views\\_%'")
