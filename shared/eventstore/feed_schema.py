"""Checkpoints of feed consumers (this service following another service's feed)."""

FEED_CHECKPOINTS_DDL = """
create table feed_checkpoints (
    name        text primary key,
    cursor      text not null default '',
    updated_at  timestamptz not null default now()
)
"""
