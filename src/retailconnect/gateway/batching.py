"""Group commit: small writes from concurrent requests share one transaction.

SQLite has one writer; a dozen requests each committing their own idempotency row queue up behind the
lock (and its busy back-off sleeps). ``GroupCommitter.run(op)`` queues ``op(conn)``; one background task
takes everything queued, runs it in one transaction on a worker thread and hands each caller its
result. ``run_bulk(executor, item)`` queues an item for a bulk executor ``executor(conn, items) ->
results``: all items of one executor in a batch go to one call (one multi-row statement instead of one
statement each: SQLAlchemy's per-statement cost dominates a SQLite commit). Under load a commit carries
many operations; alone, an operation costs one commit as before. When a batch fails as a whole, its
operations are retried one transaction each so one bad operation only fails its own caller.

``GroupCommitter.shared(store)`` is the process-wide writer of a store: the gateway's idempotency
records and audit entries and a hub's durable capture rows share its transactions instead of queuing
behind each other on SQLite's write lock (a second writer in the same process waits in SQLite's busy
handler, which sleeps). The committer follows the running event loop: used from another loop (a new
app or test), it starts a new background task there.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy.engine import Connection

__all__ = ["BulkExecutor", "GroupCommitter"]

T = TypeVar("T")
Op = Callable[[Connection], Any]
BulkExecutor = Callable[[Connection, Sequence[Any]], Sequence[Any]]
# a queued entry: (single op, None, None) or (None, bulk executor, item)
_Entry = tuple[Op | None, BulkExecutor | None, Any]


_STOP: Any = ("stop", None, None)  # queued by stop(): commit what came before, then end the task
_SHARED: weakref.WeakKeyDictionary[Any, GroupCommitter] = weakref.WeakKeyDictionary()


class GroupCommitter:
    def __init__(self, store: Any, *, max_batch: int = 256) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[_Entry, asyncio.Future[Any]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop_ref: asyncio.AbstractEventLoop | None = None
        self.batches = 0
        self.ops = 0

    @classmethod
    def shared(cls, store: Any) -> GroupCommitter:
        """The one committer of ``store`` in this process (created on first use)."""
        committer = _SHARED.get(store)
        if committer is None:
            committer = _SHARED[store] = cls(store)
        return committer

    def _ensure(self) -> asyncio.Queue[tuple[_Entry, asyncio.Future[Any]]]:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop_ref is not loop:
            self._queue = asyncio.Queue()
            self._loop_ref = loop
            self._task = loop.create_task(self._loop(self._queue), name="gateway-group-commit")
        assert self._queue is not None
        return self._queue

    async def run(self, op: Callable[[Connection], T]) -> T:
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._ensure().put_nowait(((op, None, None), fut))
        return await fut

    async def run_bulk(self, executor: BulkExecutor, item: Any) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._ensure().put_nowait(((None, executor, item), fut))
        return await fut

    async def _loop(self, queue: asyncio.Queue[tuple[_Entry, asyncio.Future[Any]]]) -> None:
        stopping = False
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < self.max_batch:
                batch.append(queue.get_nowait())
            stopping = stopping or any(e is _STOP for e, _ in batch)
            batch = [(e, f) for e, f in batch if e is not _STOP]
            if not batch:
                if stopping and queue.empty():
                    return
                continue
            entries = [e for e, _ in batch]
            try:
                results = await to_thread.run_sync(self._commit, entries)
            except Exception:
                for entry, fut in batch:  # one transaction per operation: only the bad one fails
                    try:
                        res = await to_thread.run_sync(self._commit, [entry])
                        if not fut.done():
                            fut.set_result(res[0])
                    except Exception as exc:
                        if not fut.done():
                            fut.set_exception(exc)
            else:
                self.batches += 1
                self.ops += len(batch)
                for (_, fut), res in zip(batch, results, strict=True):
                    if not fut.done():
                        fut.set_result(res)
            if stopping and queue.empty():
                return

    def _commit(self, entries: list[_Entry]) -> list[Any]:
        with self.store.begin() as conn:
            return self._apply(conn, entries)

    @staticmethod
    def _apply(conn: Connection, entries: list[_Entry]) -> list[Any]:
        """Single operations in queue order, then each bulk executor once with all its items (writes to
        different keys commute; two racing requests on one key may see either order, as without batching)."""
        results: list[Any] = [None] * len(entries)
        groups: dict[Any, list[int]] = {}
        for i, (op, executor, _item) in enumerate(entries):
            if op is not None:
                results[i] = op(conn)
            else:
                groups.setdefault(executor, []).append(i)
        for executor, idx in groups.items():
            got = executor(conn, [entries[k][2] for k in idx])
            for k, res in zip(idx, got, strict=True):
                results[k] = res
        return results

    async def stop(self) -> None:
        """Commit what is queued, then stop the background task (a later operation starts it again;
        callers sharing the committer are answered, not dropped)."""
        task, queue = self._task, self._queue
        if task is None or task.done() or queue is None:
            return
        if self._loop_ref is not asyncio.get_running_loop():  # its loop is gone: nothing to drain
            self._task = None
            return
        queue.put_nowait((_STOP, asyncio.get_running_loop().create_future()))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise
