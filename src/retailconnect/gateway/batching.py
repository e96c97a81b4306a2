"""Group commit: small writes from concurrent requests share one transaction.

SQLite has one writer; a dozen requests each committing their own idempotency row queue up behind the
lock (and its busy back-off sleeps). ``GroupCommitter.run(op)`` queues ``op(conn)``; one background task
takes everything queued, runs it in one transaction on a worker thread and hands each caller its
result. Under load a commit carries many operations; alone, an operation costs one commit as before.
When a batch fails as a whole, its operations are retried one transaction each so one bad operation
only fails its own caller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy.engine import Connection

__all__ = ["GroupCommitter"]

T = TypeVar("T")
Op = Callable[[Connection], Any]


class GroupCommitter:
    def __init__(self, store: Any, *, max_batch: int = 256) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Op, asyncio.Future[Any]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.ops = 0

    async def run(self, op: Callable[[Connection], T]) -> T:
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._loop(self._queue), name="gateway-group-commit")
        assert self._queue is not None
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((op, fut))
        return await fut

    async def _loop(self, queue: asyncio.Queue[tuple[Op, asyncio.Future[Any]]]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < self.max_batch:
                batch.append(queue.get_nowait())
            try:
                results = await to_thread.run_sync(self._commit, [op for op, _ in batch])
            except Exception:
                for op, fut in batch:
                    try:
                        res = await to_thread.run_sync(self._commit, [op])
                        if not fut.done():
                            fut.set_result(res[0])
                    except Exception as exc:
                        if not fut.done():
                            fut.set_exception(exc)
                continue
            self.batches += 1
            self.ops += len(batch)
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)

    def _commit(self, ops: list[Op]) -> list[Any]:
        with self.store.begin() as conn:
            return [op(conn) for op in ops]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
