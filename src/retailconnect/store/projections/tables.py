"""Tables of the availability projection (migration ``inventory_0001``)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

inventory_levels = sa.Table(
    "inventory_levels",
    metadata,
    sa.Column("sku", sa.String(255), primary_key=True),
    sa.Column("location", sa.String(80), primary_key=True),
    sa.Column("on_hand", sa.Integer, nullable=False),
    sa.Column("reserved", sa.Integer, nullable=False, server_default="0"),
    sa.Column("safety_stock", sa.Integer, nullable=False, server_default="0"),
    sa.Column("source_time", sa.DateTime(timezone=True), nullable=True),  # latest movement's occurred_at
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True),  # occurred_at of the count in force
)

applied_movements = sa.Table(
    "applied_movements",
    metadata,
    sa.Column("movement_id", sa.String(64), primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sku", sa.String(255), nullable=True),
    sa.Column("location", sa.String(80), nullable=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("delta", sa.Integer, nullable=True),  # signed quantity; None for a cycle count
    sa.Index("ix_applied_movements_level", "sku", "location", "occurred_at"),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("order_key", sa.String(255), primary_key=True),
    sa.Column("sku", sa.String(255), primary_key=True),
    sa.Column("location", sa.String(80), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # held | released | consumed
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
