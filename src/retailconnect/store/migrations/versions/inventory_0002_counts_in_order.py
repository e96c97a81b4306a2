"""inventory: cycle counts applied in occurred order (count time per level, each movement's delta)

Revision ID: inventory_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "inventory_0002"
down_revision = "inventory_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inventory_levels", sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("applied_movements", sa.Column("sku", sa.String(255), nullable=True))
    op.add_column("applied_movements", sa.Column("location", sa.String(80), nullable=True))
    op.add_column("applied_movements", sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("applied_movements", sa.Column("delta", sa.Integer, nullable=True))
    op.create_index("ix_applied_movements_level", "applied_movements", ["sku", "location", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_applied_movements_level", table_name="applied_movements")
    for col in ("delta", "occurred_at", "location", "sku"):
        op.drop_column("applied_movements", col)
    op.drop_column("inventory_levels", "counted_at")
