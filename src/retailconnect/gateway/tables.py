"""Gateway tables (SQLAlchemy Core); migration ``store/migrations/versions/gateway_0001_consumers.py``."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["consumers", "metadata"]

metadata = sa.MetaData()

consumers = sa.Table(
    "gateway_consumers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("tenant", sa.String(120), nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),  # space separated
    sa.Column("tier", sa.String(40), nullable=False, server_default="default"),
    sa.Column("key_prefix", sa.String(40), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # sha256 hex of the whole key
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)
