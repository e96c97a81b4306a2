"""The delivery engine shared by every backend: per-key lanes, retries with backoff, dead-lettering.

A backend fetches a batch of deliveries (publish order) and hands it to ``Dispatcher.run``; events
are grouped by ordering key (``subject``; events without one are their own key); lanes run in
parallel up to the subscription's concurrency, each lane strictly in order. A failing event is
retried in place (its key waits, other keys go on); after ``max_attempts`` it is dead-lettered and the
lane moves on. ``run`` returns the deliveries that are finished (acked or dead-lettered); the backend
advances its cursor to the contiguous finished prefix (SQL) or acks each one (NATS).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from retailconnect.canonical.event import CloudEvent

from .api import (
    GroupStats,
    HandlerTimeout,
    LatencyRecorder,
    SubscriptionOptions,
    backoff_delay,
    handler_name,
    traceback_summary,
)

__all__ = ["Delivery", "Dispatcher", "StreamDispatcher"]


@dataclass(slots=True)
class Delivery:
    event: CloudEvent
    offset: int
    published_at: float  # epoch seconds
    attempts: int = 0  # attempts already made (persisted across restarts)
    token: Any = None  # backend handle (a NATS message)
    done: bool = False


FailureHook = Callable[[Delivery, BaseException, int], Awaitable[None]]
DeadHook = Callable[[Delivery, str, str, int, str], Awaitable[None]]
DoneHook = Callable[[Delivery], Awaitable[None]]


class Dispatcher:
    def __init__(
        self,
        opts: SubscriptionOptions,
        handler: Callable[..., Awaitable[None]],
        *,
        counters: GroupStats,
        latency: LatencyRecorder,
        on_failure: FailureHook,
        on_dead: DeadHook,
        on_done: DoneHook | None = None,
        stopping: asyncio.Event,
    ) -> None:
        self.opts = opts
        self.handler = handler
        self.name = handler_name(handler)
        self.counters = counters
        self.latency = latency
        self.on_failure = on_failure
        self.on_dead = on_dead
        self.on_done = on_done
        self.stopping = stopping
        self.sem = asyncio.Semaphore(opts.concurrency)
        self.timeout = opts.handler_timeout

    async def run(self, batch: list[Delivery]) -> list[Delivery]:
        if not batch:
            return []
        self.counters.in_flight += len(batch)
        try:
            if self.opts.batch_handler:
                await self._run_batch(batch)
            else:
                lanes: dict[str, list[Delivery]] = {}
                for d in batch:
                    key = d.event.subject if d.event.subject is not None else "\x00" + d.event.id
                    lanes.setdefault(key, []).append(d)
                lane_list = list(lanes.values())
                if len(lane_list) == 1:
                    await self._lane(lane_list[0])
                else:
                    it = iter(lane_list)
                    n = min(self.opts.concurrency, len(lane_list))
                    await asyncio.gather(*(self._worker(it) for _ in range(n)))
        finally:
            self.counters.in_flight -= len(batch)
        return [d for d in batch if d.done]

    async def _worker(self, it: Any) -> None:
        for lane in it:
            await self._lane(lane)

    async def _lane(self, lane: list[Delivery]) -> None:
        for d in lane:
            if self.stopping.is_set():
                return
            ok = await self._deliver_one(d)
            if not ok:
                return  # stopped while backing off: the rest of this key waits for the next run

    async def _deliver_one(self, d: Delivery, slot: asyncio.Semaphore | None = None) -> bool:
        """Deliver until acked or dead-lettered; False if stopped while backing off. ``slot``, if
        given, is held by the caller and released while this event backs off."""
        while True:
            attempt = d.attempts + 1
            self.counters.delivered += 1
            try:
                if self.timeout is None:
                    await self.handler(d.event)
                else:
                    await self._call_with_timeout(d.event)
            except Exception as exc:
                d.attempts = attempt
                if attempt >= self.opts.max_attempts:
                    await self._dead(d, exc)
                    return True
                self.counters.retried += 1
                await self.on_failure(d, exc, attempt)
                delay = backoff_delay(attempt, *self.opts.backoff)
                if slot is not None:
                    slot.release()
                try:
                    if await self._interrupted(delay):
                        return False
                finally:
                    if slot is not None:
                        await slot.acquire()
                continue
            await self._ack(d)
            return True

    async def _run_batch(self, batch: list[Delivery]) -> None:
        events = [d.event for d in batch]
        attempts = max(d.attempts for d in batch)
        while True:
            attempt = attempts + 1
            self.counters.delivered += len(batch)
            try:
                if self.timeout is None:
                    await self.handler(events)
                else:
                    await self._call_with_timeout(events)
            except Exception as exc:
                attempts = attempt
                for d in batch:
                    d.attempts = attempt
                if attempt >= self.opts.max_attempts:
                    for d in batch:
                        await self._dead(d, exc)
                    return
                self.counters.retried += len(batch)
                for d in batch:
                    await self.on_failure(d, exc, attempt)
                if await self._interrupted(backoff_delay(attempt, *self.opts.backoff)):
                    return
                continue
            for d in batch:
                await self._ack(d)
            return

    async def _call_with_timeout(self, arg: Any) -> None:
        assert self.timeout is not None
        cm = asyncio.timeout(self.timeout)
        try:
            async with cm:
                await self.handler(arg)
        except TimeoutError:
            if cm.expired():
                raise HandlerTimeout(
                    f"handler {self.name} did not finish within {self.timeout:g} s (cancelled)"
                ) from None
            raise  # the handler's own TimeoutError

    async def _interrupted(self, delay: float) -> bool:
        try:
            await asyncio.wait_for(self.stopping.wait(), delay)
            return True
        except TimeoutError:
            return False

    async def _ack(self, d: Delivery) -> None:
        d.done = True
        self.counters.acked += 1
        self.latency.add(max(0.0, time.time() - d.published_at))
        if self.on_done is not None:
            await self.on_done(d)

    async def _dead(self, d: Delivery, exc: BaseException) -> None:
        err = f"{type(exc).__name__}: {exc}"
        await self.on_dead(d, err, traceback_summary(exc), d.attempts, self.name)
        d.done = True
        self.counters.dead_lettered += 1
        if self.on_done is not None:
            await self.on_done(d)


class StreamDispatcher:
    """The pipelined variant: deliveries are submitted as they are read; each ordering key has a FIFO
    lane run by its own task (started when the key gets work, ended when its lane is empty), so a key
    that is backing off holds only its own later events while reading and other keys go on. At most
    ``concurrency`` handler calls run at once. ``on_finished`` is called for each acked or
    dead-lettered delivery."""

    def __init__(
        self,
        opts: SubscriptionOptions,
        handler: Callable[..., Awaitable[None]],
        *,
        counters: GroupStats,
        latency: LatencyRecorder,
        on_failure: FailureHook,
        on_dead: DeadHook,
        on_finished: Callable[[Delivery], None],
        stopping: asyncio.Event,
    ) -> None:
        self._one = Dispatcher(
            opts,
            handler,
            counters=counters,
            latency=latency,
            on_failure=on_failure,
            on_dead=on_dead,
            stopping=stopping,
        )
        self.opts = opts
        self.on_finished = on_finished
        self.stopping = stopping
        self.sem = asyncio.Semaphore(opts.concurrency)
        self.lanes: dict[str, list[Delivery]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.pending = 0
        self.room = asyncio.Event()
        self.room.set()

    @property
    def name(self) -> str:
        return self._one.name

    def submit(self, batch: list[Delivery]) -> None:
        loop = asyncio.get_running_loop()
        for d in batch:
            key = d.event.subject if d.event.subject is not None else "\x00" + d.event.id
            lane = self.lanes.get(key)
            self.pending += 1
            self._one.counters.in_flight += 1
            if lane is not None:
                lane.append(d)
                continue
            self.lanes[key] = [d]
            task = loop.create_task(self._run_lane(key))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        if self.pending >= self.opts.batch * 4:
            self.room.clear()

    async def _run_lane(self, key: str) -> None:
        # A lane holds one concurrency slot while it has work (not one acquire per event: with many
        # lanes that meant a future and a wake-up per event); it gives the slot back while an event
        # backs off, and every 64 events so that waiting lanes get their turn.
        lane = self.lanes[key]
        sem = self.sem
        i = 0
        run = 0
        await sem.acquire()
        try:
            while i < len(lane):
                if self.stopping.is_set():
                    return
                d = lane[i]
                ok = await self._one._deliver_one(d, sem)
                if not ok:
                    return
                i += 1
                self._finish(d)
                run += 1
                if run >= 64:
                    run = 0
                    if sem.locked():
                        sem.release()
                        await sem.acquire()
                if i >= 64 and i * 2 >= len(lane):  # trim what is done, keep order
                    del lane[:i]
                    i = 0
        finally:
            sem.release()
            left = len(lane) - i
            if left and self.stopping.is_set():
                self.pending -= left
                self._one.counters.in_flight -= left
            self.lanes.pop(key, None)

    def _finish(self, d: Delivery) -> None:
        self.pending -= 1
        self._one.counters.in_flight -= 1
        if self.pending < self.opts.batch * 2:
            self.room.set()
        self.on_finished(d)

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
