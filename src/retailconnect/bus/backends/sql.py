"""The SQL event log shared by the SQLite and PostgreSQL backends.

``bus_events`` is an append-only log with a monotonically increasing ``offset``; each event also
carries ``part = crc32(subject) % PARTITIONS``. A consumer group keeps one cursor row per partition
(``bus_cursors``); a partition is leased by one member at a time (``owner`` + ``lease_until``), members
heartbeat in ``bus_members`` and each takes its fair share of partitions, so several processes share a
group and one key (always in one partition) is handled in order. Claims are conditional updates (plus
``FOR UPDATE SKIP LOCKED`` on PostgreSQL) so two members never own one partition. A cursor only moves
past the contiguous prefix of finished events, so a crash redelivers (at-least-once); the attempt
count of a failing event is persisted in ``bus_attempts`` so it survives restarts. Replay rewinds the
cursors and bumps their ``epoch``, which makes a running worker drop what it read and start over.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import sqlite3
import threading
import time
import uuid
import weakref
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from retailconnect.canonical.event import CloudEvent
from retailconnect.errors import NotFoundError

from .. import tables as t
from ..api import (
    PARTITIONS,
    DeadLetter,
    EventBus,
    ReplayResult,
    Subscription,
    SubscriptionOptions,
    compile_pattern,
    dead_letter_number,
    decode_event,
    encode_event,
    epoch_to_dt,
    one_start,
    partition_of,
    sleep_or,
    validate_and_encode,
)
from ..consumer import Delivery, Dispatcher, StreamDispatcher
from ..outbox import Outbox

__all__ = ["SqlBus", "SqlOutbox", "event_params", "event_rows", "insert_event_params", "insert_events"]

log = logging.getLogger(__name__)


_CHECKPOINT_BYTES = 4 << 20  # SQLite's default auto-checkpoint is 1,000 pages (4 MB)
_ROWS_PER_INSERT = 1000  # at most; fewer if SQLite's variable limit is lower (8 per row)
_COLS = ("dedupe_key", "event_id", "type", "subject", "part", "target_group", "published_at", "envelope")


def event_params(events: Sequence[tuple[CloudEvent, str]], now: float | None = None) -> list[tuple[Any, ...]]:
    """``bus_events`` rows as DB-API parameter tuples in ``_COLS`` order (the publish hot path)."""
    ts = time.time() if now is None else now
    crc = zlib.crc32
    out = []
    for e, env in events:
        eid = e.id
        subj = e.subject
        part = crc((subj if subj is not None else eid).encode()) % PARTITIONS
        out.append((eid, eid, e.type, subj, part, None, ts, env))
    return out


def event_rows(events: Sequence[tuple[CloudEvent, str]], now: float | None = None) -> list[dict[str, Any]]:
    ts = time.time() if now is None else now
    return [
        {
            "dedupe_key": e.id,
            "event_id": e.id,
            "type": e.type,
            "subject": e.subject,
            "part": partition_of(e.subject, e.id),
            "target_group": None,
            "published_at": ts,
            "envelope": env,
        }
        for e, env in events
    ]


def _insert(dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append to the log inside ``conn``'s transaction; an id already in the log is skipped."""
    insert_event_params(conn, [tuple(r[c] for c in _COLS) for r in rows])


def insert_event_params(conn: Connection, params: list[tuple[Any, ...]]) -> None:
    """``insert_events`` for rows already in ``_COLS`` order (see ``event_params``)."""
    if not params:
        return
    names = ", ".join(f'"{c}"' for c in _COLS)
    if conn.dialect.name == "postgresql":
        # Straight to the DB-API executemany: SQLAlchemy's per-row overhead dominated publishing.
        marks = ", ".join(["%s"] * len(_COLS))
        conn.exec_driver_sql(
            f"INSERT INTO bus_events ({names}) VALUES ({marks}) ON CONFLICT (dedupe_key) DO NOTHING", params
        )
        conn.exec_driver_sql("SELECT pg_notify('retailconnect_bus', '')")
        return
    # Several rows per statement rather than executemany: Python's sqlite3 releases and re-takes the
    # GIL around every statement step, and while the event loop is busy each re-take can wait the
    # switch interval (5 ms), so a step per row stalled the publishing thread behind the consumer.
    one = "(" + ", ".join(["?"] * len(_COLS)) + ")"
    raw = conn.connection.dbapi_connection
    step = _ROWS_PER_INSERT
    getlimit = getattr(raw, "getlimit", None)
    if getlimit is not None:
        step = max(1, min(step, getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(_COLS)))
    dbcur = conn.connection.cursor()
    try:
        for i in range(0, len(params), step):
            chunk = params[i : i + step]
            dbcur.execute(
                f"INSERT OR IGNORE INTO bus_events ({names}) VALUES {', '.join([one] * len(chunk))}",
                [v for row in chunk for v in row],
            )
    finally:
        dbcur.close()


def _like(pattern: str) -> str:
    """An over-approximating SQL LIKE for a type pattern (prefilter only)."""
    return pattern.replace("_", "\\_").replace(">", "%").replace("*", "%")


_BUSY = object()
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_ENGINE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(engine: Engine) -> threading.Lock:
    """One lock per SQLite database file in this process, shared by every bus on it, whichever
    engine it came through (per engine for in-memory databases)."""
    db = engine.url.database
    with _WRITE_LOCKS_GUARD:
        if db and db != ":memory:" and not db.startswith("file:"):
            return _WRITE_LOCKS.setdefault(os.path.realpath(db), threading.Lock())
        lock = _ENGINE_LOCKS.get(engine)
        if lock is None:
            lock = _ENGINE_LOCKS[engine] = threading.Lock()
        return lock


class SqlOutbox(Outbox):
    """On a SQL bus the outbox row IS the log entry: commit = publish, rollback = no event."""

    def __init__(self, bus: SqlBus) -> None:
        self._bus = bus

    def add(self, conn: Connection, events: Sequence[CloudEvent]) -> None:
        insert_events(conn, event_rows([validate_and_encode(e) for e in events]))
        self._bus._wake_all()


class SqlBus(EventBus):
    def __init__(
        self,
        engine: Engine,
        *,
        backend: str,
        owns_engine: bool = False,
        poll_interval: float = 0.05,
        lease_seconds: float = 10.0,
        create_tables: bool = False,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.engine = engine
        self.dialect = engine.dialect.name
        self._owns_engine = owns_engine
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self._create_tables = create_tables
        self._started = False
        self._wakers: set[asyncio.Event] = set()
        self._outbox = SqlOutbox(self)
        self._write_lock = _write_lock(engine) if self.dialect == "sqlite" else None
        self._mark = "%s" if self.dialect == "postgresql" else "?"
        db = engine.url.database
        self._inline_ok = self.dialect == "sqlite" and bool(db) and db != ":memory:"
        self._inline_conn: Connection | None = None
        self._inline_pragmas: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        # SQLite file: bytes published since the last background WAL checkpoint (None: not used).
        self._ckpt_bytes: int | None = 0 if self._inline_ok else None
        self._ckpt: asyncio.Task[None] | None = None
        self._pub_conn: Connection | None = None
        self._pub_restore = ""

    # ---------------------------------------------------------------- plumbing
    async def _db(self, fn: Callable[[Connection], Any], *, write: bool = True, inline: bool = False) -> Any:
        """Run ``fn`` in one transaction on a worker thread.

        On SQLite, transactions that write take a per-database lock first: SQLite has one writer at
        a time, and a writer that finds the database locked waits in SQLite's busy handler, which
        sleeps in steps of up to 100 ms instead of waking when the lock is free (publishes and
        consumer commits queued behind each other that way). Other processes and the store's own
        transactions still meet the busy timeout, as before.

        ``inline`` (the consumer round, on a SQLite file): run on the event loop's thread when the
        database is free at once (no busy wait) and fall back to the worker thread otherwise. A
        round is a few milliseconds of SQLite work; on a worker thread its row-by-row fetch paid a
        GIL hand-over per row, each of which can wait the interpreter's switch interval (5 ms)
        while the loop is busy dispatching."""
        if inline and self._inline_ok:
            if self._inline_conn is None:
                conn = await asyncio.to_thread(self._open_inline)
                if self._inline_conn is None:
                    self._inline_conn = conn
                else:  # another subscription opened one meanwhile
                    await asyncio.to_thread(conn.close)
            res = self._try_inline(self._inline_conn, fn, write)
            if res is not _BUSY:
                await asyncio.sleep(0)  # let other tasks run, as an awaited thread call would
                return res
        lock = self._write_lock if write else None

        def run() -> Any:
            if lock is None:
                with self.engine.begin() as conn:
                    return fn(conn)
            with lock, self.engine.begin() as conn:
                return fn(conn)

        return await asyncio.to_thread(run)

    def _open_inline(self) -> Connection:
        conn = self.engine.connect()
        raw = conn.connection.dbapi_connection
        assert raw is not None
        busy = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        ckpt = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        # Set for each inline call and restored after it: the connection is the pool's.
        self._inline_pragmas = (
            (
                "PRAGMA busy_timeout=0",
                "PRAGMA wal_autocheckpoint=0",  # checkpoints (an fsync) stay on the worker threads
            ),
            (f"PRAGMA busy_timeout={int(busy)}", f"PRAGMA wal_autocheckpoint={int(ckpt)}"),
        )
        conn.commit()
        return conn

    def _try_inline(self, conn: Connection, fn: Callable[[Connection], Any], write: bool) -> Any:
        lock = self._write_lock if write else None
        if lock is not None and not lock.acquire(blocking=False):
            return _BUSY
        raw = conn.connection.dbapi_connection
        assert raw is not None
        enter, leave = self._inline_pragmas
        try:
            for p in enter:
                raw.execute(p)
            try:
                with conn.begin():
                    return fn(conn)
            except sa.exc.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return _BUSY
                raise
            finally:
                for p in leave:
                    raw.execute(p)
        finally:
            if lock is not None:
                lock.release()

    def _wake_all(self) -> None:
        for w in self._wakers:
            w.set()

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self._create_tables:
            await asyncio.to_thread(t.metadata.create_all, self.engine)

    async def close(self) -> None:
        await super().close()
        if self._ckpt is not None:
            await asyncio.gather(self._ckpt, return_exceptions=True)
            self._ckpt = None
        if self._pub_conn is not None:
            lock = self._write_lock
            assert lock is not None

            def drop() -> None:
                with lock:
                    self._drop_pub_conn()

            await asyncio.to_thread(drop)
        if self._inline_conn is not None:
            self._inline_conn.close()
            self._inline_conn = None
        if self._owns_engine:
            self.engine.dispose()

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    # ---------------------------------------------------------------- publish
    async def _publish(self, events: Sequence[tuple[CloudEvent, str]]) -> None:
        await self.start()
        params = event_params(events)
        if self._ckpt_bytes is None:
            await self._db(lambda c: insert_event_params(c, params))
        else:
            await asyncio.to_thread(self._publish_sqlite, params)
            self._ckpt_bytes += sum(len(p[-1]) for p in params)
            if self._ckpt_bytes >= _CHECKPOINT_BYTES and (self._ckpt is None or self._ckpt.done()):
                self._ckpt_bytes = 0
                self._ckpt = asyncio.get_running_loop().create_task(asyncio.to_thread(self._checkpoint))
        self._wake_all()

    def _publish_sqlite(self, params: list[tuple[Any, ...]]) -> None:
        """Publish on the bus's own connection (kept out of the pool while the bus is open, used under
        the write lock): its auto-checkpoint is off, so the WAL checkpoint (a copy and an fsync) runs
        on its own thread (``_checkpoint``) instead of inside whichever publish crossed the threshold,
        and no pool checkout or per-call PRAGMA costs a GIL hand-over on the way."""
        assert self._write_lock is not None
        with self._write_lock:
            conn = self._pub_conn
            if conn is None:
                conn = self.engine.connect()
                raw = conn.connection.dbapi_connection
                assert raw is not None
                self._pub_restore = (
                    f"PRAGMA wal_autocheckpoint={int(raw.execute('PRAGMA wal_autocheckpoint').fetchone()[0])}"
                )
                raw.execute("PRAGMA wal_autocheckpoint=0")
                conn.commit()
                self._pub_conn = conn
            try:
                with conn.begin():
                    insert_event_params(conn, params)
            except Exception:
                self._drop_pub_conn()
                raise

    def _drop_pub_conn(self) -> None:
        conn, self._pub_conn = self._pub_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                raw = conn.connection.dbapi_connection
                if raw is not None:
                    raw.execute(self._pub_restore)
            with contextlib.suppress(Exception):
                conn.close()

    def _checkpoint(self) -> None:
        """Copy the WAL into the database off the publishing path, then finish what publishes added
        meanwhile under the write lock: only a fully copied WAL is restarted from its beginning by
        the next write, otherwise it would grow without bound under steady publishing."""
        assert self._write_lock is not None
        try:
            with self.engine.connect() as c:
                c.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                with self._write_lock:  # (a publish may have begun before the first pass ended)
                    c.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the next auto-checkpoint (the store's commits, this bus's next one) will do it
            log.warning("bus: WAL checkpoint failed", exc_info=True)

    # ---------------------------------------------------------------- subscribe
    def _subscribe(self, opts: SubscriptionOptions, handler: Callable[..., Awaitable[None]]) -> Subscription:
        sub = SqlSubscription(self, opts, handler)
        sub.launch()
        return sub

    # ---------------------------------------------------------------- replay
    def _start_offset(
        self, c: Connection, from_offset: int | None, from_time: Any, from_event_id: str | None
    ) -> int:
        if from_offset is not None:
            return from_offset
        if from_time is not None:
            q = sa.select(sa.func.min(t.events.c.offset)).where(
                t.events.c.published_at >= from_time.timestamp()
            )
            v = c.execute(q).scalar()
            if v is None:  # nothing at or after that time: start after the end
                v = (c.execute(sa.select(sa.func.max(t.events.c.offset))).scalar() or 0) + 1
            return int(v)
        q = sa.select(sa.func.min(t.events.c.offset)).where(t.events.c.event_id == from_event_id)
        v = c.execute(q).scalar()
        if v is None:
            raise NotFoundError(f"no event {from_event_id!r} in the log", context={"event_id": from_event_id})
        return int(v)

    async def replay(
        self,
        group: str,
        *,
        from_offset: int | None = None,
        from_time: Any = None,
        from_event_id: str | None = None,
        dry_run: bool = False,
        limit: int = 1000,
    ) -> ReplayResult:
        one_start(from_offset, from_time, from_event_id)
        await self.start()

        def run(c: Connection) -> ReplayResult:
            rows = c.execute(
                sa.select(t.cursors.c.pattern).where(t.cursors.c.group_name == group).limit(1)
            ).first()
            if rows is None:
                raise NotFoundError(f"unknown consumer group {group!r}", context={"group": group})
            pattern = rows[0] or ">"
            start = self._start_offset(c, from_offset, from_time, from_event_id)
            rx = compile_pattern(pattern)
            q = (
                sa.select(t.events.c.offset, t.events.c.event_id, t.events.c.type, t.events.c.subject)
                .where(t.events.c.offset >= start, t.events.c.type.like(_like(pattern), escape="\\"))
                .where(sa.or_(t.events.c.target_group.is_(None), t.events.c.target_group == group))
                .order_by(t.events.c.offset)
            )
            items: list[dict[str, Any]] = []
            count = 0
            for off, eid, typ, subj in c.execute(q):
                if not rx.match(typ):
                    continue
                count += 1
                if len(items) < limit:
                    items.append(
                        {"offset": off, "event_id": eid, "type": typ, "subject": subj, "group": group}
                    )
            if not dry_run:
                c.execute(
                    sa.update(t.cursors)
                    .where(t.cursors.c.group_name == group)
                    .values(offset=start - 1, epoch=t.cursors.c.epoch + 1)
                )
                c.execute(
                    sa.delete(t.attempts).where(
                        t.attempts.c.group_name == group, t.attempts.c.event_offset >= start
                    )
                )
            return ReplayResult(group=group, dry_run=dry_run, count=count, from_offset=start, items=items)

        res: ReplayResult = await self._db(run)
        self._wake_all()
        return res

    # ---------------------------------------------------------------- dead letters
    @staticmethod
    def _dead_from_row(r: Any) -> DeadLetter:
        return DeadLetter(
            id=str(r.id),
            group=r.group_name,
            event=decode_event(r.envelope),
            handler=r.handler,
            attempts=r.attempts,
            last_error=r.last_error,
            traceback=r.traceback,
            dead_at=epoch_to_dt(r.dead_at),
            offset=r.event_offset,
        )

    async def list_dead(self, group: str | None = None, limit: int = 100) -> list[DeadLetter]:
        await self.start()
        q = sa.select(t.dead).order_by(t.dead.c.id).limit(limit)
        if group:
            q = q.where(t.dead.c.group_name == group)
        rows = await self._db(lambda c: c.execute(q).all(), write=False)
        return [self._dead_from_row(r) for r in rows]

    async def get_dead(self, id: str) -> DeadLetter:
        await self.start()
        key = dead_letter_number(id)
        row = await self._db(
            lambda c: c.execute(sa.select(t.dead).where(t.dead.c.id == key)).first(), write=False
        )
        if row is None:
            raise NotFoundError(f"no dead letter {id!r}", context={"id": id})
        return self._dead_from_row(row)

    async def _redeliver_dead(self, dls: list[DeadLetter]) -> None:
        now = time.time()

        def run(c: Connection) -> None:
            rows = []
            for d in dls:
                row = event_rows([(d.event, encode_event(d.event))], now)[0]
                row["dedupe_key"] = f"dlq:{d.id}:{uuid.uuid4().hex}"
                row["target_group"] = d.group
                rows.append(row)
            insert_events(c, rows)
            c.execute(sa.delete(t.dead).where(t.dead.c.id.in_([int(d.id) for d in dls])))

        await self._db(run)
        self._wake_all()

    async def purge_dead(self, older_than: timedelta) -> int:
        await self.start()
        cutoff = time.time() - older_than.total_seconds()
        return int(
            await self._db(lambda c: c.execute(sa.delete(t.dead).where(t.dead.c.dead_at < cutoff)).rowcount)
        )

    async def _apply_retention(self, max_age: timedelta | None, max_events: int | None) -> int:

        def run(c: Connection) -> int:
            n = 0
            if max_age is not None:
                cutoff = time.time() - max_age.total_seconds()
                n += c.execute(sa.delete(t.events).where(t.events.c.published_at < cutoff)).rowcount
            if max_events is not None:
                edge = c.execute(
                    sa.select(t.events.c.offset)
                    .order_by(t.events.c.offset.desc())
                    .offset(max_events)
                    .limit(1)
                ).scalar()
                if edge is not None:
                    n += c.execute(sa.delete(t.events).where(t.events.c.offset <= edge)).rowcount
            if n:
                # Attempt counts of events no longer in the log would never be cleared otherwise.
                c.execute(
                    sa.delete(t.attempts).where(
                        ~sa.exists().where(t.events.c.offset == t.attempts.c.event_offset)
                    )
                )
            return n

        return int(await self._db(run))

    # ---------------------------------------------------------------- observation
    async def tail(
        self, pattern: str = ">", *, limit: int = 50, after: int | None = None
    ) -> list[tuple[int, CloudEvent]]:
        await self.start()
        rx = compile_pattern(pattern)
        like = _like(pattern)

        def run(c: Connection) -> list[tuple[int, str]]:
            base = sa.select(t.events.c.offset, t.events.c.type, t.events.c.envelope).where(
                t.events.c.type.like(like, escape="\\"), t.events.c.target_group.is_(None)
            )
            if after is not None:
                q = base.where(t.events.c.offset > after).order_by(t.events.c.offset).limit(limit * 4 + 100)
                return [(o, e) for o, ty, e in c.execute(q) if rx.match(ty)][:limit]
            out: list[tuple[int, str]] = []
            upper: int | None = None
            while len(out) < limit:
                q = base.order_by(t.events.c.offset.desc()).limit(1000)
                if upper is not None:
                    q = q.where(t.events.c.offset < upper)
                rows = c.execute(q).all()
                if not rows:
                    break
                out.extend((o, e) for o, ty, e in rows if rx.match(ty))
                upper = rows[-1][0]
            return sorted(out[:limit])

        rows = await self._db(run, write=False)
        return [(o, decode_event(e)) for o, e in rows]

    async def _backend_figures(self) -> tuple[dict[str, tuple[str | None, int]], int]:
        def run(c: Connection) -> tuple[dict[str, tuple[str | None, int]], int]:
            pats = dict(c.execute(sa.select(t.cursors.c.group_name, t.cursors.c.pattern).distinct()).all())
            lag: dict[str, tuple[str | None, int]] = {}
            for g, p in pats.items():
                q = (
                    sa.select(sa.func.count())
                    .select_from(t.events.join(t.cursors, t.events.c.part == t.cursors.c.part))
                    .where(
                        t.cursors.c.group_name == g,
                        t.events.c.offset > t.cursors.c.offset,
                        t.events.c.type.like(_like(p or ">"), escape="\\"),
                        sa.or_(t.events.c.target_group.is_(None), t.events.c.target_group == g),
                    )
                )
                lag[g] = (p, int(c.execute(q).scalar() or 0))
            dead = int(c.execute(sa.select(sa.func.count()).select_from(t.dead)).scalar() or 0)
            return lag, dead

        res: tuple[dict[str, tuple[str | None, int]], int] = await self._db(run, write=False)
        return res


class _CursorRow(NamedTuple):
    part: int
    offset: int
    epoch: int
    owner: str | None


@dataclass
class _Part:
    """What this member knows of one leased partition."""

    epoch: int
    cursor: int  # end of the finished prefix (to commit)
    read_pos: int  # last offset read
    committed: int = -1  # last offset written to the cursor row
    gen: int = 0
    order: deque[int] = field(default_factory=deque)  # offsets read and not yet committed
    finished: set[int] = field(default_factory=set)
    token: tuple[int, int] = (-1, -1)  # (part, gen), handed to each delivery


class SqlSubscription(Subscription):
    def __init__(
        self, bus: SqlBus, opts: SubscriptionOptions, handler: Callable[..., Awaitable[None]]
    ) -> None:
        self.bus = bus
        self.options = opts
        self.handler = handler
        self.member = uuid.uuid4().hex[:16]
        self.rx = compile_pattern(opts.pattern)
        self._wanted: dict[str, bool] = {}  # event type -> matches the pattern (types are few)
        self.stopping = asyncio.Event()
        self.wake = asyncio.Event()
        self.parts: dict[int, _Part] = {}
        self._gen = 0
        self._clear_attempts: list[int] = []
        self.batched = opts.batch_handler
        common = {
            "counters": bus.counters(opts.group),
            "latency": bus.latency,
            "on_failure": self._on_failure,
            "on_dead": self._on_dead,
            "stopping": self.stopping,
        }
        self.stream = StreamDispatcher(opts, handler, on_finished=self._finished, **common)  # type: ignore[arg-type]
        self.dispatcher = Dispatcher(opts, handler, **common)  # type: ignore[arg-type]
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Event()

    def launch(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._supervise(), name=f"bus:lease:{self.group}"),
            loop.create_task(self._consume(), name=f"bus:consume:{self.group}"),
        ]

    async def wait_ready(self) -> None:
        await self._ready.wait()

    # -- membership and leases (claims only; the consumer loop learns ownership from the cursor rows)
    def _register(self, c: Connection) -> None:
        ins = _insert(self.bus.dialect)
        c.execute(
            ins(t.cursors).on_conflict_do_nothing(index_elements=["group_name", "part"]),
            [
                {
                    "group_name": self.group,
                    "part": p,
                    "pattern": self.options.pattern,
                    "offset": 0,
                    "epoch": 0,
                    "owner": None,
                    "lease_until": 0.0,
                }
                for p in range(PARTITIONS)
            ],
        )
        c.execute(
            sa.update(t.cursors)
            .where(t.cursors.c.group_name == self.group)
            .values(pattern=self.options.pattern)
        )

    def _heartbeat_and_claim(self, c: Connection) -> set[int]:
        now = time.time()
        lease = self.bus.lease_seconds
        g = t.cursors.c.group_name == self.group
        ins = _insert(self.bus.dialect)
        c.execute(
            ins(t.members)
            .values(group_name=self.group, member=self.member, heartbeat=now)
            .on_conflict_do_update(index_elements=["group_name", "member"], set_={"heartbeat": now})
        )
        c.execute(
            sa.delete(t.members).where(
                t.members.c.group_name == self.group, t.members.c.heartbeat < now - 3 * lease
            )
        )
        live = (
            c.execute(
                sa.select(sa.func.count())
                .select_from(t.members)
                .where(t.members.c.group_name == self.group, t.members.c.heartbeat >= now - lease)
            ).scalar()
            or 1
        )
        share = math.ceil(PARTITIONS / int(live))
        mine = t.cursors.c.owner == self.member
        c.execute(sa.update(t.cursors).where(g, mine).values(lease_until=now + lease))
        held = set(c.execute(sa.select(t.cursors.c.part).where(g, mine)).scalars())
        if len(held) > share:
            extra = set(sorted(held)[share:])
            c.execute(
                sa.update(t.cursors)
                .where(g, mine, t.cursors.c.part.in_(extra))
                .values(owner=None, lease_until=0.0)
            )
            held -= extra
        want = share - len(held)
        if want > 0:
            claimable = sa.or_(t.cursors.c.owner.is_(None), t.cursors.c.lease_until < now)
            free = sa.select(t.cursors.c.part).where(g, claimable).order_by(t.cursors.c.part).limit(want)
            if self.bus.dialect == "postgresql":
                free = free.with_for_update(skip_locked=True)
            for p in list(c.execute(free).scalars()):
                r = c.execute(
                    sa.update(t.cursors)
                    .where(g, t.cursors.c.part == p, claimable)
                    .values(owner=self.member, lease_until=now + lease)
                )
                if r.rowcount:
                    held.add(p)
        return held

    async def _supervise(self) -> None:
        bus = self.bus
        try:
            await bus.start()
            await bus._db(self._register)
            while not self.stopping.is_set():
                before = set(self.parts)
                try:
                    held = await bus._db(self._heartbeat_and_claim)
                except Exception as exc:
                    log.warning("bus lease keeper %s: database call failed (%r); retrying", self.group, exc)
                    self._ready.set()
                    await asyncio.sleep(1.0)
                    continue
                self._ready.set()
                if held != before:
                    self.wake.set()
                try:
                    await asyncio.wait_for(self.stopping.wait(), bus.lease_seconds / 3)
                except TimeoutError:
                    pass
        except Exception:
            log.exception("bus lease keeper for %s failed", self.group)
            raise
        finally:
            self._ready.set()

    # -- the consumer loop: one read/commit round trip at a time
    def _commits(self) -> list[tuple[int, int, int]]:
        out = []
        for p, st in self.parts.items():
            cur = st.cursor
            while st.order and st.order[0] in st.finished:
                cur = st.order.popleft()
                st.finished.discard(cur)
            st.cursor = cur
            if cur != st.committed:
                out.append((p, st.epoch, cur))
        return out

    def _round(
        self,
        c: Connection,
        commits: list[tuple[int, int, int]],
        clear: list[int],
        snapshot: dict[int, tuple[int, int]] | None,
    ) -> tuple[list[_CursorRow], list[Any], dict[int, int]]:
        # The consumer's hot loop, so straight through the DB-API cursor inside ``c``'s transaction
        # (SQLAlchemy's statement building and result wrapping cost more than the queries here).
        m = self.bus._mark
        g = self.group
        dbcur = c.connection.cursor()
        try:
            if commits:
                lease_until = time.time() + self.bus.lease_seconds
                dbcur.executemany(
                    f'UPDATE bus_cursors SET "offset" = {m}, lease_until = {m} '
                    f"WHERE group_name = {m} AND part = {m} AND owner = {m} AND epoch = {m}",
                    [(cur, lease_until, g, p, self.member, epoch) for p, epoch, cur in commits],
                )
            for i in range(0, len(clear), 500):
                chunk = clear[i : i + 500]
                dbcur.execute(
                    f"DELETE FROM bus_attempts WHERE group_name = {m} "
                    f"AND event_offset IN ({', '.join([m] * len(chunk))})",
                    [g, *chunk],
                )
            dbcur.execute(
                f'SELECT part, "offset", epoch, owner FROM bus_cursors WHERE group_name = {m}', (g,)
            )
            cur_rows = [_CursorRow(*r) for r in dbcur.fetchall()]
            rows: list[Any] = []
            prior: dict[int, int] = {}
            if snapshot:
                live = {r.part: r for r in cur_rows if r.owner == self.member}
                pos = {p: rp for p, (ep, rp) in snapshot.items() if p in live and live[p].epoch == ep}
                if pos:
                    # ``part + 0`` keeps the planners on the offset (primary key) range scan, in
                    # order, stopping at LIMIT; an index on part would mean OR-of-ranges plus a sort
                    # of everything unread.
                    ors = " OR ".join(f'(part + 0 = {m} AND "offset" > {m})' for _ in pos)
                    sql = (
                        'SELECT part, "offset", type, target_group, envelope, published_at FROM bus_events '
                        f'WHERE "offset" > {m} AND ({ors}) ORDER BY "offset" LIMIT {m}'
                    )
                    params: list[Any] = [min(pos.values())]
                    for p, rp in pos.items():
                        params += [p, rp]
                    params.append(self.options.batch)
                    dbcur.execute(sql, params)
                    rows = list(dbcur.fetchall())
                    if rows:
                        dbcur.execute(
                            f"SELECT event_offset, attempts FROM bus_attempts WHERE group_name = {m} "
                            f"AND event_offset >= {m} AND event_offset <= {m}",
                            (g, rows[0][1], rows[-1][1]),
                        )
                        prior = dict(dbcur.fetchall())
        finally:
            dbcur.close()
        return cur_rows, rows, prior

    def _apply_cursors(self, cur_rows: list[_CursorRow]) -> set[int]:
        """Sync partition state with the cursor rows; return partitions reset (or new) this round."""
        reset: set[int] = set()
        seen: set[int] = set()
        for r in cur_rows:
            if r.owner != self.member:
                self.parts.pop(r.part, None)
                continue
            seen.add(r.part)
            st = self.parts.get(r.part)
            if st is None or st.epoch != r.epoch:
                self._gen += 1
                self.parts[r.part] = _Part(
                    epoch=r.epoch,
                    cursor=r.offset,
                    read_pos=r.offset,
                    gen=self._gen,
                    committed=r.offset,
                    token=(r.part, self._gen),
                )
                reset.add(r.part)
        for p in set(self.parts) - seen:
            self.parts.pop(p)
        return reset

    async def _consume(self) -> None:
        bus = self.bus
        waker = self.wake
        bus._wakers.add(waker)
        g = self.group
        try:
            await self._ready.wait()
            while not self.stopping.is_set():
                commits = self._commits()
                clear, self._clear_attempts = self._clear_attempts, []
                room = (self.stream.room.is_set() and not self.batched) or (
                    self.batched and not self.stream.pending
                )
                snapshot = {p: (st.epoch, st.read_pos) for p, st in self.parts.items()} if room else None
                try:
                    cur_rows, rows, prior = await bus._db(
                        functools.partial(self._round, commits=commits, clear=clear, snapshot=snapshot),
                        write=bool(commits or clear),
                        inline=True,
                    )
                except Exception as exc:  # database away (restart, network): keep trying
                    log.warning("bus consumer %s: database round failed (%r); retrying", g, exc)
                    self._clear_attempts.extend(clear)  # commits are recomputed next round
                    await sleep_or(waker, 1.0)
                    continue
                for p, epoch, cur in commits:
                    done_st = self.parts.get(p)
                    if done_st is not None and done_st.epoch == epoch:
                        done_st.committed = cur
                reset = self._apply_cursors(cur_rows)
                deliveries: list[Delivery] = []
                wanted = self._wanted
                for part, off, typ, tgt, env, pub in rows:
                    st = self.parts.get(part)
                    if st is None or part in reset or off <= st.read_pos:
                        continue
                    st.read_pos = off
                    st.order.append(off)
                    ok = wanted.get(typ)
                    if ok is None:
                        if len(wanted) > 4096:
                            wanted.clear()
                        ok = wanted[typ] = self.rx.match(typ) is not None
                    if (tgt is not None and tgt != g) or not ok:
                        st.finished.add(off)
                        continue
                    deliveries.append(Delivery(decode_event(env), off, pub, prior.get(off, 0), st.token))
                if deliveries:
                    if self.batched:
                        for d in await self.dispatcher.run(deliveries):
                            self._finished(d)
                    else:
                        self.stream.submit(deliveries)
                if rows and len(rows) >= self.options.batch and (self.stream.room.is_set() or self.batched):
                    continue  # more to read
                if not rows and not commits:
                    await sleep_or(waker, bus.poll_interval)
                else:
                    await sleep_or(waker, 0.005 if rows else 0.02)
        except Exception:
            log.exception("bus consumer for %s failed", g)
            raise
        finally:
            bus._wakers.discard(waker)

    def _finished(self, d: Delivery) -> None:
        part, gen = d.token
        st = self.parts.get(part)
        if st is not None and st.gen == gen:
            st.finished.add(d.offset)
        if d.attempts > 0:
            self._clear_attempts.append(d.offset)
        self.wake.set()

    async def _on_failure(self, d: Delivery, exc: BaseException, attempt: int) -> None:
        ins = _insert(self.bus.dialect)
        err = f"{type(exc).__name__}: {exc}"[:2000]
        stmt = (
            ins(t.attempts)
            .values(group_name=self.group, event_offset=d.offset, attempts=attempt, last_error=err)
            .on_conflict_do_update(
                index_elements=["group_name", "event_offset"], set_={"attempts": attempt, "last_error": err}
            )
        )
        await self.bus._db(lambda c: c.execute(stmt))

    async def _on_dead(self, d: Delivery, err: str, tb: str, attempts: int, handler: str) -> None:
        ev = d.event

        def run(c: Connection) -> None:
            c.execute(
                sa.insert(t.dead).values(
                    group_name=self.group,
                    event_offset=d.offset,
                    event_id=ev.id,
                    type=ev.type,
                    subject=ev.subject,
                    envelope=encode_event(ev),
                    handler=handler,
                    attempts=attempts,
                    last_error=err[:4000],
                    traceback=tb,
                    dead_at=time.time(),
                )
            )
            c.execute(
                sa.delete(t.attempts).where(
                    t.attempts.c.group_name == self.group, t.attempts.c.event_offset == d.offset
                )
            )

        await self.bus._db(run)

    async def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.stream.drain()
        commits = self._commits()
        clear = self._clear_attempts

        def release(c: Connection) -> None:
            self._round(c, commits, clear, None)
            c.execute(
                sa.update(t.cursors)
                .where(t.cursors.c.group_name == self.group, t.cursors.c.owner == self.member)
                .values(owner=None, lease_until=0.0)
            )
            c.execute(
                sa.delete(t.members).where(
                    t.members.c.group_name == self.group, t.members.c.member == self.member
                )
            )

        try:
            await self.bus._db(release)
        finally:
            self.bus._forget(self)
