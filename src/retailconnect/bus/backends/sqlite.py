"""SQLite backend: the event log in the store's own database file (WAL), so the outbox shares the
business transaction. Consumers poll every ``poll_interval`` (50 ms) and are woken at once by
publishes from the same process."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from .sql import SqlBus

__all__ = ["SqliteBus"]


class SqliteBus(SqlBus):
    def __init__(self, engine: Engine, **kw: Any) -> None:
        kw.setdefault("poll_interval", 0.05)
        super().__init__(engine, backend="sqlite", **kw)
