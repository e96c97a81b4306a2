"""SQLite backend: the event log in the store's own database file (WAL), so the outbox shares the
business transaction. Consumers poll every ``poll_interval`` (50 ms) and are woken at once by
publishes from the same process.

Durability: the store's ``journal_mode=WAL`` + ``synchronous=NORMAL`` are kept. A publish returns after
its transaction committed to the WAL, so it survives the process dying (kill -9; see the crash
test); in WAL mode NORMAL syncs the WAL to disk at checkpoints rather than on every commit, so an
operating-system crash or power loss can roll back the last commits before the checkpoint (the
database stays consistent). ``FULL`` would add an fsync per commit (publish batches and consumer
cursor commits alike) for power-loss durability of each one.

Speed (see ``SqlBus._db``): in-process writers queue on a lock instead of SQLite's sleeping busy
handler; the consumer's read/commit round runs on the event-loop thread when the database is free
(no GIL hand-over per fetched row); publishes insert many rows per statement."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from .sql import SqlBus

__all__ = ["SqliteBus"]


class SqliteBus(SqlBus):
    def __init__(self, engine: Engine, **kw: Any) -> None:
        kw.setdefault("poll_interval", 0.05)
        super().__init__(engine, backend="sqlite", **kw)
