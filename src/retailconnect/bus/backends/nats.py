"""NATS JetStream backend (nats-py).

- One stream per bus, ``<PREFIX>_EVENTS`` on subjects ``<prefix>.events.<type>``; every publish carries
  ``Nats-Msg-Id = event id``, so JetStream drops a second copy inside its duplicate window (outbox relay
  re-sends, publisher retries after a server restart).
- One durable pull consumer per group, filter ``<prefix>.events.<pattern>`` (our type patterns are NATS
  subject wildcards, so the filter is the pattern), explicit acks.
- Per-key ordering: the subscription fetches a batch, runs it through the shared dispatcher (one lane per
  ``subject``, lanes in parallel, each lane in order, retries in place with ``in_progress`` keep-alives,
  never a NAK). What is guaranteed: per-key order within a group while ONE process consumes it (any
  number of keys in parallel there). Not guaranteed: two processes bound to the same durable each get
  whole batches, so one key's events can be handled in two places at once and out of order; binding a
  group that already has waiting pull requests from elsewhere logs a warning. For several processes on
  one group in key order, use the SQL backends (leased partitions), or give each process its own group.
  (Making it hold here would take key-partitioned subjects, ``<prefix>.events.<part>.<type>``, one
  durable per partition and a lease per partition, e.g. in a JetStream KV bucket; not built.)
  After a crash, unacked messages come back after ``ack_wait`` (30 s by default) in stream order.
- Dead letters: their own stream ``<PREFIX>_DLQ`` on ``<prefix>.dlq.<group>``; the dead-letter id is
  its sequence there. ``replay_dead`` re-publishes the event with header ``Rc-Target-Group`` (other
  groups skip it) and deletes the dead letter.
- Replay: the durable consumer is recreated with ``deliver_policy`` ``by_start_sequence`` /
  ``by_start_time`` (an event id is first looked up to its sequence).
- Retention: ``apply_retention`` sets the stream's ``max_age`` / ``max_msgs`` limits.
- Outbox: ``bus_outbox`` in the store's database and an ``OutboxRelay`` started with the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from retailconnect.canonical.event import CloudEvent
from retailconnect.errors import BusError, InputError, NotFoundError

from ..api import (
    DeadLetter,
    EventBus,
    ReplayResult,
    Subscription,
    SubscriptionOptions,
    compile_pattern,
    dead_letter_number,
    decode_event,
    encode_event,
    one_start,
)
from ..consumer import Delivery, Dispatcher, StreamDispatcher
from ..outbox import Outbox, OutboxRelay, TableOutbox

__all__ = ["NatsBus"]

log = logging.getLogger(__name__)

TARGET = "Rc-Target-Group"


class NatsBus(EventBus):
    backend = "nats"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "retailconnect",
        engine: Engine | None = None,
        duplicate_window: float = 600.0,
        ack_wait: float = 30.0,
        publish_timeout: float = 60.0,
        in_flight: int = 2000,
        ack_timeout: float = 5.0,
    ) -> None:
        super().__init__()
        if not prefix or not all(ch.isalnum() or ch in "_-" for ch in prefix):
            raise InputError(f"bad NATS prefix {prefix!r}: letters, digits, '_' or '-'")
        self.url = url
        self.prefix = prefix
        self.stream = f"{prefix}_EVENTS".upper().replace("-", "_")
        self.dlq_stream = f"{prefix}_DLQ".upper().replace("-", "_")
        self.engine = engine
        self.duplicate_window = duplicate_window
        self.ack_wait = ack_wait
        self.publish_timeout = publish_timeout
        self.in_flight = in_flight
        self.ack_timeout = ack_timeout
        self.nc: Any = None
        self.js: Any = None
        self._lock = asyncio.Lock()
        self._relay: OutboxRelay | None = None
        self._outbox: TableOutbox | None = None
        if engine is not None:
            self._relay = OutboxRelay(engine, self._publish_raw)
            self._outbox = TableOutbox(on_add=self._relay.wake.set)

    def subject_for(self, type_: str) -> str:
        return f"{self.prefix}.events.{type_}"

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        async with self._lock:
            if self.nc is not None:
                return
            import nats
            from nats.js.api import StreamConfig

            self.nc = await nats.connect(
                self.url,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                connect_timeout=2,
                name=f"retailconnect-bus-{self.prefix}",
            )
            self.js = self.nc.jetstream(publish_async_max_pending=self.in_flight)
            await self._ensure_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[f"{self.prefix}.events.>"],
                    duplicate_window=self.duplicate_window,
                )
            )
            await self._ensure_stream(StreamConfig(name=self.dlq_stream, subjects=[f"{self.prefix}.dlq.>"]))
            if self._relay is not None:
                self._relay.start()

    async def _ensure_stream(self, cfg: Any) -> None:
        from nats.js.errors import NotFoundError as JsNotFound

        try:
            await self.js.stream_info(cfg.name)
        except JsNotFound:
            await self.js.add_stream(cfg)

    async def close(self) -> None:
        await super().close()
        if self._relay is not None:
            await self._relay.stop()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()
            self.nc = None
            self.js = None

    async def delete_streams(self) -> None:
        """Remove this bus's streams (tests, teardown)."""
        await self.start()
        for s in (self.stream, self.dlq_stream):
            with contextlib.suppress(Exception):
                await self.js.delete_stream(s)

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            raise BusError("the NATS bus has no outbox: open it with the store (open_bus('nats', store=...))")
        return self._outbox

    @property
    def relay(self) -> OutboxRelay | None:
        return self._relay

    # ---------------------------------------------------------------- publish
    async def _publish(self, events: Sequence[tuple[CloudEvent, str]]) -> None:
        await self.start()
        await self._send(
            [(self.subject_for(e.type), env.encode(), {"Nats-Msg-Id": e.id}) for e, env in events]
        )

    async def _publish_raw(self, envelopes: list[str]) -> None:
        msgs = []
        for env in envelopes:
            d = json.loads(env)
            msgs.append((self.subject_for(d["type"]), env.encode(), {"Nats-Msg-Id": d["id"]}))
        await self._send(msgs)

    async def _send(self, msgs: list[tuple[str, bytes, dict[str, str]]]) -> None:
        """Publish with acks; retry what failed (server restart, timeouts) until ``publish_timeout``.
        Retries are safe: the Nats-Msg-Id makes JetStream drop copies it already stored."""
        deadline = time.monotonic() + self.publish_timeout
        pending = msgs
        delay = 0.05
        while pending:
            failed: list[tuple[str, bytes, dict[str, str]]] = []
            last: BaseException | None = None
            for i in range(0, len(pending), self.in_flight):
                chunk = pending[i : i + self.in_flight]
                futs: list[Any] = []
                for m in chunk:
                    try:
                        futs.append(await self.js.publish_async(m[0], m[1], headers=m[2]))
                    except Exception as exc:
                        futs.append(exc)
                live = [f for f in futs if not isinstance(f, BaseException)]
                if live:
                    _, not_done = await asyncio.wait(live, timeout=self.ack_timeout)
                    for f in not_done:
                        f.cancel()
                for m, f in zip(chunk, futs, strict=True):
                    if isinstance(f, BaseException):
                        failed.append(m)
                        last = f
                    elif f.cancelled():
                        failed.append(m)
                        last = TimeoutError("no publish ack")
                    elif f.exception() is not None:
                        failed.append(m)
                        last = f.exception()
            if not failed:
                return
            if time.monotonic() > deadline:
                raise BusError(
                    f"NATS publish failed for {len(failed)} event(s): {last!r}",
                    context={"failed": len(failed)},
                ) from last
            log.info("NATS publish: %d to retry (%r)", len(failed), last)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
            pending = failed

    # ---------------------------------------------------------------- subscribe
    def _subscribe(self, opts: SubscriptionOptions, handler: Callable[..., Awaitable[None]]) -> Subscription:
        sub = NatsSubscription(self, opts, handler)
        sub.launch()
        return sub

    def _consumer_config(self, group: str, pattern: str, **start: Any) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig

        return ConsumerConfig(
            durable_name=group,
            filter_subject=self.subject_for(pattern),
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_ack_pending=20_000,
            max_deliver=-1,
            description=f"pattern={pattern}",
            **start,
        )

    async def _group_pattern(self, group: str) -> str:
        from nats.js.errors import NotFoundError as JsNotFound

        try:
            info = await self.js.consumer_info(self.stream, group)
        except JsNotFound:
            raise NotFoundError(f"unknown consumer group {group!r}", context={"group": group}) from None
        filt: str = info.config.filter_subject or f"{self.prefix}.events.>"
        return filt[len(f"{self.prefix}.events.") :]

    # ---------------------------------------------------------------- replay
    async def _seq_of_event(self, event_id: str) -> int:
        async for seq, msg in self._scan(f"{self.prefix}.events.>", {}):
            if (msg.headers or {}).get("Nats-Msg-Id") == event_id:
                return int(seq)
        raise NotFoundError(f"no event {event_id!r} in the stream", context={"event_id": event_id})

    async def _scan(self, filter_subject: str, start: dict[str, Any], limit: int | None = None) -> Any:
        """Iterate ``(seq, msg)`` of the stream from ``start`` with an ephemeral consumer."""
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig

        cfg = ConsumerConfig(
            filter_subject=filter_subject, ack_policy=AckPolicy.NONE, inactive_threshold=30.0, **start
        )
        psub = await self.js.pull_subscribe(filter_subject, stream=self.stream, config=cfg)
        seen = 0
        try:
            while limit is None or seen < limit:
                try:
                    msgs = await psub.fetch(500, timeout=0.3)
                except (NatsTimeout, TimeoutError):
                    return
                for m in msgs:
                    seen += 1
                    yield m.metadata.sequence.stream, m
                if msgs and msgs[-1].metadata.num_pending == 0:
                    return
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def replay(
        self,
        group: str,
        *,
        from_offset: int | None = None,
        from_time: datetime | None = None,
        from_event_id: str | None = None,
        dry_run: bool = False,
        limit: int = 1000,
    ) -> ReplayResult:
        from nats.js.api import DeliverPolicy

        one_start(from_offset, from_time, from_event_id)
        await self.start()
        pattern = await self._group_pattern(group)
        if from_event_id is not None:
            from_offset = await self._seq_of_event(from_event_id)
        if from_offset is not None:
            start: dict[str, Any] = {
                "deliver_policy": DeliverPolicy.BY_START_SEQUENCE,
                "opt_start_seq": max(1, from_offset),
            }
        else:
            assert from_time is not None
            start = {
                "deliver_policy": DeliverPolicy.BY_START_TIME,
                "opt_start_time": from_time.astimezone(UTC),
            }
        items: list[dict[str, Any]] = []
        count = 0
        async for seq, m in self._scan(self.subject_for(pattern), start):
            tgt = (m.headers or {}).get(TARGET)
            if tgt is not None and tgt != group:
                continue
            count += 1
            if len(items) < limit:
                ev = json.loads(m.data)
                items.append(
                    {
                        "offset": seq,
                        "event_id": ev["id"],
                        "type": ev["type"],
                        "subject": ev.get("subject"),
                        "group": group,
                    }
                )
        if not dry_run:
            local = [s for s in self._subs if s.group == group and isinstance(s, NatsSubscription)]
            for s in local:
                await s.pause()
            await self.js.delete_consumer(self.stream, group)
            await self.js.add_consumer(self.stream, self._consumer_config(group, pattern, **start))
            for s in local:
                s.resume()
        return ReplayResult(group=group, dry_run=dry_run, count=count, from_offset=from_offset, items=items)

    # ---------------------------------------------------------------- dead letters
    def _dead_from_msg(self, seq: int, raw: Any) -> DeadLetter:
        d = json.loads(raw.data)
        return DeadLetter(
            id=str(seq),
            group=d["group"],
            event=CloudEvent.model_validate(d["event"]),
            handler=d["handler"],
            attempts=d["attempts"],
            last_error=d["last_error"],
            traceback=d["traceback"],
            dead_at=datetime.fromtimestamp(d["dead_at"], UTC),
            offset=d.get("offset"),
        )

    async def _dead_iter(self) -> Any:
        from nats.js.errors import NotFoundError as JsNotFound

        info = await self.js.stream_info(self.dlq_stream)
        seq = info.state.first_seq
        last = info.state.last_seq
        while seq and seq <= last:
            try:
                raw = await self.js.get_msg(
                    self.dlq_stream, seq=seq, next=True, subject=f"{self.prefix}.dlq.>"
                )
            except JsNotFound:
                return
            yield raw.seq, raw
            seq = raw.seq + 1

    async def list_dead(self, group: str | None = None, limit: int = 100) -> list[DeadLetter]:
        await self.start()
        out: list[DeadLetter] = []
        async for seq, raw in self._dead_iter():
            if group is None or raw.subject == f"{self.prefix}.dlq.{group}":
                out.append(self._dead_from_msg(seq, raw))
                if len(out) >= limit:
                    break
        return out

    async def get_dead(self, id: str) -> DeadLetter:
        from nats.js.errors import NotFoundError as JsNotFound

        await self.start()
        seq = dead_letter_number(id)
        try:
            raw = await self.js.get_msg(self.dlq_stream, seq=seq)
        except JsNotFound:
            raise NotFoundError(f"no dead letter {id!r}", context={"id": id}) from None
        return self._dead_from_msg(seq, raw)

    async def dead_letter(
        self, group: str, d: Delivery, err: str, tb: str, attempts: int, handler: str
    ) -> None:
        body = {
            "group": group,
            "event": d.event.to_json_dict(),
            "handler": handler,
            "attempts": attempts,
            "last_error": err[:4000],
            "traceback": tb,
            "dead_at": time.time(),
            "offset": d.offset,
        }
        await self._send(
            [
                (
                    f"{self.prefix}.dlq.{group}",
                    json.dumps(body).encode(),
                    {"Nats-Msg-Id": f"dead:{group}:{d.offset}:{d.event.id}"},
                )
            ]
        )

    async def _redeliver_dead(self, dls: list[DeadLetter]) -> None:
        for d in dls:
            await self._send(
                [
                    (
                        self.subject_for(d.event.type),
                        encode_event(d.event).encode(),
                        {"Nats-Msg-Id": f"dlq:{d.id}:{uuid.uuid4().hex}", TARGET: d.group},
                    )
                ]
            )
            await self.js.delete_msg(self.dlq_stream, int(d.id))

    async def purge_dead(self, older_than: timedelta) -> int:
        await self.start()
        cutoff = time.time() - older_than.total_seconds()
        doomed = [seq async for seq, raw in self._dead_iter() if json.loads(raw.data)["dead_at"] < cutoff]
        for seq in doomed:
            await self.js.delete_msg(self.dlq_stream, seq)
        return len(doomed)

    async def _apply_retention(self, max_age: timedelta | None, max_events: int | None) -> int:
        """Purge now (not a standing stream limit): messages older than ``max_age`` (everything before
        the first message at or after the cut-off, found with a ``by_start_time`` consumer) and all
        but the newest ``max_events`` (``purge`` with ``keep``)."""
        from nats.js.api import DeliverPolicy

        before = (await self.js.stream_info(self.stream)).state.messages
        if max_age is not None:
            cutoff = datetime.now(UTC) - max_age
            first: int | None = None
            async for seq, _m in self._scan(
                f"{self.prefix}.events.>",
                {"deliver_policy": DeliverPolicy.BY_START_TIME, "opt_start_time": cutoff},
                limit=1,
            ):
                first = int(seq)
                break
            if first is None:
                await self.js.purge_stream(self.stream)
            else:
                await self.js.purge_stream(self.stream, seq=first)
        if max_events is not None:
            if max_events:
                await self.js.purge_stream(self.stream, keep=max_events)
            else:
                await self.js.purge_stream(self.stream)
        after = (await self.js.stream_info(self.stream)).state.messages
        return int(before - after)

    # ---------------------------------------------------------------- observation
    async def tail(
        self, pattern: str = ">", *, limit: int = 50, after: int | None = None
    ) -> list[tuple[int, CloudEvent]]:
        from nats.js.api import DeliverPolicy

        await self.start()
        rx = compile_pattern(pattern)
        info = await self.js.stream_info(self.stream)
        if after is not None:
            start = max(after + 1, info.state.first_seq or 1)
        else:
            start = max(info.state.first_seq or 1, (info.state.last_seq or 0) - limit * 20 + 1)
        if info.state.messages == 0 or start > (info.state.last_seq or 0):
            return []
        out: list[tuple[int, CloudEvent]] = []
        async for seq, m in self._scan(
            self.subject_for(pattern),
            {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": start},
        ):
            if (m.headers or {}).get(TARGET) is None and rx.match(m.subject[len(self.prefix) + 8 :]):
                out.append((seq, decode_event(m.data)))
        return out[:limit] if after is not None else out[-limit:]

    async def _backend_figures(self) -> tuple[dict[str, tuple[str | None, int]], int]:
        await self.start()
        lags: dict[str, tuple[str | None, int]] = {}
        for ci in await self.js.consumers_info(self.stream):
            if not ci.config.durable_name:
                continue
            pattern = (ci.config.filter_subject or "")[len(self.prefix) + 8 :]
            lags[ci.name] = (pattern, int(ci.num_pending or 0) + int(ci.num_ack_pending or 0))
        dead = int((await self.js.stream_info(self.dlq_stream)).state.messages)
        return lags, dead


class NatsSubscription(Subscription):
    def __init__(
        self, bus: NatsBus, opts: SubscriptionOptions, handler: Callable[..., Awaitable[None]]
    ) -> None:
        self.bus = bus
        self.options = opts
        self.stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._resume = asyncio.Event()
        self._resume.set()
        common: dict[str, Any] = {
            "counters": bus.counters(opts.group),
            "latency": bus.latency,
            "on_failure": self._on_failure,
            "on_dead": self._on_dead,
            "stopping": self.stopping,
        }
        self.dispatcher = Dispatcher(opts, handler, **common)
        self.stream = StreamDispatcher(opts, handler, on_finished=self._finished, **common)
        self._acks: list[Any] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._fetching = False

    def launch(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"bus:nats:{self.group}")

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def _bind(self) -> Any:
        from nats.js.errors import NotFoundError as JsNotFound

        bus = self.bus
        try:
            info = await bus.js.consumer_info(bus.stream, self.group)
            if info.config.filter_subject != bus.subject_for(self.options.pattern):
                raise InputError(
                    f"group {self.group!r} already exists with filter {info.config.filter_subject!r}",
                    context={"group": self.group},
                )
            if info.num_waiting:
                log.warning(
                    "NATS group %r is already being consumed elsewhere (%d waiting pull requests): "
                    "events are shared between the processes, but per-key order holds only within one",
                    self.group,
                    info.num_waiting,
                )
        except JsNotFound:
            await bus.js.add_consumer(bus.stream, bus._consumer_config(self.group, self.options.pattern))
        return await bus.js.pull_subscribe(
            bus.subject_for(self.options.pattern), durable=self.group, stream=bus.stream
        )

    async def _flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        for m in acks:
            with contextlib.suppress(Exception):
                await m.ack()

    def _finished(self, d: Delivery) -> None:
        self._acks.append(d.token)

    async def _run(self) -> None:
        from nats.errors import TimeoutError as NatsTimeout

        bus = self.bus
        await bus.start()
        psub = await self._bind()
        self._ready.set()
        g = self.group
        batched = self.options.batch_handler
        keepalive_at = time.monotonic() + bus.ack_wait / 3
        try:
            while not self.stopping.is_set():
                await self._flush_acks()
                if time.monotonic() >= keepalive_at:
                    keepalive_at = time.monotonic() + bus.ack_wait / 3
                    await self._keep_alive()
                if not self._resume.is_set():
                    await self.stream.drain()
                    await self._flush_acks()
                    with contextlib.suppress(Exception):
                        await psub.unsubscribe()
                    self._idle.set()
                    await self._resume.wait()
                    self._idle.clear()
                    if self.stopping.is_set():
                        return
                    psub = await self._bind()
                if not self.stream.room.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stream.room.wait(), 0.05)
                    continue
                try:
                    self._fetching = True
                    msgs = await psub.fetch(
                        self.options.batch, timeout=0.5 if self._acks or self.stream.pending else 1.0
                    )
                except (NatsTimeout, TimeoutError):
                    continue
                except Exception as exc:
                    if self.stopping.is_set():
                        return
                    log.warning("NATS fetch failed for %s: %r; rebinding", g, exc)
                    await asyncio.sleep(0.5)
                    with contextlib.suppress(Exception):
                        psub = await self._bind()
                    continue
                finally:
                    self._fetching = False
                deliveries = []
                for m in msgs:
                    tgt = (m.headers or {}).get(TARGET)
                    if tgt is not None and tgt != g:
                        self._acks.append(m)
                        continue
                    md = m.metadata
                    deliveries.append(
                        Delivery(decode_event(m.data), md.sequence.stream, md.timestamp.timestamp(), 0, m)
                    )
                if batched:
                    for d in await self.dispatcher.run(deliveries):
                        self._acks.append(d.token)
                else:
                    self.stream.submit(deliveries)
        finally:
            await self.stream.drain()
            await self._flush_acks()
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def _keep_alive(self) -> None:
        """Tell JetStream that messages still queued behind their key are being worked on, so it
        does not redeliver them after ``ack_wait`` (which would break per-key order)."""
        for lane in list(self.stream.lanes.values()):
            for d in list(lane):
                if not d.done:
                    with contextlib.suppress(Exception):
                        await d.token.in_progress()

    async def _on_failure(self, d: Delivery, exc: BaseException, attempt: int) -> None:
        with contextlib.suppress(Exception):
            await d.token.in_progress()

    async def _on_dead(self, d: Delivery, err: str, tb: str, attempts: int, handler: str) -> None:
        await self.bus.dead_letter(self.group, d, err, tb, attempts, handler)

    async def pause(self) -> None:
        self._resume.clear()
        await asyncio.wait_for(self._idle.wait(), timeout=10.0)

    def resume(self) -> None:
        self._resume.set()

    async def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._resume.set()
        if self._task is not None:
            if self._fetching:
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._task is not None and self._task.cancelled():
            await self.stream.drain()
            await self._flush_acks()
        self.bus._forget(self)
