"""Idempotent consumers: a handler with side effects takes effect once per event per group.

    ic = IdempotentConsumer(store.engine, group="wms-fulfilment")

    @ic.wrap
    async def handle(event: CloudEvent, conn: Connection) -> None:
        conn.execute(...)            # side effects in the same transaction as the "processed" mark

    bus.subscribe("order.accepted", "wms-fulfilment", handle)

The processed mark (``bus_processed``: group + event id) and the handler's own SQL writes commit in one
transaction, so a redelivery after a crash sees the mark and skips; if the handler raises, both roll
back and the event is retried. For side effects outside the database, ``seen`` / ``mark`` give the
check-then-record pair (at-least-once for the external call, once for everything after the mark).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from retailconnect.canonical.event import CloudEvent

from . import tables as t

__all__ = ["IdempotentConsumer"]

TxHandler = Callable[[CloudEvent, Connection], Awaitable[None]]


class IdempotentConsumer:
    def __init__(self, engine: Engine, group: str) -> None:
        self.engine = engine
        self.group = group
        self.skipped = 0

    def _claim(self, conn: Connection, event_id: str) -> bool:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        r = conn.execute(
            insert(t.processed)
            .values(group_name=self.group, event_id=event_id, processed_at=time.time())
            .on_conflict_do_nothing(index_elements=["group_name", "event_id"])
            .returning(t.processed.c.event_id)
        )
        return r.first() is not None

    def wrap(self, handler: TxHandler) -> Callable[[CloudEvent], Awaitable[None]]:
        """An ordinary bus handler running ``handler(event, conn)`` at most once per event id.

        The SQL calls run on the event-loop thread (short). On SQLite, which has one writer at a
        time, calls are serialised by a lock so two open transactions never wait on each other."""
        lock = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

        @functools.wraps(handler)
        async def run(event: CloudEvent) -> None:
            if lock is None:
                await self._once(handler, event)
            else:
                async with lock:
                    await self._once(handler, event)

        return run

    async def _once(self, handler: TxHandler, event: CloudEvent) -> None:
        with self.engine.connect() as conn:
            with conn.begin() as tx:
                if not self._claim(conn, event.id):
                    self.skipped += 1
                    tx.rollback()
                    return
                await handler(event, conn)

    async def seen(self, event_id: str) -> bool:
        def q() -> bool:
            with self.engine.connect() as c:
                return (
                    c.execute(
                        sa.select(t.processed.c.event_id).where(
                            t.processed.c.group_name == self.group, t.processed.c.event_id == event_id
                        )
                    ).first()
                    is not None
                )

        return await asyncio.to_thread(q)

    async def mark(self, event_id: str) -> bool:
        """Record ``event_id`` as processed; False if it already was."""

        def q() -> bool:
            with self.engine.begin() as c:
                return self._claim(c, event_id)

        return await asyncio.to_thread(q)

    async def forget_older_than(self, age: timedelta) -> int:
        cutoff = time.time() - age.total_seconds()

        def q() -> int:
            with self.engine.begin() as c:
                return int(
                    c.execute(
                        sa.delete(t.processed).where(
                            t.processed.c.group_name == self.group, t.processed.c.processed_at < cutoff
                        )
                    ).rowcount
                )

        return await asyncio.to_thread(q)
