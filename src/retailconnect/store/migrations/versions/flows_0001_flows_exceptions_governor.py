"""flows: exception queue, order state, step history, executors, governor accounts

Kept in step with store/exception_queue.py, flows/tables.py and resilience/governor.py.

Revision ID: flows_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "flows_0001"
down_revision = "0001"
branch_labels = ("flows",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exceptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(80), nullable=True),
        sa.Column("team", sa.String(80), nullable=False),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("error_class", sa.String(120), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("suggested_action", sa.Text, nullable=False),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("workflow_id", sa.String(255), nullable=True),
        sa.Column("failed_step", sa.String(120), nullable=True),
        sa.Column("failed_step_id", sa.Integer, nullable=True),
        sa.Column("assignee", sa.String(120), nullable=True),
        sa.Column("notes", sa.JSON, nullable=False),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(120), nullable=True),
    )
    op.create_index("ix_exceptions_status_team", "exceptions", ["status", "team"])
    op.create_index("ix_exceptions_workflow", "exceptions", ["workflow_id"])
    op.create_table(
        "flow_orders",
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
        sa.Column("posted", sa.Boolean, nullable=False),
        sa.Column("cancelled", sa.Boolean, nullable=False),
        sa.Column("paid", sa.Boolean, nullable=False),
        sa.Column("pending", sa.JSON, nullable=False),
        sa.Column("correlation_id", sa.String(120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "flow_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("step", sa.String(120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("correlation_id", sa.String(120), nullable=True),
    )
    op.create_index("ix_flow_steps_workflow", "flow_steps", ["workflow_id", "id"])
    op.create_table(
        "flow_executors",
        sa.Column("executor_id", sa.String(120), primary_key=True),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("recovered_at", sa.Float, nullable=True),
        sa.Column("recovered_by", sa.String(120), nullable=True),
    )
    op.create_table(
        "governor_accounts",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("tat", sa.Float, nullable=False),
        sa.Column("rps", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in ("governor_accounts", "flow_executors", "flow_steps", "flow_orders"):
        op.drop_table(name)
    op.drop_index("ix_exceptions_workflow", "exceptions")
    op.drop_index("ix_exceptions_status_team", "exceptions")
    op.drop_table("exceptions")
