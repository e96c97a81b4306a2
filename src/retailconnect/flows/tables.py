"""The flows' own tables (SQLAlchemy Core; created by the store migration ``flows_0001``).

- ``flow_orders``: one row per order, keyed by its workflow id: the latest version of the order seen from
  any source (webhook, API, reconciliation pull), what happened to it, and facts that arrived before the
  flow could act on them (paid, cancelled, edited, dispatched) so out-of-order events fold in.
- ``flow_steps``: a readable history per workflow step (start, end, attempts, error).
- ``flow_executors``: worker heartbeats, so a surviving worker recovers a dead one's workflows.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["flow_executors", "flow_orders", "flow_steps", "metadata"]

metadata = sa.MetaData()

flow_orders = sa.Table(
    "flow_orders",
    metadata,
    sa.Column("workflow_id", sa.String(255), primary_key=True),
    sa.Column("tenant", sa.String(80), nullable=False),
    sa.Column("channel", sa.String(80), nullable=False),
    sa.Column("external_id", sa.String(200), nullable=False),
    sa.Column("order_number", sa.String(120), nullable=True),
    sa.Column("order_id", sa.String(64), nullable=True),
    sa.Column("order_json", sa.JSON, nullable=True),
    sa.Column("order_updated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("erp_id", sa.String(120), nullable=True),
    sa.Column("posted", sa.Boolean, nullable=False, default=False),
    sa.Column("cancelled", sa.Boolean, nullable=False, default=False),
    sa.Column("paid", sa.Boolean, nullable=False, default=False),
    sa.Column("pending", sa.JSON, nullable=False),
    sa.Column("correlation_id", sa.String(120), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


flow_steps = sa.Table(
    "flow_steps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workflow_id", sa.String(255), nullable=False),
    sa.Column("step", sa.String(120), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running | ok | failed | skipped
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("correlation_id", sa.String(120), nullable=True),
    sa.Index("ix_flow_steps_workflow", "workflow_id", "id"),
)

flow_executors = sa.Table(
    "flow_executors",
    metadata,
    sa.Column("executor_id", sa.String(120), primary_key=True),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("recovered_at", sa.Float, nullable=True),
    sa.Column("recovered_by", sa.String(120), nullable=True),
)
