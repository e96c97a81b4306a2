"""Transactional outbox: a business write and its events commit in one SQL transaction.

    with store.begin() as conn:
        conn.execute(...business write...)
        bus.outbox.add(conn, [event])          # same transaction: both commit or neither

On the SQL backends the outbox row is the log entry itself (commit = publish). On NATS the events go to
``bus_outbox`` and ``OutboxRelay`` forwards them to JetStream with ``Nats-Msg-Id = event id`` and deletes
the rows only after JetStream acknowledged them: a crash between commit and publish re-sends on restart,
and JetStream's duplicate window drops the second copy.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from retailconnect.canonical.event import CloudEvent

from . import tables as t

__all__ = ["Outbox", "OutboxRelay", "TableOutbox"]

log = logging.getLogger(__name__)


class Outbox(abc.ABC):
    @abc.abstractmethod
    def add(self, conn: Connection, events: Sequence[CloudEvent]) -> None:
        """Record ``events`` inside the caller's open transaction ``conn`` (validated here)."""


class TableOutbox(Outbox):
    def __init__(self, on_add: Callable[[], None] | None = None) -> None:
        self._on_add = on_add

    def add(self, conn: Connection, events: Sequence[CloudEvent]) -> None:
        from .api import validate_and_encode

        pairs = [validate_and_encode(e) for e in events]
        if not pairs:
            return
        now = time.time()
        rows = [{"event_id": e.id, "envelope": env, "created_at": now} for e, env in pairs]
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(t.outbox).on_conflict_do_nothing(index_elements=["event_id"]), rows)
        else:
            from sqlalchemy.dialects.sqlite import insert as lite_insert

            conn.execute(lite_insert(t.outbox).on_conflict_do_nothing(index_elements=["event_id"]), rows)
        if self._on_add is not None:
            self._on_add()


class OutboxRelay:
    """Moves ``bus_outbox`` rows to a publisher, oldest first, deleting each batch after it is acked."""

    def __init__(
        self,
        engine: Engine,
        publish: Callable[[list[str]], Awaitable[None]],
        *,
        batch: int = 500,
        poll_interval: float = 0.2,
    ) -> None:
        self.engine = engine
        self.publish = publish
        self.batch = batch
        self.poll_interval = poll_interval
        self.wake = asyncio.Event()
        self.relayed = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def _read(self) -> list[tuple[int, str]]:
        with self.engine.begin() as c:
            q = sa.select(t.outbox.c.id, t.outbox.c.envelope).order_by(t.outbox.c.id).limit(self.batch)
            return [(int(i), e) for i, e in c.execute(q).all()]

    def _delete(self, ids: list[int]) -> None:
        with self.engine.begin() as c:
            c.execute(sa.delete(t.outbox).where(t.outbox.c.id.in_(ids)))

    async def relay_once(self) -> int:
        """Forward one batch; return how many were forwarded."""
        rows = await asyncio.to_thread(self._read)
        if not rows:
            return 0
        await self.publish([e for _, e in rows])
        await asyncio.to_thread(self._delete, [i for i, _ in rows])
        self.relayed += len(rows)
        return len(rows)

    async def drain(self) -> int:
        total = 0
        while n := await self.relay_once():
            total += n
        return total

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="bus:outbox-relay")

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if await self.relay_once():
                    continue
            except Exception:  # keep relaying; rows stay in the outbox until published
                log.warning("outbox relay failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
            try:
                await asyncio.wait_for(self.wake.wait(), self.poll_interval)
            except TimeoutError:
                pass
            self.wake.clear()

    async def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
