"""The event-bus contract: every backend subclasses ``BusContract`` and provides the ``env`` fixture
(an ``Env`` with the bus and the store whose transactions the outbox joins, from ``open_env``). Not
collected itself: this directory's conftest.py loads it once as ``retailconnect_tests_bus_suite``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from retailconnect.bus import EventBus, IdempotentConsumer, open_bus
from retailconnect.canonical.event import CloudEvent, make_event
from retailconnect.errors import EnvelopeError, InputError, NotFoundError
from retailconnect.store import Store


@dataclass
class Env:
    bus: EventBus
    store: Any


@contextlib.asynccontextmanager
async def open_env(backend: str, store_url: str, **bus_options: Any) -> AsyncIterator[Env]:
    """A started bus of ``backend`` with its store at ``store_url`` (on NATS the store holds the
    outbox; pass ``url`` and a unique ``prefix``, whose streams are deleted afterwards)."""
    store = Store.open(store_url)
    bus = open_bus(backend, store=store, **bus_options)
    try:
        await bus.start()
        yield Env(bus, store)
    finally:
        try:
            if backend == "nats":
                await bus.delete_streams()  # type: ignore[attr-defined]
        finally:
            await bus.close()
            store.close()


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def ev(type_: str = "order.accepted", subject: str | None = "k", **data: Any) -> CloudEvent:
    return make_event(type_, source="tests", subject=subject, data=data or {"n": 0})


class BusContract:
    async def test_publish_subscribe_filters_by_pattern(self, env: Env) -> None:
        bus = env.bus
        got: list[str] = []

        async def handler(e: CloudEvent) -> None:
            got.append(e.type)

        await bus.publish_many(
            [ev("order.accepted"), ev("order.line.added"), ev("inventory.movement"), ev("order.cancelled")]
        )
        sub = bus.subscribe("order.*", "orders", handler)
        await wait_for(lambda: len(got) >= 2, what="two order events")
        await asyncio.sleep(0.2)
        assert got == ["order.accepted", "order.cancelled"]
        await sub.stop()

        deep: list[str] = []

        async def h2(e: CloudEvent) -> None:
            deep.append(e.type)

        sub2 = bus.subscribe("order.>", "deep", h2)
        await wait_for(lambda: len(deep) >= 3, what="three order.> events")
        assert deep == ["order.accepted", "order.line.added", "order.cancelled"]
        await sub2.stop()

    async def test_groups_each_get_every_event(self, env: Env) -> None:
        a: list[str] = []
        b: list[str] = []

        async def ha(e: CloudEvent) -> None:
            a.append(e.id)

        async def hb(e: CloudEvent) -> None:
            b.append(e.id)

        s1 = env.bus.subscribe("order.*", "ga", ha)
        s2 = env.bus.subscribe("order.*", "gb", hb)
        events = [ev(subject=f"k{i}") for i in range(20)]
        await env.bus.publish_many(events)
        await wait_for(lambda: len(a) == 20 and len(b) == 20, what="both groups")
        assert sorted(a) == sorted(b) == sorted(e.id for e in events)
        await s1.stop()
        await s2.stop()

    async def test_duplicate_event_id_is_delivered_once(self, env: Env) -> None:
        got: list[str] = []

        async def h(e: CloudEvent) -> None:
            got.append(e.id)

        e = ev()
        await env.bus.publish(e)
        await env.bus.publish(e)
        await env.bus.publish(ev(subject="other"))
        sub = env.bus.subscribe("order.*", "dups", h)
        await wait_for(lambda: len(got) >= 2)
        await asyncio.sleep(0.3)
        assert got.count(e.id) == 1
        await sub.stop()

    async def test_per_key_order_and_parallel_keys(self, env: Env) -> None:
        seen: dict[str, list[int]] = defaultdict(list)
        active = 0
        peak = 0

        async def h(e: CloudEvent) -> None:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.002)
            assert e.subject is not None and isinstance(e.data, dict)
            seen[e.subject].append(e.data["n"])
            active -= 1

        keys = [f"sku-{i}" for i in range(8)]
        events = [ev("inventory.movement", subject=k, n=n) for n in range(25) for k in keys]
        sub = env.bus.subscribe("inventory.>", "order-check", h, concurrency=8)
        await env.bus.publish_many(events)
        await wait_for(lambda: sum(map(len, seen.values())) == len(events), timeout=20, what="all events")
        for k in keys:
            assert seen[k] == list(range(25)), k
        assert peak > 1, "different keys must run in parallel"
        await sub.stop()

    async def test_retry_with_backoff_then_success(self, env: Env) -> None:
        calls: list[float] = []

        async def flaky(e: CloudEvent) -> None:
            calls.append(time.monotonic())
            if len(calls) < 3:
                raise RuntimeError("not yet")

        sub = env.bus.subscribe("order.*", "flaky", flaky, max_attempts=5, backoff=(0.05, 0.2))
        await env.bus.publish(ev())
        await wait_for(lambda: len(calls) >= 3)
        await asyncio.sleep(0.2)
        assert len(calls) == 3
        assert await env.bus.list_dead() == []
        st = await env.bus.stats()
        assert st.groups["flaky"].retried == 2
        assert st.groups["flaky"].acked == 1
        await sub.stop()

    async def test_dead_letter_keeps_details_and_never_blocks_other_keys(self, env: Env) -> None:
        good: list[str] = []

        async def picky(e: CloudEvent) -> None:
            if e.subject == "bad":
                raise ValueError("credit hold for customer 42")
            good.append(e.id)

        sub = env.bus.subscribe("order.*", "picky", picky, max_attempts=3, backoff=(0.01, 0.02))
        bad = ev(subject="bad")
        await env.bus.publish_many([bad] + [ev(subject=f"ok{i}") for i in range(5)])
        await wait_for(lambda: len(good) == 5, what="other keys")
        dead = []

        async def poll() -> None:
            nonlocal dead
            for _ in range(500):
                dead = await env.bus.list_dead()
                if dead:
                    return
                await asyncio.sleep(0.02)

        await poll()
        assert len(dead) == 1
        d = dead[0]
        assert d.event.id == bad.id and d.group == "picky" and d.attempts == 3
        assert "ValueError: credit hold for customer 42" in d.last_error
        assert "credit hold" in d.traceback and "Traceback" in d.traceback
        assert d.handler.endswith("picky")
        assert (await env.bus.get_dead(d.id)).event.id == bad.id
        st = await env.bus.stats()
        assert st.dead_letters == 1
        assert st.groups["picky"].dead_lettered == 1
        await sub.stop()

    async def test_hung_handler_times_out_retries_then_dead_letters_without_blocking(self, env: Env) -> None:
        attempts: list[str] = []
        done: list[str] = []

        async def handler(e: CloudEvent) -> None:
            if e.subject == "stuck" and isinstance(e.data, dict) and e.data.get("n") == 0:
                attempts.append(e.id)
                await asyncio.sleep(3600)  # hangs: only the timeout gets it out
            done.append(f"{e.subject}:{e.data['n'] if isinstance(e.data, dict) else '?'}")

        sub = env.bus.subscribe(
            "order.*", "hangs", handler, max_attempts=2, backoff=(0.01, 0.02), handler_timeout=0.3
        )
        hung = ev(subject="stuck", n=0)
        await env.bus.publish_many(
            [hung, ev(subject="stuck", n=1)] + [ev(subject=f"ok{i}", n=i) for i in range(5)]
        )
        # Other keys are handled while the stuck key waits out its timeout.
        await wait_for(lambda: sum(x.startswith("ok") for x in done) == 5, timeout=5, what="other keys")
        assert "stuck:1" not in done
        # Then: timed out twice (retried once), dead-lettered, and the key moves on in order.
        await wait_for(lambda: "stuck:1" in done, timeout=10, what="the stuck key to move on")
        assert attempts == [hung.id, hung.id]
        dead = await env.bus.list_dead(group="hangs")
        assert len(dead) == 1 and dead[0].event.id == hung.id and dead[0].attempts == 2
        assert "HandlerTimeout" in dead[0].last_error and "0.3 s" in dead[0].last_error
        await sub.stop()

    async def test_dead_letter_replay_goes_to_its_group_only(self, env: Env) -> None:
        fixed = False
        got: list[str] = []
        other: list[str] = []

        async def h(e: CloudEvent) -> None:
            if not fixed:
                raise RuntimeError("ERP down")
            got.append(e.id)

        async def ho(e: CloudEvent) -> None:
            other.append(e.id)

        sub = env.bus.subscribe("order.*", "needsfix", h, max_attempts=2, backoff=(0.01, 0.01))
        sub_o = env.bus.subscribe("order.*", "bystander", ho)
        e = ev()
        await env.bus.publish(e)
        await wait_for(lambda: len(other) == 1)
        dead: list[Any] = []
        for _ in range(500):
            dead = await env.bus.list_dead(group="needsfix")
            if dead:
                break
            await asyncio.sleep(0.02)
        assert len(dead) == 1
        dry = await env.bus.replay_dead(dead[0].id, dry_run=True)
        assert dry.count == 1 and dry.items[0]["group"] == "needsfix" and dry.items[0]["event_id"] == e.id
        assert len(await env.bus.list_dead()) == 1
        with pytest.raises(InputError):
            await env.bus.replay_dead(dead[0].id, group="bystander")
        fixed = True
        res = await env.bus.replay_dead(dead[0].id)
        assert res.count == 1
        await wait_for(lambda: got == [e.id], what="replayed dead letter")
        await asyncio.sleep(0.3)
        assert other == [e.id], "the replay targets only the group it died in"
        assert await env.bus.list_dead() == []
        with pytest.raises(NotFoundError):
            await env.bus.get_dead(dead[0].id)
        await sub.stop()
        await sub_o.stop()

    async def test_replay_all_dead_and_purge(self, env: Env) -> None:
        async def boom(e: CloudEvent) -> None:
            raise KeyError("sku")

        sub = env.bus.subscribe("order.*", "boom", boom, max_attempts=1)
        await env.bus.publish_many([ev(subject=f"k{i}") for i in range(3)])
        for _ in range(500):
            if len(await env.bus.list_dead()) == 3:
                break
            await asyncio.sleep(0.02)
        assert len(await env.bus.list_dead(group="boom")) == 3
        assert await env.bus.purge_dead(timedelta(hours=1)) == 0
        await sub.stop()
        res = await env.bus.replay_dead("all", group="boom", dry_run=True)
        assert res.count == 3
        assert await env.bus.purge_dead(timedelta(0)) == 3
        assert await env.bus.list_dead() == []

    async def test_replay_from_offset_time_and_event_id(self, env: Env) -> None:
        got: list[int] = []

        async def h(e: CloudEvent) -> None:
            assert isinstance(e.data, dict)
            got.append(e.data["n"])

        sub = env.bus.subscribe("order.*", "rewind", h)
        first = [ev(subject="k", n=i) for i in range(5)]
        await env.bus.publish_many(first)
        await wait_for(lambda: len(got) == 5)
        await asyncio.sleep(0.05)
        mark = datetime.now(UTC)
        await asyncio.sleep(0.05)
        second = [ev(subject="k", n=i) for i in range(5, 10)]
        await env.bus.publish_many(second)
        await wait_for(lambda: len(got) == 10)

        # by event id: dry run lists, changes nothing
        dry = await env.bus.replay("rewind", from_event_id=first[3].id, dry_run=True)
        assert dry.count == 7 and [i["event_id"] for i in dry.items][:2] == [first[3].id, first[4].id]
        assert all(i["group"] == "rewind" for i in dry.items)
        await asyncio.sleep(0.2)
        assert len(got) == 10
        res = await env.bus.replay("rewind", from_event_id=first[3].id)
        assert res.count == 7
        await wait_for(lambda: len(got) == 17, what="replay by event id")
        assert got[10:] == [3, 4, 5, 6, 7, 8, 9]

        # by time
        await env.bus.replay("rewind", from_time=mark)
        await wait_for(lambda: len(got) == 22, what="replay by time")
        assert got[17:] == [5, 6, 7, 8, 9]

        # by offset (the offset of the 9th event, as the dry run reported it)
        off = next(i["offset"] for i in dry.items if i["event_id"] == second[3].id)
        await env.bus.replay("rewind", from_offset=off)
        await wait_for(lambda: len(got) == 24, what="replay by offset")
        assert got[22:] == [8, 9]
        await sub.stop()

        with pytest.raises(NotFoundError):
            await env.bus.replay("nosuchgroup", from_offset=0)
        with pytest.raises(NotFoundError):
            await env.bus.replay("rewind", from_event_id="no-such-event")
        with pytest.raises(InputError):
            await env.bus.replay("rewind", from_offset=1, from_event_id=first[0].id)

    async def test_retention_by_size_and_age(self, env: Env) -> None:
        await env.bus.publish_many([ev(subject=f"k{i}", n=i) for i in range(10)])
        removed = await env.bus.apply_retention(max_events=4)
        assert removed == 6
        left = await env.bus.tail(">", limit=100)
        assert [e.data["n"] for _, e in left] == [6, 7, 8, 9]  # type: ignore[index]
        await asyncio.sleep(1.1)
        await env.bus.publish(ev(subject="fresh", n=99))
        removed = await env.bus.apply_retention(max_age=timedelta(seconds=1))
        assert removed == 4
        left = await env.bus.tail(">", limit=100)
        assert [e.data["n"] for _, e in left] == [99]  # type: ignore[index]

    async def test_envelope_rejected_at_publish(self, env: Env) -> None:
        with pytest.raises(EnvelopeError, match="type"):
            await env.bus.publish(
                CloudEvent.model_construct(**{**ev().model_dump(), "type": "OrderAccepted"})
            )
        with pytest.raises(EnvelopeError):
            await env.bus.publish_many([{"type": "order.accepted"}])  # type: ignore[list-item]
        with pytest.raises(EnvelopeError, match="JSON"):
            await env.bus.publish(
                CloudEvent.model_construct(**{**ev().model_dump(), "data": {"x": object()}})
            )
        with pytest.raises(InputError):
            env.bus.subscribe("Order.*", "g", _noop)
        with pytest.raises(InputError):
            env.bus.subscribe("order.>.x", "g", _noop)
        assert await env.bus.tail(">", limit=10) == []

    async def test_batch_handler(self, env: Env) -> None:
        batches: list[list[str]] = []

        async def hb(events: list[CloudEvent]) -> None:
            batches.append([e.id for e in events])

        events = [ev("inventory.availability.changed", subject=f"sku{i % 3}") for i in range(50)]
        await env.bus.publish_many(events)
        sub = env.bus.subscribe_batch("inventory.>", "coalesce", hb, batch=20)
        await wait_for(lambda: sum(map(len, batches)) == 50)
        assert max(map(len, batches)) > 1
        assert sorted(i for b in batches for i in b) == sorted(e.id for e in events)
        await sub.stop()

    async def test_idempotent_consumer_takes_effect_once(self, env: Env) -> None:
        with env.store.begin() as c:
            c.execute(sa.text("CREATE TABLE IF NOT EXISTS t_effects (event_id VARCHAR(64))"))
        ic = IdempotentConsumer(env.store.engine, group="effects")

        @ic.wrap
        async def effect(e: CloudEvent, conn: sa.Connection) -> None:
            conn.execute(sa.text("INSERT INTO t_effects (event_id) VALUES (:i)"), {"i": e.id})

        calls: list[str] = []

        async def h(e: CloudEvent) -> None:
            calls.append(e.id)
            await effect(e)

        sub = env.bus.subscribe("order.*", "effects", h)
        events = [ev(subject=f"k{i}") for i in range(5)]
        await env.bus.publish_many(events)
        await wait_for(lambda: len(calls) == 5)
        await env.bus.replay("effects", from_event_id=events[0].id)  # redeliver everything
        await wait_for(lambda: len(calls) == 10, what="redelivery")
        await sub.stop()
        with env.store.begin() as c:
            rows = sorted(r[0] for r in c.execute(sa.text("SELECT event_id FROM t_effects")))
        assert rows == sorted(e.id for e in events), (rows, calls)
        assert ic.skipped == 5
        assert await ic.seen(events[0].id)

    async def test_outbox_commits_with_the_business_write(self, env: Env) -> None:
        with env.store.begin() as c:
            c.execute(sa.text("CREATE TABLE IF NOT EXISTS t_orders (no VARCHAR(32))"))
        got: list[str] = []

        async def h(e: CloudEvent) -> None:
            got.append(e.id)

        sub = env.bus.subscribe("order.*", "outboxed", h)
        rolled = ev(subject="A-1")
        with pytest.raises(RuntimeError):
            with env.store.begin() as c:
                c.execute(sa.text("INSERT INTO t_orders (no) VALUES ('A-1')"))
                env.bus.outbox.add(c, [rolled])
                raise RuntimeError("business rule failed after the write")
        kept = ev(subject="A-2")
        with env.store.begin() as c:
            c.execute(sa.text("INSERT INTO t_orders (no) VALUES ('A-2')"))
            env.bus.outbox.add(c, [kept])
        await wait_for(lambda: kept.id in got, what="outboxed event")
        await asyncio.sleep(0.3)
        assert got == [kept.id]
        with env.store.begin() as c:
            assert [r[0] for r in c.execute(sa.text("SELECT no FROM t_orders"))] == ["A-2"]
        await sub.stop()

    async def test_stats_report_lag_and_latency(self, env: Env) -> None:
        release = asyncio.Event()
        done: list[str] = []

        async def slow(e: CloudEvent) -> None:
            await release.wait()
            done.append(e.id)

        await env.bus.publish_many([ev(subject=f"k{i}") for i in range(30)])
        sub = env.bus.subscribe("order.*", "laggy", slow, batch=10)
        await asyncio.sleep(0.5)
        st = await env.bus.stats()
        assert st.groups["laggy"].lag >= 20
        assert st.published == 30
        release.set()
        await wait_for(lambda: len(done) == 30)
        await asyncio.sleep(0.3)
        st = await env.bus.stats()
        assert st.groups["laggy"].acked == 30
        assert st.latency_ms["count"] == 30 and st.latency_ms["p99"] >= st.latency_ms["p50"] > 0
        d = st.to_dict()
        assert d["groups"]["laggy"]["acked"] == 30
        await sub.stop()


async def _noop(e: CloudEvent) -> None:
    return None
