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
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from retailconnect.canonical.event import CloudEvent
from retailconnect.errors import InputError, NotFoundError

from .. import tables as t
from ..api import (
    PARTITIONS,
    BusStats,
    DeadLetter,
    EventBus,
    ReplayResult,
    Subscription,
    SubscriptionOptions,
    compile_pattern,
    decode_event,
    encode_event,
    epoch_to_dt,
    one_start,
    partition_of,
    sleep_or,
    validate_event,
    validate_pattern,
)
from ..consumer import Delivery, Dispatcher
from ..outbox import Outbox

__all__ = ["SqlBus", "SqlOutbox", "event_rows", "insert_events"]


def event_rows(events: Sequence[CloudEvent], now: float | None = None) -> list[dict[str, Any]]:
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
            "envelope": encode_event(e),
        }
        for e in events
    ]


def _insert(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append to the log inside ``conn``'s transaction; an id already in the log is skipped."""
    if not rows:
        return
    dialect = conn.dialect.name
    stmt = _insert(dialect)(t.events).on_conflict_do_nothing(index_elements=["dedupe_key"])
    conn.execute(stmt, rows)
    if dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_notify('retailconnect_bus', '')"))


def _like(pattern: str) -> str:
    """An over-approximating SQL LIKE for a type pattern (prefilter only)."""
    return pattern.replace("_", "\\_").replace(">", "%").replace("*", "%")


class SqlOutbox(Outbox):
    """On a SQL bus the outbox row IS the log entry: commit = publish, rollback = no event."""

    def __init__(self, bus: SqlBus) -> None:
        self._bus = bus

    def add(self, conn: Connection, events: Sequence[CloudEvent]) -> None:
        evs = [validate_event(e) for e in events]
        insert_events(conn, event_rows(evs))
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

    # ---------------------------------------------------------------- plumbing
    async def _db(self, fn: Callable[[Connection], Any]) -> Any:
        def run() -> Any:
            with self.engine.begin() as conn:
                return fn(conn)

        return await asyncio.to_thread(run)

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
        if self._owns_engine:
            self.engine.dispose()

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    # ---------------------------------------------------------------- publish
    async def _publish(self, events: Sequence[CloudEvent]) -> None:
        await self.start()
        rows = event_rows(events)
        await self._db(lambda c: insert_events(c, rows))
        self._wake_all()

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
        rows = await self._db(lambda c: c.execute(q).all())
        return [self._dead_from_row(r) for r in rows]

    async def get_dead(self, id: str) -> DeadLetter:
        await self.start()
        try:
            key = int(id)
        except ValueError:
            raise InputError(f"dead-letter id must be a number here, got {id!r}") from None
        row = await self._db(lambda c: c.execute(sa.select(t.dead).where(t.dead.c.id == key)).first())
        if row is None:
            raise NotFoundError(f"no dead letter {id!r}", context={"id": id})
        return self._dead_from_row(row)

    async def replay_dead(
        self, id: str | Literal["all"], *, group: str | None = None, dry_run: bool = False
    ) -> ReplayResult:
        await self.start()
        if id == "all":
            dls = await self.list_dead(group, limit=1_000_000)
        else:
            dl = await self.get_dead(id)
            if group is not None and dl.group != group:
                raise InputError(f"dead letter {id} belongs to group {dl.group!r}, not {group!r}")
            dls = [dl]
        items = [
            {"dead_id": d.id, "event_id": d.event.id, "type": d.event.type, "subject": d.event.subject, "group": d.group}
            for d in dls
        ]
        if not dry_run and dls:
            now = time.time()

            def run(c: Connection) -> None:
                rows = []
                for d in dls:
                    row = event_rows([d.event], now)[0]
                    row["dedupe_key"] = f"dlq:{d.id}:{uuid.uuid4().hex}"
                    row["target_group"] = d.group
                    rows.append(row)
                insert_events(c, rows)
                c.execute(sa.delete(t.dead).where(t.dead.c.id.in_([int(d.id) for d in dls])))

            await self._db(run)
            self._wake_all()
        return ReplayResult(group=group or "*", dry_run=dry_run, count=len(dls), items=items)

    async def purge_dead(self, older_than: timedelta) -> int:
        await self.start()
        cutoff = time.time() - older_than.total_seconds()
        return int(await self._db(lambda c: c.execute(sa.delete(t.dead).where(t.dead.c.dead_at < cutoff)).rowcount))

    async def apply_retention(self, *, max_age: timedelta | None = None, max_events: int | None = None) -> int:
        await self.start()
        if max_age is None and max_events is None:
            raise InputError("apply_retention needs max_age and/or max_events")
        if max_events is not None and max_events < 0:
            raise InputError("max_events must be >= 0")

        def run(c: Connection) -> int:
            n = 0
            if max_age is not None:
                cutoff = time.time() - max_age.total_seconds()
                n += c.execute(sa.delete(t.events).where(t.events.c.published_at < cutoff)).rowcount
            if max_events is not None:
                edge = c.execute(
                    sa.select(t.events.c.offset).order_by(t.events.c.offset.desc()).offset(max_events).limit(1)
                ).scalar()
                if edge is not None:
                    n += c.execute(sa.delete(t.events).where(t.events.c.offset <= edge)).rowcount
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

        rows = await self._db(run)
        return [(o, decode_event(e)) for o, e in rows]

    async def _fill_stats(self, st: BusStats) -> None:
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

        lag, dead = await self._db(run)
        st.dead_letters = dead
        for g, (p, n) in lag.items():
            gs = st.groups.setdefault(g, self.counters(g).__class__(g))
            gs.pattern = gs.pattern or p
            gs.lag = n


class SqlSubscription(Subscription):
    def __init__(self, bus: SqlBus, opts: SubscriptionOptions, handler: Callable[..., Awaitable[None]]) -> None:
        self.bus = bus
        self.options = opts
        self.handler = handler
        self.member = uuid.uuid4().hex[:16]
        self.rx = compile_pattern(opts.pattern)
        self.stopping = asyncio.Event()
        self.dispatcher = Dispatcher(
            opts,
            handler,
            counters=bus.counters(opts.group),
            latency=bus.latency,
            on_failure=self._on_failure,
            on_dead=self._on_dead,
            stopping=self.stopping,
        )
        self._workers: dict[int, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def launch(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name=f"bus:{self.group}")

    async def wait_ready(self) -> None:
        await self._ready.wait()

    # -- membership and leases
    def _register(self, c: Connection) -> None:
        ins = _insert(self.bus.dialect)
        c.execute(
            ins(t.cursors)
            .on_conflict_do_nothing(index_elements=["group_name", "part"]),
            [{"group_name": self.group, "part": p, "pattern": self.options.pattern, "offset": 0, "epoch": 0,
              "owner": None, "lease_until": 0.0} for p in range(PARTITIONS)],
        )
        c.execute(
            sa.update(t.cursors).where(t.cursors.c.group_name == self.group).values(pattern=self.options.pattern)
        )

    def _heartbeat_and_claim(self, c: Connection, owned: set[int]) -> tuple[set[int], set[int]]:
        now = time.time()
        lease = self.bus.lease_seconds
        ins = _insert(self.bus.dialect)
        c.execute(
            ins(t.members)
            .values(group_name=self.group, member=self.member, heartbeat=now)
            .on_conflict_do_update(index_elements=["group_name", "member"], set_={"heartbeat": now})
        )
        c.execute(sa.delete(t.members).where(t.members.c.group_name == self.group, t.members.c.heartbeat < now - 3 * lease))
        live = c.execute(
            sa.select(sa.func.count()).select_from(t.members).where(
                t.members.c.group_name == self.group, t.members.c.heartbeat >= now - lease
            )
        ).scalar() or 1
        share = math.ceil(PARTITIONS / int(live))
        # renew what we hold
        if owned:
            c.execute(
                sa.update(t.cursors)
                .where(t.cursors.c.group_name == self.group, t.cursors.c.owner == self.member, t.cursors.c.part.in_(owned))
                .values(lease_until=now + lease)
            )
        held = set(
            c.execute(
                sa.select(t.cursors.c.part).where(t.cursors.c.group_name == self.group, t.cursors.c.owner == self.member)
            ).scalars()
        )
        release: set[int] = set()
        if len(held) > share:
            release = set(sorted(held)[share:])
            c.execute(
                sa.update(t.cursors)
                .where(t.cursors.c.group_name == self.group, t.cursors.c.owner == self.member, t.cursors.c.part.in_(release))
                .values(owner=None, lease_until=0.0)
            )
            held -= release
        want = share - len(held)
        if want > 0:
            free = sa.select(t.cursors.c.part).where(
                t.cursors.c.group_name == self.group,
                sa.or_(t.cursors.c.owner.is_(None), t.cursors.c.lease_until < now),
            ).order_by(t.cursors.c.part).limit(want)
            if self.bus.dialect == "postgresql":
                free = free.with_for_update(skip_locked=True)
            for p in list(c.execute(free).scalars()):
                r = c.execute(
                    sa.update(t.cursors)
                    .where(
                        t.cursors.c.group_name == self.group,
                        t.cursors.c.part == p,
                        sa.or_(t.cursors.c.owner.is_(None), t.cursors.c.lease_until < now),
                    )
                    .values(owner=self.member, lease_until=now + lease)
                )
                if r.rowcount:
                    held.add(p)
        return held, release

    async def _supervise(self) -> None:
        bus = self.bus
        await bus.start()
        await bus._db(self._register)
        try:
            while not self.stopping.is_set():
                owned = {p for p, (task, _) in self._workers.items() if not task.done()}
                held, _released = await bus._db(lambda c: self._heartbeat_and_claim(c, owned))
                for p in list(self._workers):
                    task, ev = self._workers[p]
                    if p not in held or task.done():
                        ev.set()
                        if p not in held:
                            self._workers.pop(p)
                        elif task.done():
                            self._workers.pop(p)
                for p in held:
                    if p not in self._workers:
                        stop = asyncio.Event()
                        task = asyncio.get_running_loop().create_task(self._partition(p, stop))
                        self._workers[p] = (task, stop)
                self._ready.set()
                try:
                    await asyncio.wait_for(self.stopping.wait(), bus.lease_seconds / 3)
                except TimeoutError:
                    pass
        finally:
            self._ready.set()

    # -- one partition
    async def _partition(self, part: int, stop: asyncio.Event) -> None:
        bus = self.bus
        waker = asyncio.Event()
        bus._wakers.add(waker)
        g = self.group
        try:
            while not (self.stopping.is_set() or stop.is_set()):
                batch_rows = await bus._db(lambda c: self._fetch(c, part))
                if batch_rows is None:  # lease lost
                    return
                epoch, cursor, rows, prior = batch_rows
                if not rows:
                    await sleep_or(waker, bus.poll_interval)
                    continue
                deliveries: list[Delivery] = []
                skipped: list[int] = []
                for off, typ, tgt, env, pub in rows:
                    if (tgt is not None and tgt != g) or not self.rx.match(typ):
                        skipped.append(off)
                        continue
                    deliveries.append(Delivery(decode_event(env), off, pub, prior.get(off, 0)))
                finished = {d.offset for d in await self.dispatcher.run(deliveries)} | set(skipped)
                new_cursor = cursor
                for off, *_ in rows:
                    if off in finished:
                        new_cursor = off
                    else:
                        break
                retried = [d.offset for d in deliveries if d.done and d.attempts > 0]
                ok = await bus._db(lambda c: self._commit(c, part, epoch, new_cursor, retried))
                if not ok:
                    return
        finally:
            bus._wakers.discard(waker)

    def _fetch(self, c: Connection, part: int) -> tuple[int, int, list[Any], dict[int, int]] | None:
        row = c.execute(
            sa.select(t.cursors.c.offset, t.cursors.c.epoch, t.cursors.c.owner).where(
                t.cursors.c.group_name == self.group, t.cursors.c.part == part
            )
        ).first()
        if row is None or row.owner != self.member:
            return None
        q = (
            sa.select(t.events.c.offset, t.events.c.type, t.events.c.target_group, t.events.c.envelope, t.events.c.published_at)
            .where(t.events.c.part == part, t.events.c.offset > row.offset)
            .order_by(t.events.c.offset)
            .limit(self.options.batch)
        )
        rows = c.execute(q).all()
        prior: dict[int, int] = {}
        if rows:
            prior = dict(
                c.execute(
                    sa.select(t.attempts.c.event_offset, t.attempts.c.attempts).where(
                        t.attempts.c.group_name == self.group,
                        t.attempts.c.event_offset >= rows[0][0],
                        t.attempts.c.event_offset <= rows[-1][0],
                    )
                ).all()
            )
        return int(row.epoch), int(row.offset), rows, prior

    def _commit(self, c: Connection, part: int, epoch: int, cursor: int, retried: list[int]) -> bool:
        r = c.execute(
            sa.update(t.cursors)
            .where(
                t.cursors.c.group_name == self.group,
                t.cursors.c.part == part,
                t.cursors.c.owner == self.member,
                t.cursors.c.epoch == epoch,
            )
            .values(offset=cursor, lease_until=time.time() + self.bus.lease_seconds)
        )
        if retried:
            c.execute(
                sa.delete(t.attempts).where(t.attempts.c.group_name == self.group, t.attempts.c.event_offset.in_(retried))
            )
        if r.rowcount:
            return True
        # replayed (epoch moved) or lease lost: keep going only if we still own it
        owner = c.execute(
            sa.select(t.cursors.c.owner).where(t.cursors.c.group_name == self.group, t.cursors.c.part == part)
        ).scalar()
        return bool(owner == self.member)

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
                sa.delete(t.attempts).where(t.attempts.c.group_name == self.group, t.attempts.c.event_offset == d.offset)
            )

        await self.bus._db(run)

    async def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        for _, ev in self._workers.values():
            ev.set()
        tasks = [task for task, _ in self._workers.values()]
        if self._task is not None:
            tasks.append(self._task)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()

        def release(c: Connection) -> None:
            c.execute(
                sa.update(t.cursors)
                .where(t.cursors.c.group_name == self.group, t.cursors.c.owner == self.member)
                .values(owner=None, lease_until=0.0)
            )
            c.execute(sa.delete(t.members).where(t.members.c.group_name == self.group, t.members.c.member == self.member))

        try:
            await self.bus._db(release)
        finally:
            self.bus._forget(self)


_ = validate_pattern
