from __future__ import annotations

import asyncio
import time

from retailconnect.bus.api import GroupStats, LatencyRecorder, SubscriptionOptions
from retailconnect.bus.consumer import Delivery, Dispatcher, StreamDispatcher
from retailconnect.canonical.event import CloudEvent, make_event


def _d(n: int, key: str) -> Delivery:
    return Delivery(make_event("order.accepted", source="t", subject=key, data={"n": n}), n, time.time())


class Hooks:
    def __init__(self) -> None:
        self.failures: list[tuple[int, int]] = []
        self.dead: list[tuple[int, str, str, int, str]] = []
        self.finished: list[int] = []

    async def on_failure(self, d: Delivery, exc: BaseException, attempt: int) -> None:
        self.failures.append((d.offset, attempt))

    async def on_dead(self, d: Delivery, err: str, tb: str, attempts: int, handler: str) -> None:
        self.dead.append((d.offset, err, tb, attempts, handler))


async def test_dispatcher_keeps_key_order_and_dead_letters_after_max_attempts() -> None:
    hooks = Hooks()
    seen: list[tuple[str, int]] = []

    async def handler(e: CloudEvent) -> None:
        assert isinstance(e.data, dict) and e.subject
        if e.data["n"] == 2:
            raise RuntimeError("unknown SKU")
        seen.append((e.subject, e.data["n"]))

    opts = SubscriptionOptions("order.*", "g", max_attempts=3, backoff=(0.001, 0.002), concurrency=4)
    counters = GroupStats("g")
    disp = Dispatcher(
        opts,
        handler,
        counters=counters,
        latency=LatencyRecorder(),
        on_failure=hooks.on_failure,
        on_dead=hooks.on_dead,
        stopping=asyncio.Event(),
    )
    batch = [_d(i, "A" if i % 2 == 0 else "B") for i in range(8)]
    done = await disp.run(batch)
    assert len(done) == 8
    assert [n for k, n in seen if k == "A"] == [0, 4, 6]
    assert [n for k, n in seen if k == "B"] == [1, 3, 5, 7]
    assert hooks.failures == [(2, 1), (2, 2)]
    (off, err, tb, attempts, name) = hooks.dead[0]
    assert off == 2 and attempts == 3 and err == "RuntimeError: unknown SKU" and "unknown SKU" in tb
    assert name.endswith("handler")
    assert counters.acked == 7 and counters.dead_lettered == 1 and counters.retried == 2


async def test_stream_dispatcher_lets_other_keys_pass_a_backing_off_key() -> None:
    # "slow" keeps failing (and backing off) until every fast key is handled: if a backing-off key
    # held the others back, it would run out of attempts instead. No timing assumptions.
    hooks = Hooks()
    order: list[str] = []
    calls = 0
    fast_done = asyncio.Event()
    slow_calls_when_fast_done = 0

    async def handler(e: CloudEvent) -> None:
        nonlocal calls, slow_calls_when_fast_done
        assert e.subject
        if e.subject == "slow":
            calls += 1
            if not fast_done.is_set():
                raise TimeoutError("ERP timeout")
        order.append(e.subject)
        if sum(k.startswith("fast") for k in order) == 10 and not fast_done.is_set():
            slow_calls_when_fast_done = calls
            fast_done.set()

    opts = SubscriptionOptions("order.*", "g", max_attempts=1000, backoff=(0.001, 0.005), concurrency=4)
    finished: list[int] = []
    sd = StreamDispatcher(
        opts,
        handler,
        counters=GroupStats("g"),
        latency=LatencyRecorder(),
        on_failure=hooks.on_failure,
        on_dead=hooks.on_dead,
        on_finished=lambda d: finished.append(d.offset),
        stopping=asyncio.Event(),
    )
    sd.submit([_d(0, "slow"), _d(1, "slow")])
    sd.submit([_d(i, f"fast{i}") for i in range(2, 12)])
    await asyncio.wait_for(fast_done.wait(), 10)
    assert slow_calls_when_fast_done >= 1, "the slow key was tried (and failed) first"
    assert order.index("fast2") < (order.index("slow") if "slow" in order else len(order))
    await sd.drain()
    assert order[-2:] == ["slow", "slow"] and hooks.dead == []
    assert sorted(finished) == list(range(12))
    assert finished.index(0) < finished.index(1)
    assert sd.pending == 0
