"""NATS JetStream backend (nats-py).

- One stream per bus, ``<PREFIX>_EVENTS`` on subjects ``<prefix>.events.P<k>.<type>`` where
  ``k = partition_of(subject, id, N)`` (the SQL backends' function of the ordering key; ``N``,
  ``partitions``, 16 by default, is fixed per stream: it is recorded in the stream's description as
  ``partitions=N`` when the stream is created and read back from there afterwards). Every publish
  carries ``Nats-Msg-Id = event id``, so JetStream drops a second copy inside its duplicate window.
- Per group, one durable pull consumer per partition, ``<group>-P<k>``, filter
  ``<prefix>.events.P<k>.<pattern>`` (our type patterns are NATS subject wildcards), explicit acks.
- Per-key ordering across processes: a partition is consumed by one member of the group at a time,
  under a lease in the KV bucket ``<PREFIX>_LEASES`` (see ``nats_leases``: compare-and-set on the
  key's revision, renewed every ``lease_seconds / 3``, taken over once expired). Each member takes at
  most ``ceil(N / live members)`` partitions and gives back the rest (the highest numbered) after the
  events it read from them are finished and acked, so groups rebalance as processes come and go. Within
  a member, fetched events go through the shared dispatcher (one lane per ``subject``, lanes in
  parallel, each in order, retries in place with ``in_progress`` keep-alives, never a NAK). A member
  that takes over a partition whose consumer still has unacked messages (its previous owner died)
  recreates the durable from the ack floor, so those messages come again before anything later of the
  same key (at-least-once: some may be handled twice; see ``IdempotentConsumer``). As in the SQL
  backends, a member stalled for longer than ``lease_seconds`` (10 s) can lose its partitions while it
  is still handling their events; it stops fetching from them at its next lease round.
- Dead letters: their own stream ``<PREFIX>_DLQ`` on ``<prefix>.dlq.<group>``; the dead-letter id is
  its sequence there. ``replay_dead`` re-publishes the event with header ``Rc-Target-Group`` (other
  groups skip it) and deletes the dead letter.
- Replay: the group's durables are recreated with ``deliver_policy`` ``by_start_sequence`` /
  ``by_start_time`` (an event id is first looked up to its sequence).
- Retention: ``apply_retention`` purges the stream by age / count.
- Outbox: ``bus_outbox`` in the store's database and an ``OutboxRelay`` started with the bus.
- Streams from before partitioning (subjects ``<prefix>.events.<type>``, one durable ``<group>``): the
  stream is kept (its subjects cover the new ones) and marked ``partitions=N``; events already in it on
  the old subjects are not delivered to the partitioned consumers (a warning says how many there are),
  so drain the old groups with the old release before upgrading. The old durables are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
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
    partition_of,
)
from ..consumer import Delivery, Dispatcher, StreamDispatcher
from ..outbox import Outbox, OutboxRelay, TableOutbox
from .nats_leases import Lease, LeaseTable

__all__ = ["NatsBus"]

log = logging.getLogger(__name__)

TARGET = "Rc-Target-Group"
DEFAULT_PARTITIONS = 16
_PARTS_RX = re.compile(r"partitions=(\d+)")


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
        partitions: int = DEFAULT_PARTITIONS,
        lease_seconds: float = 10.0,
    ) -> None:
        super().__init__()
        if not prefix or not all(ch.isalnum() or ch in "_-" for ch in prefix):
            raise InputError(f"bad NATS prefix {prefix!r}: letters, digits, '_' or '-'")
        self.url = url
        self.prefix = prefix
        self.stream = f"{prefix}_EVENTS".upper().replace("-", "_")
        self.dlq_stream = f"{prefix}_DLQ".upper().replace("-", "_")
        self.lease_bucket = f"{prefix}_LEASES".upper().replace("-", "_")
        if partitions < 1:
            raise InputError(f"partitions must be at least 1, got {partitions}")
        self.partitions = partitions
        self.lease_seconds = lease_seconds
        self.kv: Any = None
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

    def subject_for(self, type_: str, part: int | str = "*") -> str:
        """The subject of events of ``type_`` (a type or a pattern) in partition ``part`` (or all)."""
        return f"{self.prefix}.events.P{part}.{type_}" if part != "*" else f"{self.prefix}.events.*.{type_}"

    def subject_of(self, type_: str, key: str | None, event_id: str) -> str:
        return self.subject_for(type_, partition_of(key, event_id, self.partitions))

    def durable(self, group: str, part: int) -> str:
        return f"{group}-P{part}"

    def _partitioned(self, subject: str) -> bool:
        tok = subject[len(self.prefix) + 8 :].split(".", 1)[0]
        return tok[:1] == "P" and tok[1:].isdigit()

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
            await self._ensure_events_stream()
            await self._ensure_stream(StreamConfig(name=self.dlq_stream, subjects=[f"{self.prefix}.dlq.>"]))
            await self._ensure_leases()
            if self._relay is not None:
                self._relay.start()

    async def _ensure_events_stream(self) -> None:
        """Create the events stream recording ``partitions=N``, or read N back from an existing one
        (a stream from before partitioning is marked with ours; see the module docstring)."""
        from nats.js.api import StreamConfig
        from nats.js.errors import NotFoundError as JsNotFound

        mark = f"partitions={self.partitions}"
        try:
            info = await self.js.stream_info(self.stream)
        except JsNotFound:
            with contextlib.suppress(Exception):  # created meanwhile by another process: read it below
                await self.js.add_stream(
                    StreamConfig(
                        name=self.stream,
                        subjects=[f"{self.prefix}.events.>"],
                        duplicate_window=self.duplicate_window,
                        description=f"retailconnect bus events; {mark}",
                    )
                )
            info = await self.js.stream_info(self.stream)
        desc = info.config.description or ""
        m = _PARTS_RX.search(desc)
        if m is not None:
            if int(m.group(1)) != self.partitions:
                log.info(
                    "NATS stream %s has %s partitions (configured %d): using the stream's",
                    self.stream,
                    m.group(1),
                    self.partitions,
                )
                self.partitions = int(m.group(1))
            return
        cfg = info.config
        cfg.description = f"{desc}; {mark}" if desc else f"retailconnect bus events; {mark}"
        await self.js.update_stream(cfg)
        if info.state.messages:
            log.warning(
                "NATS stream %s predates key partitioning: its %d event(s) on %s.events.<type> are not "
                "delivered to the partitioned consumer groups (drain the old groups before upgrading)",
                self.stream,
                info.state.messages,
                self.prefix,
            )

    async def _ensure_leases(self) -> None:
        from nats.js.api import KeyValueConfig
        from nats.js.errors import BucketNotFoundError
        from nats.js.errors import NotFoundError as JsNotFound

        try:
            self.kv = await self.js.key_value(self.lease_bucket)
        except (BucketNotFoundError, JsNotFound):
            self.kv = await self.js.create_key_value(
                KeyValueConfig(bucket=self.lease_bucket, history=1, ttl=max(300.0, 30 * self.lease_seconds))
            )

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
        for s in (self.stream, self.dlq_stream, f"KV_{self.lease_bucket}"):
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
            [
                (self.subject_of(e.type, e.subject, e.id), env.encode(), {"Nats-Msg-Id": e.id})
                for e, env in events
            ]
        )

    async def _publish_raw(self, envelopes: list[str]) -> None:
        msgs = []
        for env in envelopes:
            d = json.loads(env)
            subj = self.subject_of(d["type"], d.get("subject"), d["id"])
            msgs.append((subj, env.encode(), {"Nats-Msg-Id": d["id"]}))
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

    def _consumer_config(self, group: str, part: int, pattern: str, **start: Any) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig

        return ConsumerConfig(
            durable_name=self.durable(group, part),
            filter_subject=self.subject_for(pattern, part),
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
            info = await self.js.consumer_info(self.stream, self.durable(group, 0))
        except JsNotFound:
            raise NotFoundError(f"unknown consumer group {group!r}", context={"group": group}) from None
        filt: str = info.config.filter_subject or f"{self.prefix}.events.P0.>"
        return filt[len(f"{self.prefix}.events.P0.") :]

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
            if (tgt is not None and tgt != group) or not self._partitioned(m.subject):
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
            for k in range(self.partitions):
                await self._recreate(self._consumer_config(group, k, pattern, **start))
            for s in local:
                s.resume()
        return ReplayResult(group=group, dry_run=dry_run, count=count, from_offset=from_offset, items=items)

    async def _recreate(self, cfg: Any) -> None:
        """Delete and add a durable (a member of the group elsewhere may re-add it in between after
        its fetch failed: then delete and add again)."""
        from nats.js.errors import NotFoundError as JsNotFound

        for attempt in range(3):
            with contextlib.suppress(JsNotFound):
                await self.js.delete_consumer(self.stream, cfg.durable_name)
            try:
                await self.js.add_consumer(self.stream, cfg)
                return
            except Exception:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.1)

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
                        self.subject_of(d.event.type, d.event.subject, d.event.id),
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
            if (m.headers or {}).get(TARGET) is None and self._partitioned(m.subject):
                ev = decode_event(m.data)
                if rx.match(ev.type):
                    out.append((seq, ev))
        return out[:limit] if after is not None else out[-limit:]

    async def _backend_figures(self) -> tuple[dict[str, tuple[str | None, int]], int]:
        await self.start()
        lags: dict[str, tuple[str | None, int]] = {}
        for ci in await self.js.consumers_info(self.stream):
            name = ci.config.durable_name
            if not name:
                continue
            group, _, part = name.rpartition("-P")
            if not group or not part.isdigit():
                continue  # a durable from before partitioning
            pattern = (ci.config.filter_subject or "")[len(f"{self.prefix}.events.P{part}.") :]
            _, lag = lags.get(group, (pattern, 0))
            lags[group] = (pattern, lag + int(ci.num_pending or 0) + int(ci.num_ack_pending or 0))
        dead = int((await self.js.stream_info(self.dlq_stream)).state.messages)
        return lags, dead


class _Part:
    """One partition this member consumes: its fetch loop and what it read and has not acked yet."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.task: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()  # stop fetching (release, pause, lease lost)
        self.bound = asyncio.Event()
        self.fetching = False
        self.outstanding = 0  # deliveries handed to the dispatcher, not finished yet
        self.acks: list[Any] = []
        self.closed = False  # the fetch loop is over: acks go out at once

    @property
    def part(self) -> int:
        return self.lease.part


class NatsSubscription(Subscription):
    def __init__(
        self, bus: NatsBus, opts: SubscriptionOptions, handler: Callable[..., Awaitable[None]]
    ) -> None:
        self.bus = bus
        self.options = opts
        self.member = uuid.uuid4().hex[:16]
        self.stopping = asyncio.Event()
        self._paused = False
        common: dict[str, Any] = {
            "counters": bus.counters(opts.group),
            "latency": bus.latency,
            "on_failure": self._on_failure,
            "on_dead": self._on_dead,
            "stopping": self.stopping,
        }
        self.dispatcher = Dispatcher(opts, handler, **common)
        self.stream = StreamDispatcher(opts, handler, on_finished=self._finished, **common)
        self._batch_lock = asyncio.Lock()
        self.parts: dict[int, _Part] = {}
        self.releasing: set[int] = set()
        self.leases: LeaseTable | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Event()
        self._kick = asyncio.Event()
        self._warned_legacy = False

    def launch(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._keep_leases(), name=f"bus:nats-lease:{self.group}"),
            loop.create_task(self._keep_alive_loop(), name=f"bus:nats-keepalive:{self.group}"),
        ]

    async def wait_ready(self) -> None:
        await self._ready.wait()

    # ---------------------------------------------------------------- leases
    async def _keep_leases(self) -> None:
        bus = self.bus
        try:
            await bus.start()
            self.leases = LeaseTable(bus.kv, self.group, self.member, bus.partitions, bus.lease_seconds)
            await self._check_legacy()
            while not self.stopping.is_set():
                try:
                    await self._lease_round()
                except Exception as exc:
                    if self.stopping.is_set():
                        return
                    log.warning("NATS lease keeper %s: %r; retrying", self.group, exc)
                    self._ready.set()
                    await asyncio.sleep(1.0)
                    continue
                self._ready.set()
                self._kick.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), bus.lease_seconds / 3)
        except Exception:
            log.exception("NATS lease keeper for %s failed", self.group)
            raise
        finally:
            self._ready.set()

    async def _check_legacy(self) -> None:
        from nats.js.errors import NotFoundError as JsNotFound

        with contextlib.suppress(JsNotFound):
            info = await self.bus.js.consumer_info(self.bus.stream, self.group)
            log.warning(
                "NATS group %r has a durable from before key partitioning (%d event(s) not yet acked "
                "there); it is no longer consumed (delete it once drained)",
                self.group,
                int(info.num_pending or 0) + int(info.num_ack_pending or 0),
            )

    async def _lease_round(self) -> None:
        assert self.leases is not None
        lt = self.leases
        live, table = await lt.snapshot()
        now = time.time()
        share = math.ceil(lt.partitions / live)
        # renew what we hold; drop what another member took
        for k, p in list(self.parts.items()):
            cur = table[k]
            new = None
            if cur.owner == self.member and cur.revision == p.lease.revision:
                new = await lt.renew(cur)
            if new is None:
                log.warning("NATS group %s: lease on partition %d lost", self.group, k)
                await self._drop(k, wait=False)
                continue
            p.lease = new
        # give back what is over our share, once what we read from it is finished
        active = sorted(k for k in self.parts if k not in self.releasing)
        if len(active) > share:
            for k in active[share:]:
                self.releasing.add(k)
                self.parts[k].stop.set()
        for k in sorted(self.releasing):
            gone = self.parts.get(k)
            if gone is None:
                self.releasing.discard(k)
            elif gone.task is None or gone.task.done():
                await self._drop(k, wait=True)
                await lt.release(gone.lease)
        # take free or expired partitions up to our share
        want = share - sum(1 for k in self.parts if k not in self.releasing)
        for k in range(lt.partitions):
            if want <= 0:
                break
            if k in self.parts or not lt.claimable(table[k], now):
                continue
            got = await lt.claim(table[k])
            if got is None:
                continue
            want -= 1
            self.parts[k] = p = _Part(got)
            if not self._paused:
                self._start(p, takeover=True)
        if not self._paused:
            for p in self.parts.values():
                if p.task is None and p.part not in self.releasing:
                    self._start(p, takeover=False)
        # a new member's first claims: let it be ready with its partitions bound
        if not self._ready.is_set():
            unbound = [p.bound for p in self.parts.values() if p.task is not None and not p.bound.is_set()]
            if unbound:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.gather(*(b.wait() for b in unbound)), 5.0)

    def _start(self, p: _Part, *, takeover: bool) -> None:
        p.stop = asyncio.Event()
        p.closed = False
        p.task = asyncio.get_running_loop().create_task(
            self._consume(p, takeover), name=f"bus:nats:{self.group}:P{p.part}"
        )

    async def _drop(self, k: int, *, wait: bool) -> None:
        p = self.parts.pop(k, None)
        self.releasing.discard(k)
        if p is None:
            return
        p.stop.set()
        if wait and p.task is not None:
            await asyncio.gather(p.task, return_exceptions=True)

    # ---------------------------------------------------------------- consuming one partition
    async def _bind(self, p: _Part, takeover: bool) -> Any:
        from nats.js.api import DeliverPolicy
        from nats.js.errors import NotFoundError as JsNotFound

        bus = self.bus
        k = p.part
        durable = bus.durable(self.group, k)
        filt = bus.subject_for(self.options.pattern, k)
        try:
            info = await bus.js.consumer_info(bus.stream, durable)
            if info.config.filter_subject != filt:
                raise InputError(
                    f"group {self.group!r} already exists with filter {info.config.filter_subject!r}",
                    context={"group": self.group},
                )
            if takeover and info.num_ack_pending:
                # the previous owner died with messages in hand: deliver from the ack floor again,
                # so they come before anything later of the same key
                start = int(info.ack_floor.stream_seq or 0) + 1
                log.info(
                    "NATS group %s partition %d: %d unacked from a previous owner; redelivering from %d",
                    self.group,
                    k,
                    info.num_ack_pending,
                    start,
                )
                await bus._recreate(
                    bus._consumer_config(
                        self.group,
                        k,
                        self.options.pattern,
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                        opt_start_seq=start,
                    )
                )
        except JsNotFound:
            with contextlib.suppress(Exception):  # another member may add it at the same time
                await bus.js.add_consumer(
                    bus.stream, bus._consumer_config(self.group, k, self.options.pattern)
                )
        return await bus.js.pull_subscribe(filt, durable=durable, stream=bus.stream)

    async def _flush_acks(self, p: _Part) -> None:
        acks, p.acks = p.acks, []
        for m in acks:
            with contextlib.suppress(Exception):
                await m.ack()

    def _finished(self, d: Delivery) -> None:
        p, msg = d.token
        p.outstanding -= 1
        if p.closed:
            asyncio.get_running_loop().create_task(self._ack_late(msg))
        else:
            p.acks.append(msg)

    @staticmethod
    async def _ack_late(msg: Any) -> None:
        with contextlib.suppress(Exception):
            await msg.ack()

    async def _consume(self, p: _Part, takeover: bool) -> None:
        from nats.errors import TimeoutError as NatsTimeout

        bus = self.bus
        g = self.group
        batched = self.options.batch_handler
        psub: Any = None
        try:
            while psub is None:
                try:
                    psub = await self._bind(p, takeover)
                except InputError:
                    log.exception("NATS group %s partition %d cannot be bound", g, p.part)
                    return
                except Exception as exc:
                    if p.stop.is_set() or self.stopping.is_set():
                        return
                    log.warning("NATS bind of %s partition %d failed: %r; retrying", g, p.part, exc)
                    await asyncio.sleep(0.5)
            p.bound.set()
            while not p.stop.is_set() and not self.stopping.is_set():
                await self._flush_acks(p)
                if not self.stream.room.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stream.room.wait(), 0.05)
                    continue
                try:
                    p.fetching = True
                    msgs = await psub.fetch(
                        self.options.batch, timeout=0.5 if p.acks or p.outstanding else 1.0
                    )
                except (NatsTimeout, TimeoutError):
                    continue
                except Exception as exc:
                    if self.stopping.is_set() or p.stop.is_set():
                        return
                    log.warning("NATS fetch failed for %s partition %d: %r; rebinding", g, p.part, exc)
                    await asyncio.sleep(0.5)
                    with contextlib.suppress(Exception):
                        psub = await self._bind(p, False)
                    continue
                finally:
                    p.fetching = False
                deliveries = []
                for m in msgs:
                    tgt = (m.headers or {}).get(TARGET)
                    if tgt is not None and tgt != g:
                        p.acks.append(m)
                        continue
                    md = m.metadata
                    deliveries.append(
                        Delivery(
                            decode_event(m.data), md.sequence.stream, md.timestamp.timestamp(), 0, (p, m)
                        )
                    )
                if not deliveries:
                    continue
                p.outstanding += len(deliveries)
                if batched:
                    async with self._batch_lock:
                        done = await self.dispatcher.run(deliveries)
                    p.outstanding -= len(deliveries)
                    p.acks.extend(d.token[1] for d in done)
                else:
                    self.stream.submit(deliveries)
            # stopped: finish what was read from this partition (so whoever takes it next goes on
            # from there), unless the whole subscription stops (it drains the dispatcher itself)
            while p.outstanding > 0 and not self.stopping.is_set():
                await self._flush_acks(p)
                await asyncio.sleep(0.02)
        finally:
            await self._flush_acks(p)
            p.closed = True
            with contextlib.suppress(Exception):
                await bus.nc.flush(timeout=2)
            if psub is not None:
                with contextlib.suppress(Exception):
                    await psub.unsubscribe()

    # ---------------------------------------------------------------- keep-alives, failures
    async def _keep_alive_loop(self) -> None:
        """Tell JetStream that messages still queued behind their key are being worked on, so it
        does not redeliver them after ``ack_wait`` (which would break per-key order)."""
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.bus.ack_wait / 3)
            if self.stopping.is_set():
                return
            for lane in list(self.stream.lanes.values()):
                for d in list(lane):
                    if not d.done:
                        with contextlib.suppress(Exception):
                            await d.token[1].in_progress()

    async def _on_failure(self, d: Delivery, exc: BaseException, attempt: int) -> None:
        with contextlib.suppress(Exception):
            await d.token[1].in_progress()

    async def _on_dead(self, d: Delivery, err: str, tb: str, attempts: int, handler: str) -> None:
        await self.bus.dead_letter(self.group, d, err, tb, attempts, handler)

    # ---------------------------------------------------------------- pause (replay), stop
    async def pause(self) -> None:
        """Stop fetching on every partition and finish what was read (the leases are kept)."""
        self._paused = True
        tasks = []
        for p in self.parts.values():
            p.stop.set()
            if p.task is not None:
                tasks.append(p.task)
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10.0)
        for p in self.parts.values():
            p.task = None

    def resume(self) -> None:
        self._paused = False
        for p in self.parts.values():
            if p.task is None and p.part not in self.releasing:
                self._start(p, takeover=False)

    async def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._kick.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        parts = list(self.parts.values())
        for p in parts:
            p.stop.set()
            if p.task is not None and p.fetching:
                p.task.cancel()
        await asyncio.gather(*(p.task for p in parts if p.task is not None), return_exceptions=True)
        await self.stream.drain()
        for p in parts:
            await self._flush_acks(p)
        if self.bus.nc is not None:
            with contextlib.suppress(Exception):
                await self.bus.nc.flush(timeout=2)
        if self.leases is not None:
            for p in parts:
                with contextlib.suppress(Exception):
                    await self.leases.release(p.lease)
            with contextlib.suppress(Exception):
                await self.leases.leave()
        self.parts.clear()
        self.bus._forget(self)
