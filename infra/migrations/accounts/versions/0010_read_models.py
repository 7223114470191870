"""Read models of the accounts service: directory, contacts, timeline, coverage, activity.

Revision ID: 0010
Revises: 0003

No serial columns (a rebuild copies these tables with ``like … including all``)
and no personal data: contact personal details live only, encrypted, in events.
"""

from alembic import op

revision = "0010"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = (
    """
    create table account_directory (
        account_id          uuid primary key,
        name                text        not null,
        name_key            text        not null,
        industry            text        not null,
        region              text        not null,
        region_key          text        not null,
        scope               text        not null,
        owner_id            text        not null,
        grade               text,
        tier                text,
        relationship        text        not null,
        assessment_overall  numeric(3, 2),
        archived            boolean     not null,
        opened_at           timestamptz not null,
        updated_at          timestamptz not null,
        version             integer     not null
    )
    """,
    # keyset pages in name order, alone or within one owner / region / grade / tier
    "create index account_directory_name_idx on account_directory (name_key, account_id)",
    "create index account_directory_owner_idx on account_directory (owner_id, name_key)",
    "create index account_directory_region_idx on account_directory (region_key, name_key)",
    "create index account_directory_grade_idx on account_directory (grade, name_key)",
    "create index account_directory_tier_idx on account_directory (tier, name_key)",
    """
    create table contacts (
        contact_id       uuid primary key,
        account_id       uuid        not null,
        name             text        not null,
        title            text        not null,
        department       text        not null,
        left_company     boolean     not null,
        personal_erased  boolean     not null,
        added_at         timestamptz not null,
        updated_at       timestamptz not null,
        version          integer     not null
    )
    """,
    "create index contacts_account_idx on contacts (account_id, name, contact_id)",
    """
    create table contact_roles (
        contact_id   uuid        not null,
        role         text        not null,
        deal_key     text        not null,  -- the deal id, or '' for the account in general
        account_id   uuid        not null,
        deal_id      uuid,
        influence    smallint    not null,
        support      smallint    not null,
        assigned_at  timestamptz not null,
        primary key (contact_id, role, deal_key)
    )
    """,
    """
    create table timeline (
        event_id    uuid primary key,
        account_id  uuid        not null,
        at          timestamptz not null,
        kind        text        not null,
        event_type  text        not null,
        stream_id   text        not null,
        version     integer     not null,
        actor       text,
        details     jsonb       not null
    )
    """,
    "create index timeline_account_idx on timeline (account_id, at desc, event_id desc)",
    """
    create table coverage_accounts (
        account_id       uuid primary key,
        name             text        not null,
        owner_id         text        not null,
        region           text        not null,
        archived         boolean     not null,
        last_touch_at    timestamptz,
        last_touch_sort  timestamptz not null,  -- last_touch_at, or year 1 when never touched
        touches          integer     not null
    )
    """,
    # least recently touched first, overall or per owner (archived accounts are not shown)
    """
    create index coverage_accounts_stale_idx on coverage_accounts (last_touch_sort, account_id)
        where not archived
    """,
    """
    create index coverage_accounts_owner_idx
        on coverage_accounts (owner_id, last_touch_sort, account_id) where not archived
    """,
    """
    create table coverage_contacts (
        contact_id     uuid primary key,
        account_id     uuid        not null,
        left_company   boolean     not null,
        last_touch_at  timestamptz
    )
    """,
    """
    create table coverage_roles (
        account_id  uuid not null,
        role        text not null,
        contact_id  uuid not null,
        deal_key    text not null,
        primary key (account_id, role, contact_id, deal_key)
    )
    """,
    "create index coverage_roles_contact_idx on coverage_roles (contact_id)",
    """
    create table activity_daily (
        owner_id  text    not null,
        day       date    not null,
        channel   text    not null,
        touches   integer not null,
        primary key (owner_id, day, channel)
    )
    """,
    "create index activity_daily_day_idx on activity_daily (day)",
)

DROPPED = (
    "activity_daily",
    "coverage_roles",
    "coverage_contacts",
    "coverage_accounts",
    "timeline",
    "contact_roles",
    "contacts",
    "account_directory",
)


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    for table in DROPPED:
        op.execute("drop table " + table)
