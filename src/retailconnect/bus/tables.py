"""The bus tables (SQLAlchemy Core), shared by the SQLite and PostgreSQL backends, the outbox and the
idempotent-consumer helper. Kept in step with ``store/migrations/versions/bus_0001_event_log.py``.

Times are float epoch seconds (UTC) so both dialects compare them the same way."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "attempts",
    "cursors",
    "dead",
    "events",
    "members",
    "metadata",
    "outbox",
    "processed",
]

metadata = sa.MetaData()

# BIGINT autoincrement on PostgreSQL, INTEGER PRIMARY KEY (rowid alias) on SQLite.
_Offset = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

events = sa.Table(
    "bus_events",
    metadata,
    sa.Column("offset", _Offset, primary_key=True, autoincrement=True),
    # The event id for ordinary publishes (so a second publish of the same id is refused);
    # a unique token for targeted redeliveries (DLQ replay).
    sa.Column("dedupe_key", sa.String(255), nullable=False, unique=True),
    sa.Column("event_id", sa.String(255), nullable=False, index=True),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("subject", sa.String(512), nullable=True),
    sa.Column("part", sa.SmallInteger(), nullable=False),
    sa.Column("target_group", sa.String(200), nullable=True),
    sa.Column("published_at", sa.Float(), nullable=False, index=True),
    sa.Column("envelope", sa.Text(), nullable=False),
    sa.Index("ix_bus_events_part_offset", "part", "offset"),
)

cursors = sa.Table(
    "bus_cursors",
    metadata,
    sa.Column("group_name", sa.String(200), primary_key=True),
    sa.Column("part", sa.SmallInteger(), primary_key=True),
    sa.Column("pattern", sa.String(255), nullable=True),
    sa.Column("offset", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("epoch", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("owner", sa.String(100), nullable=True),
    sa.Column("lease_until", sa.Float(), nullable=False, server_default="0"),
)

members = sa.Table(
    "bus_members",
    metadata,
    sa.Column("group_name", sa.String(200), primary_key=True),
    sa.Column("member", sa.String(100), primary_key=True),
    sa.Column("heartbeat", sa.Float(), nullable=False),
)

attempts = sa.Table(
    "bus_attempts",
    metadata,
    sa.Column("group_name", sa.String(200), primary_key=True),
    sa.Column("event_offset", sa.BigInteger(), primary_key=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
)

dead = sa.Table(
    "bus_dead",
    metadata,
    sa.Column("id", _Offset, primary_key=True, autoincrement=True),
    sa.Column("group_name", sa.String(200), nullable=False, index=True),
    sa.Column("event_offset", sa.BigInteger(), nullable=True),
    sa.Column("event_id", sa.String(255), nullable=False),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("subject", sa.String(512), nullable=True),
    sa.Column("envelope", sa.Text(), nullable=False),
    sa.Column("handler", sa.String(255), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("traceback", sa.Text(), nullable=False),
    sa.Column("dead_at", sa.Float(), nullable=False, index=True),
)

outbox = sa.Table(
    "bus_outbox",
    metadata,
    sa.Column("id", _Offset, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(255), nullable=False, unique=True),
    sa.Column("envelope", sa.Text(), nullable=False),
    sa.Column("created_at", sa.Float(), nullable=False),
)

processed = sa.Table(
    "bus_processed",
    metadata,
    sa.Column("group_name", sa.String(200), primary_key=True),
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("processed_at", sa.Float(), nullable=False),
)
