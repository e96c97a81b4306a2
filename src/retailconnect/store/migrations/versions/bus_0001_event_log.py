"""bus: event log, group cursors and members, attempts, dead letters, outbox, processed ids

Kept in step with bus/tables.py.

Revision ID: bus_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "bus_0001"
down_revision = "0001"
branch_labels = ("bus",)
depends_on = None

_Offset = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bus_events",
        sa.Column("offset", _Offset, primary_key=True, autoincrement=True),
        sa.Column("dedupe_key", sa.String(255), nullable=False, unique=True),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(512), nullable=True),
        sa.Column("part", sa.SmallInteger(), nullable=False),
        sa.Column("target_group", sa.String(200), nullable=True),
        sa.Column("published_at", sa.Float(), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
    )
    op.create_index("ix_bus_events_event_id", "bus_events", ["event_id"])
    op.create_index("ix_bus_events_published_at", "bus_events", ["published_at"])
    op.create_index("ix_bus_events_part_offset", "bus_events", ["part", "offset"])
    op.create_table(
        "bus_cursors",
        sa.Column("group_name", sa.String(200), primary_key=True),
        sa.Column("part", sa.SmallInteger(), primary_key=True),
        sa.Column("pattern", sa.String(255), nullable=True),
        sa.Column("offset", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("epoch", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=False, server_default="0"),
    )
    op.create_table(
        "bus_members",
        sa.Column("group_name", sa.String(200), primary_key=True),
        sa.Column("member", sa.String(100), primary_key=True),
        sa.Column("heartbeat", sa.Float(), nullable=False),
    )
    op.create_table(
        "bus_attempts",
        sa.Column("group_name", sa.String(200), primary_key=True),
        sa.Column("event_offset", sa.BigInteger(), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_table(
        "bus_dead",
        sa.Column("id", _Offset, primary_key=True, autoincrement=True),
        sa.Column("group_name", sa.String(200), nullable=False),
        sa.Column("event_offset", sa.BigInteger(), nullable=True),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(512), nullable=True),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("handler", sa.String(255), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=False),
        sa.Column("dead_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_bus_dead_group_name", "bus_dead", ["group_name"])
    op.create_index("ix_bus_dead_dead_at", "bus_dead", ["dead_at"])
    op.create_table(
        "bus_outbox",
        sa.Column("id", _Offset, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(255), nullable=False, unique=True),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "bus_processed",
        sa.Column("group_name", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("processed_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for name in (
        "bus_processed",
        "bus_outbox",
        "bus_dead",
        "bus_attempts",
        "bus_members",
        "bus_cursors",
        "bus_events",
    ):
        op.drop_table(name)
