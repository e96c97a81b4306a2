"""Group commit: small writes from concurrent requests share one transaction.

SQLite has one writer; a dozen requests each committing their own idempotency row queue up behind the
lock (and its busy back-off sleeps). ``GroupCommitter.run(op)`` queues ``op(conn)``; one long-lived
writer thread takes everything queued, runs it in one transaction and hands each caller its result
on the caller's event loop (one ``call_soon_threadsafe`` per batch and loop: no per-batch thread-pool
hand-off). ``run_bulk(executor, item)`` queues an item for a bulk executor ``executor(conn, items) ->
results``: all items of one executor in a batch go to one call (one multi-row statement instead of one
statement each: SQLAlchemy's per-statement cost dominates a SQLite commit). Under load a commit carries
many operations; alone, an operation costs one commit as before. When a batch fails as a whole, its
operations are retried one transaction each so one bad operation only fails its own caller.

``GroupCommitter.shared(store)`` is the process-wide writer of a store: the gateway's idempotency
records and audit entries and a hub's durable capture rows share its transactions instead of queuing
behind each other on SQLite's write lock (a second writer in the same process waits in SQLite's busy
handler, which sleeps). Callers on any event loop may share it: each is answered on its own loop. The
writer thread starts on first use, ends after ``stop()`` (having committed what was queued before it)
or after a while idle, and a later operation starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

__all__ = ["BulkExecutor", "GroupCommitter"]

T = TypeVar("T")
Op = Callable[[Connection], Any]
BulkExecutor = Callable[[Connection, Sequence[Any]], Sequence[Any]]
# a queued entry: (single op, None, None) or (None, bulk executor, item)
_Entry = tuple[Op | None, BulkExecutor | None, Any]
# what the writer thread is handed: the entry, the caller's future and its loop
_Item = tuple[_Entry, "asyncio.Future[Any]", asyncio.AbstractEventLoop]
# (future, value, is_exception): set on the future's loop
_Outcome = tuple["asyncio.Future[Any]", Any, bool]

_STOP: Any = ("stop", None, None)  # queued by stop(): commit what came before, then end the thread
_IDLE_EXIT_S = 30.0  # an idle writer thread ends (a later operation starts another)
_SHARED: weakref.WeakKeyDictionary[Any, GroupCommitter] = weakref.WeakKeyDictionary()


def _settle(outcomes: list[_Outcome]) -> None:
    for fut, value, failed in outcomes:
        if fut.done():
            continue
        if failed:
            fut.set_exception(value)
        else:
            fut.set_result(value)


class GroupCommitter:
    def __init__(self, store: Any, *, max_batch: int = 256) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None  # SQLite: the writer thread's connection between batches
        self.batches = 0
        self.ops = 0

    @classmethod
    def shared(cls, store: Any) -> GroupCommitter:
        """The one committer of ``store`` in this process (created on first use)."""
        committer = _SHARED.get(store)
        if committer is None:
            committer = _SHARED[store] = cls(store)
        return committer

    def _submit(self, entry: _Entry) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        with self._lock:  # the writer checks for an empty queue under this lock before it ends
            self._queue.put((entry, fut, loop))
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer, name="gateway-group-commit", daemon=True)
                self._thread.start()
        return fut

    async def run(self, op: Callable[[Connection], T]) -> T:
        result: T = await self._submit((op, None, None))
        return result

    async def run_bulk(self, executor: BulkExecutor, item: Any) -> Any:
        return await self._submit((None, executor, item))

    def _writer(self) -> None:
        q = self._queue
        stopping = False
        while True:
            try:
                first = q.get(timeout=_IDLE_EXIT_S)
            except queue.Empty:
                with self._lock:
                    if q.empty():
                        self._release_conn()
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            work = [it for it in batch if it[0] is not _STOP]
            stops = [it for it in batch if it[0] is _STOP]
            stopping = stopping or bool(stops)
            outcomes = self._process(work) if work else []
            outcomes += [(fut, None, False) for _, fut, _ in stops]
            self._deliver(batch, outcomes)
            if stopping:
                with self._lock:
                    if q.empty():
                        self._release_conn()
                        self._thread = None
                        return

    def _process(self, work: list[_Item]) -> list[_Outcome]:
        try:
            results = self._commit([e for e, _, _ in work])
        except Exception:
            outcomes: list[_Outcome] = []
            for entry, fut, _ in work:  # one transaction per operation: only the bad one fails
                try:
                    outcomes.append((fut, self._commit([entry])[0], False))
                except Exception as exc:
                    outcomes.append((fut, exc, True))
            return outcomes
        self.batches += 1
        self.ops += len(work)
        return [(fut, res, False) for (_, fut, _), res in zip(work, results, strict=True)]

    @staticmethod
    def _deliver(batch: list[_Item], outcomes: list[_Outcome]) -> None:
        """One wake-up per event loop with callers in the batch."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        loop_of = {id(fut): loop for _, fut, loop in batch}
        for out in outcomes:
            by_loop.setdefault(loop_of[id(out[0])], []).append(out)
        for loop, outs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, outs)
            except RuntimeError:  # that loop is closed: nobody is waiting there any more
                pass

    def _commit(self, entries: list[_Entry]) -> list[Any]:
        if getattr(self.store, "dialect", None) != "sqlite":
            with self.store.begin() as conn:
                return self._apply(conn, entries)
        # SQLite: the writer thread keeps its connection between batches (a pool checkout and its reset
        # per batch cost about as much as the commit); any failure closes it and the next batch takes a new one
        conn = self._conn
        if conn is None or conn.closed:
            conn = self._conn = self.store.engine.connect()
        try:
            with conn.begin():
                return self._apply(conn, entries)
        except BaseException:
            self._release_conn()
            raise

    def _release_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

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
        """Commit what is queued, then end the writer thread (a later operation starts it again;
        callers sharing the committer are answered, not dropped)."""
        with self._lock:
            if self._thread is None:
                return
        await self._submit(_STOP)
