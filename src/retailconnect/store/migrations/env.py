"""Alembic environment: the connection is handed in by ``Store.migrate`` (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via Store.migrate
    raise RuntimeError("run migrations through retailconnect.store.Store.migrate")

context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
