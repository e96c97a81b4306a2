"""Capacity governor: one request budget per vendor account, shared by every flow and worker process.

The budget is a rate (requests per second, already reduced by the configured headroom). Callers reserve
the next free slot with GCRA ("theoretical arrival time"): each reservation moves the account's ``tat``
forward by ``1/rate`` and the caller sleeps until its slot, so requests leave evenly spaced and never
exceed the rate in any window, across processes. Priority by tier: a tier-1 call (order capture,
payment) always reserves; lower tiers reserve only while the account's backlog is shorter than their
horizon (tier 2: ``horizon_s[2]``, tier 3: ``horizon_s[3]``) and otherwise back off, leaving the
budget to tier 1 under contention.

Reservations are batched per process: the callers waiting at the same moment for the same account and
tier are served by one reservation of ``n`` consecutive slots (one ``UPDATE`` moving ``tat`` by ``n/rate``),
made on the governor's own thread with the clock read right before the write. A slot computed from a
clock read earlier (a caller queued behind other work in a shared thread pool) would lie in the past
and go out at once, beside the next caller's: the window would then see more than the rate.

Backends: in memory (one process), SQL (any SQLAlchemy engine; the store's ``governor_accounts`` table,
one atomic ``UPDATE ... RETURNING`` per call) and Redis (a Lua script). Vendors that announce their limits
at run time (NetSuite's account concurrency, Shopify's throttleStatus) update the rate with
:meth:`Governor.set_rate`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import sqlalchemy as sa

__all__ = [
    "DEFAULT_HORIZONS",
    "Governor",
    "GovernorBackend",
    "MemoryGovernorBackend",
    "RedisGovernorBackend",
    "SqlGovernorBackend",
    "governor_accounts",
]

DEFAULT_HORIZONS: dict[int, float] = {1: float("inf"), 2: 2.0, 3: 0.5}

_meta = sa.MetaData()
governor_accounts = sa.Table(
    "governor_accounts",
    _meta,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("tat", sa.Float, nullable=False),
    sa.Column("rps", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)


class GovernorBackend(Protocol):
    def ensure(self, key: str, rps: float) -> None: ...

    def set_rate(self, key: str, rps: float) -> None: ...

    def reserve(self, key: str, now: float, horizon: float) -> float | None:
        """Reserve the next slot if the backlog is within ``horizon``: the slot time, else None."""
        ...

    def reserve_many(self, key: str, now: float, horizon: float, n: int) -> list[float] | None:
        """Reserve ``n`` consecutive slots at once (same rule): their times, else None."""
        ...

    def backlog(self, key: str, now: float) -> float: ...


class MemoryGovernorBackend:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._rps: dict[str, float] = {}

    def ensure(self, key: str, rps: float) -> None:
        with self._lock:
            self._tat.setdefault(key, 0.0)
            self._rps.setdefault(key, rps)

    def set_rate(self, key: str, rps: float) -> None:
        with self._lock:
            self._rps[key] = rps

    def reserve(self, key: str, now: float, horizon: float) -> float | None:
        slots = self.reserve_many(key, now, horizon, 1)
        return None if slots is None else slots[0]

    def reserve_many(self, key: str, now: float, horizon: float, n: int) -> list[float] | None:
        with self._lock:
            tat = self._tat.get(key, 0.0)
            if tat - now > horizon:
                return None
            first = max(tat, now)
            step = 1.0 / self._rps[key]
            self._tat[key] = first + n * step
            return [first + i * step for i in range(n)]

    def backlog(self, key: str, now: float) -> float:
        with self._lock:
            return max(0.0, self._tat.get(key, 0.0) - now)


class SqlGovernorBackend:
    """Shared through the store: one row per account, reserved with one atomic UPDATE ... RETURNING."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._greatest = sa.func.greatest if engine.dialect.name == "postgresql" else sa.func.max

    def ensure(self, key: str, rps: float) -> None:
        t = governor_accounts
        with self.engine.begin() as c:
            if c.execute(sa.select(t.c.key).where(t.c.key == key)).first() is None:
                try:
                    with c.begin_nested():
                        c.execute(t.insert().values(key=key, tat=0.0, rps=rps, updated_at=time.time()))
                except sa.exc.IntegrityError:
                    pass

    def set_rate(self, key: str, rps: float) -> None:
        t = governor_accounts
        with self.engine.begin() as c:
            c.execute(t.update().where(t.c.key == key).values(rps=rps, updated_at=time.time()))

    def reserve(self, key: str, now: float, horizon: float) -> float | None:
        slots = self.reserve_many(key, now, horizon, 1)
        return None if slots is None else slots[0]

    def reserve_many(self, key: str, now: float, horizon: float, n: int) -> list[float] | None:
        t = governor_accounts
        cond = t.c.key == key
        if horizon != float("inf"):
            cond = sa.and_(cond, t.c.tat - now <= horizon)
        stmt = (
            t.update()
            .where(cond)
            .values(tat=self._greatest(t.c.tat, now) + float(n) / t.c.rps, updated_at=now)
            .returning(t.c.tat, t.c.rps)
        )
        with self.engine.begin() as c:
            row = c.execute(stmt).first()
        if row is None:
            return None
        step = 1.0 / float(row[1])
        first = float(row[0]) - n * step
        return [first + i * step for i in range(n)]

    def backlog(self, key: str, now: float) -> float:
        t = governor_accounts
        with self.engine.connect() as c:
            tat = c.execute(sa.select(t.c.tat).where(t.c.key == key)).scalar()
        return max(0.0, float(tat or 0.0) - now)


_LUA_RESERVE = """
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '0')
local rps = tonumber(redis.call('HGET', KEYS[1], 'rps') or ARGV[3])
local now = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
if horizon >= 0 and (tat - now) > horizon then return nil end
local n = tonumber(ARGV[4] or '1')
local slot = math.max(tat, now)
redis.call('HSET', KEYS[1], 'tat', tostring(slot + n / rps))
return {tostring(slot), tostring(rps)}
"""


class RedisGovernorBackend:
    """Shared through Redis (``engines.redis_url``): the same GCRA in a Lua script."""

    def __init__(self, url: str, *, prefix: str = "retailconnect:governor:") -> None:
        import redis

        self._r = redis.Redis.from_url(url)
        self._prefix = prefix
        self._script = self._r.register_script(_LUA_RESERVE)

    def ensure(self, key: str, rps: float) -> None:
        self._r.hsetnx(self._prefix + key, "rps", str(rps))

    def set_rate(self, key: str, rps: float) -> None:
        self._r.hset(self._prefix + key, "rps", str(rps))

    def reserve(self, key: str, now: float, horizon: float) -> float | None:
        slots = self.reserve_many(key, now, horizon, 1)
        return None if slots is None else slots[0]

    def reserve_many(self, key: str, now: float, horizon: float, n: int) -> list[float] | None:
        h = -1.0 if horizon == float("inf") else horizon
        res = self._script(keys=[self._prefix + key], args=[repr(now), repr(h), "1", str(n)])
        if res is None:
            return None
        first, step = float(res[0]), 1.0 / float(res[1])
        return [first + i * step for i in range(n)]

    def backlog(self, key: str, now: float) -> float:
        tat = self._r.hget(self._prefix + key, "tat")
        return max(0.0, float(tat or 0.0) - now)


class Governor:
    """``await governor.acquire(account, tier)`` returns when this caller may send one request."""

    def __init__(
        self,
        backend: GovernorBackend | None = None,
        *,
        horizons: dict[int, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend: GovernorBackend = backend or MemoryGovernorBackend()
        self.horizons = dict(DEFAULT_HORIZONS if horizons is None else horizons)
        self._clock = clock
        self._rates: dict[str, float] = {}
        self.waited_s: dict[int, float] = {}
        self.granted: dict[int, int] = {}
        self.reservations = 0  # backend round trips (one per batch)
        # callers waiting for the next batch, per (event loop, account, horizon)
        self._waiting: dict[tuple[int, str, float], list[asyncio.Future[float | None]]] = {}
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def configure(self, key: str, rps: float) -> None:
        """Declare an account with its rate from config (the first process to declare it wins)."""
        self._rates[key] = rps
        self.backend.ensure(key, rps)

    def set_rate(self, key: str, rps: float) -> None:
        """The vendor told us its current limit: use it from now on, account-wide."""
        self._rates[key] = rps
        self.backend.set_rate(key, rps)

    def rate(self, key: str) -> float | None:
        return self._rates.get(key)

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rc-governor")
            return self._pool

    def _reserve_now(self, key: str, horizon: float, n: int) -> list[float] | None:
        # the clock is read here, on the governor's thread, right before the write
        return self.backend.reserve_many(key, self._clock(), horizon, n)

    async def _reserve(self, key: str, horizon: float) -> float | None:
        """Join the batch of callers waiting for this account now; one reservation serves them all."""
        loop = asyncio.get_running_loop()
        bkey = (id(loop), key, horizon)
        fut: asyncio.Future[float | None] = loop.create_future()
        batch = self._waiting.get(bkey)
        if batch is None:
            batch = self._waiting[bkey] = []
            loop.call_soon(lambda: loop.create_task(self._flush(bkey)))
        batch.append(fut)
        return await fut

    async def _flush(self, bkey: tuple[int, str, float]) -> None:
        batch = self._waiting.pop(bkey, [])
        if not batch:
            return
        _loop, key, horizon = bkey
        try:
            self.reservations += 1
            slots = await asyncio.get_running_loop().run_in_executor(
                self._executor(), self._reserve_now, key, horizon, len(batch)
            )
        except BaseException as exc:
            for f in batch:
                if not f.done():
                    f.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for i, f in enumerate(batch):
            if not f.done():
                f.set_result(None if slots is None else slots[i])
            # a caller cancelled meanwhile leaves its slot unused: the budget errs on the safe side

    async def acquire(self, key: str, tier: int = 1) -> float:
        """Wait for a slot; returns the seconds waited."""
        horizon = self.horizons.get(tier, self.horizons.get(max(self.horizons), 0.5))
        started = self._clock()
        while True:
            slot = await self._reserve(key, horizon)
            if slot is not None:
                delay = slot - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                waited = self._clock() - started
                self.waited_s[tier] = self.waited_s.get(tier, 0.0) + waited
                self.granted[tier] = self.granted.get(tier, 0) + 1
                return waited
            # backlog too long for this tier: back off and let higher tiers through
            backlog = await asyncio.to_thread(self.backend.backlog, key, self._clock())
            await asyncio.sleep(min(1.0, max(0.02, backlog - horizon)))

    def stats(self) -> dict[str, Any]:
        return {
            "granted": dict(self.granted),
            "waited_s": dict(self.waited_s),
            "rates": dict(self._rates),
            "reservations": self.reservations,
        }
