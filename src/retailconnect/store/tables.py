"""Foundation tables (SQLAlchemy Core). Migrations in ``migrations/versions`` keep these in step."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

bindings = sa.Table(
    "bindings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("canonical_id", sa.String(64), nullable=False),
    sa.Column("system", sa.String(40), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("kind", "system", "external_id", name="uq_bindings_external"),
    sa.UniqueConstraint("kind", "system", "canonical_id", name="uq_bindings_canonical"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(120), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # in_flight | completed
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.Column("headers", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(120), nullable=False),
    sa.Column("target", sa.String(255), nullable=True),
    sa.Column("details", sa.Text, nullable=False),  # canonical JSON (sorted keys)
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)

inbound_archive = sa.Table(
    "inbound_archive",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("system", sa.String(40), nullable=False),
    sa.Column("topic", sa.String(120), nullable=False),
    sa.Column("delivery_id", sa.String(255), nullable=False),
    sa.Column("tenant", sa.String(80), nullable=True),
    sa.Column("correlation_id", sa.String(120), nullable=True),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="received"),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.UniqueConstraint("system", "delivery_id", name="uq_archive_delivery"),
)
sa.Index("ix_archive_status", inbound_archive.c.status)
