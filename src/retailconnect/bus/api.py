"""The event-bus interface every backend implements, and the value types it returns.

Type patterns use NATS subject syntax on the dotted CloudEvents ``type``: ``*`` matches exactly one
token, ``>`` (last token only) matches one or more trailing tokens. ``order.*`` matches
``order.accepted`` but not ``order.line.added``; ``inventory.>`` matches both ``inventory.movement``
and ``inventory.availability.changed``; ``>`` matches everything.

Delivery is at-least-once. A handler returns -> the event is acked; it raises -> it is retried with
exponential backoff and full jitter; after ``max_attempts`` it is dead-lettered with the last error,
a traceback summary, the attempt count and the handler's name. Events with the same ``subject`` (the
ordering key: a SKU, an order id) are handled one at a time in publish order within a group; different
keys run in parallel.
"""

from __future__ import annotations

import abc
import asyncio
import math
import random
import re
import traceback
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, from_json

from retailconnect.canonical.event import CloudEvent
from retailconnect.errors import BusError, EnvelopeError, InputError

if TYPE_CHECKING:
    from .outbox import Outbox

__all__ = [
    "BatchHandler",
    "BusStats",
    "DeadLetter",
    "EventBus",
    "GroupStats",
    "Handler",
    "HandlerTimeout",
    "ReplayResult",
    "Subscription",
    "SubscriptionOptions",
    "backoff_delay",
    "compile_pattern",
    "decode_event",
    "encode_event",
    "handler_name",
    "matches",
    "partition_of",
    "traceback_summary",
    "validate_and_encode",
    "validate_event",
    "validate_pattern",
]

Handler = Callable[[CloudEvent], Awaitable[None]]
BatchHandler = Callable[[list[CloudEvent]], Awaitable[None]]

PARTITIONS = 8
"""Ordering partitions per group (SQL backends): ``crc32(subject) % PARTITIONS``. One worker owns a
partition at a time (leased), so several processes share a group partition by partition."""

_TOKEN = re.compile(r"^[a-z0-9_]+$")


def validate_pattern(pattern: str) -> str:
    """Check a type pattern (see the module docstring); raise ``InputError`` if malformed."""
    if not pattern or not isinstance(pattern, str):
        raise InputError("type pattern must be a non-empty string", context={"pattern": pattern})
    tokens = pattern.split(".")
    for i, tok in enumerate(tokens):
        if tok == ">" and i == len(tokens) - 1:
            continue
        if tok == "*" or _TOKEN.match(tok):
            continue
        raise InputError(
            f"bad type pattern {pattern!r}: tokens are lowercase words, '*' (one token) or a final '>'",
            context={"pattern": pattern},
        )
    return pattern


def compile_pattern(pattern: str) -> re.Pattern[str]:
    validate_pattern(pattern)
    parts: list[str] = []
    for tok in pattern.split("."):
        if tok == "*":
            parts.append(r"[^.]+")
        elif tok == ">":
            parts.append(r".+")
        else:
            parts.append(re.escape(tok))
    return re.compile("^" + r"\.".join(parts) + "$")


def matches(pattern: str, type_: str) -> bool:
    return compile_pattern(pattern).match(type_) is not None


def partition_of(key: str | None, event_id: str, partitions: int = PARTITIONS) -> int:
    return zlib.crc32((key if key is not None else event_id).encode()) % partitions


def validate_event(event: CloudEvent | dict[str, Any]) -> CloudEvent:
    """Return a valid ``CloudEvent`` or raise ``EnvelopeError`` naming what is wrong."""
    return validate_and_encode(event)[0]


def validate_and_encode(event: CloudEvent | dict[str, Any]) -> tuple[CloudEvent, str]:
    """Validate an event and return it with its JSON envelope, in one serialise + parse round trip
    (instances built with ``model_construct`` or mutated around validation are caught here too)."""
    try:
        if isinstance(event, CloudEvent):
            problem = _instance_problem(event)
            if problem is not None:
                # Re-validate to report pydantic's own message; fall back to ours.
                CloudEvent.model_validate(event.model_dump())
                raise EnvelopeError(f"invalid event envelope: {problem}")
            return event, event.model_dump_json(exclude_none=True)
        if isinstance(event, dict):
            ev = CloudEvent.model_validate(event)
            return ev, ev.model_dump_json(exclude_none=True)
        raise EnvelopeError(f"expected a CloudEvent, got {type(event).__name__}")
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "event"
        raise EnvelopeError(
            f"invalid event envelope: {loc}: {first['msg']}",
            context={"errors": [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]},
        ) from exc
    except PydanticSerializationError as exc:
        raise EnvelopeError(f"invalid event envelope: data is not JSON-serialisable: {exc}") from exc


_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")  # as canonical/event.py


def _instance_problem(ev: CloudEvent) -> str | None:
    """Cheap re-check of an instance (construction already validated it; ``model_construct`` or a
    subclass may not have)."""
    if ev.specversion != "1.0":
        return "specversion must be '1.0'"
    for name in ("id", "source"):
        v = getattr(ev, name)
        if not isinstance(v, str) or not v.strip():
            return f"{name} must be a non-empty string"
    if not isinstance(ev.type, str) or not _EVENT_TYPE.match(ev.type):
        return f"type {ev.type!r} must look like '<aggregate>.<fact>' (lowercase, dotted)"
    if not isinstance(ev.time, datetime) or ev.time.tzinfo is None or ev.time.utcoffset() is None:
        return "time must be a timezone-aware datetime"
    for name in ("subject", "dataschema", "correlationid", "tenant"):
        v = getattr(ev, name)
        if v is not None and not isinstance(v, str):
            return f"{name} must be a string"
    if ev.data is not None and not isinstance(ev.data, dict | list):
        return "data must be an object, an array or null"
    return None


def encode_event(ev: CloudEvent) -> str:
    return ev.model_dump_json(exclude_none=True)


def decode_event(text: str | bytes) -> CloudEvent:
    """Rebuild an event read back from the log. Envelopes were validated at publish, so this skips
    re-validation (``model_construct``) and only parses the time."""
    d = from_json(text)  # pydantic-core's parser: about twice json.loads' speed here
    if not isinstance(d, dict) or not _FIELDS.issuperset(d) or "time" not in d:
        return CloudEvent.model_validate_json(text)
    d["time"] = datetime.fromisoformat(d["time"])
    # What ``model_construct`` does, without its per-field loop (it dominated consuming).
    fields_set = set(d)
    values = {**_DEFAULTS, **d}
    ev = CloudEvent.__new__(CloudEvent)
    object.__setattr__(ev, "__dict__", values)
    object.__setattr__(ev, "__pydantic_fields_set__", fields_set)
    object.__setattr__(ev, "__pydantic_extra__", None)
    object.__setattr__(ev, "__pydantic_private__", None)
    return ev


_FIELDS = frozenset(CloudEvent.model_fields)
_DEFAULTS = {
    name: f.default
    for name, f in CloudEvent.model_fields.items()
    if f.default_factory is None and not f.is_required()
}


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**(attempt-1)))."""
    return random.uniform(0, min(cap, base * (2 ** max(0, attempt - 1))))


def traceback_summary(exc: BaseException, limit: int = 6) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-limit)
    text = "".join(lines)
    return text[-4000:]


def handler_name(fn: Callable[..., Any]) -> str:
    inner = getattr(fn, "__wrapped__", fn)
    mod = getattr(inner, "__module__", None) or ""
    qual = getattr(inner, "__qualname__", None) or repr(inner)
    return f"{mod}.{qual}" if mod else qual


@dataclass(frozen=True, slots=True)
class SubscriptionOptions:
    pattern: str
    group: str
    max_attempts: int = 5
    backoff: tuple[float, float] = (0.05, 5.0)
    concurrency: int = 16
    batch: int = 256
    batch_handler: bool = False
    handler_timeout: float | None = None  # seconds; a call still running then counts as a failure

    def __post_init__(self) -> None:
        validate_pattern(self.pattern)
        if not self.group or not re.match(r"^[A-Za-z0-9_\-]+$", self.group):
            raise InputError(f"bad consumer group {self.group!r}: use letters, digits, '_' or '-'")
        if self.max_attempts < 1:
            raise InputError("max_attempts must be >= 1")
        if self.concurrency < 1 or self.batch < 1:
            raise InputError("concurrency and batch must be >= 1")
        if not (0 <= self.backoff[0] <= self.backoff[1]):
            raise InputError("backoff must be (base, max) with 0 <= base <= max")
        if self.handler_timeout is not None and not self.handler_timeout > 0:
            raise InputError("handler_timeout must be > 0 seconds (or None for no limit)")


class HandlerTimeout(TimeoutError):
    """A handler call outlived its subscription's ``handler_timeout``: it was cancelled and the
    delivery counts as a failed attempt (retried, then dead-lettered with this as the error)."""


@dataclass(slots=True)
class DeadLetter:
    id: str
    group: str
    event: CloudEvent
    handler: str
    attempts: int
    last_error: str
    traceback: str
    dead_at: datetime
    offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "event_id": self.event.id,
            "type": self.event.type,
            "subject": self.event.subject,
            "handler": self.handler,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "traceback": self.traceback,
            "dead_at": self.dead_at.isoformat(),
            "offset": self.offset,
            "event": self.event.to_json_dict(),
        }


@dataclass(slots=True)
class ReplayResult:
    """What a replay did (or, with ``dry_run``, would do): the events that are (re)delivered, to whom."""

    group: str
    dry_run: bool
    count: int
    from_offset: int | None = None
    items: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"offset", "event_id", "type", "subject", "group"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class GroupStats:
    group: str
    pattern: str | None = None
    lag: int = 0
    delivered: int = 0
    acked: int = 0
    retried: int = 0
    dead_lettered: int = 0
    in_flight: int = 0


@dataclass(slots=True)
class BusStats:
    """Plain figures for the metrics exporter. Counters are per process since ``start``; ``lag`` and
    ``dead_letters`` are read from the backend. Latency is publish-to-ack, milliseconds."""

    backend: str
    published: int = 0
    groups: dict[str, GroupStats] = field(default_factory=dict)
    dead_letters: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50, p90, p99, max, count

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LatencyRecorder:
    """A bounded reservoir of publish-to-ack latencies (seconds)."""

    def __init__(self, size: int = 20_000) -> None:
        self._buf: list[float] = []
        self._size = size
        self._i = 0
        self.count = 0

    def add(self, seconds: float) -> None:
        self.count += 1
        if len(self._buf) < self._size:
            self._buf.append(seconds)
        else:
            self._buf[self._i] = seconds
            self._i = (self._i + 1) % self._size

    def reset(self) -> None:
        self._buf.clear()
        self._i = 0
        self.count = 0

    def percentiles(self) -> dict[str, float]:
        if not self._buf:
            return {"count": 0}
        s = sorted(self._buf)

        def pct(p: float) -> float:
            return round(s[min(len(s) - 1, math.ceil(p * len(s)) - 1)] * 1000, 3)

        return {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0), "count": self.count}


class Subscription(abc.ABC):
    """A running subscription. ``await sub.stop()`` finishes the batch in hand and stops."""

    options: SubscriptionOptions

    @abc.abstractmethod
    async def stop(self) -> None: ...

    async def wait_ready(self) -> None:  # noqa: B027 - backends override
        """Return once the subscription is bound (consumer created / partitions claimed)."""

    @property
    def group(self) -> str:
        return self.options.group


class EventBus(abc.ABC):
    """The event backbone. Build one with ``retailconnect.bus.factory.open_bus``."""

    backend: str = "?"

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._counters: dict[str, GroupStats] = {}
        self._published = 0
        self.latency = LatencyRecorder()

    # -- lifecycle
    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect and prepare (idempotent). ``publish``/``subscribe`` call it when needed."""

    async def close(self) -> None:
        for sub in list(self._subs):
            await sub.stop()
        self._subs.clear()

    async def __aenter__(self) -> EventBus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- publishing
    async def publish(self, event: CloudEvent) -> None:
        await self.publish_many([event])

    async def publish_many(self, events: Iterable[CloudEvent]) -> None:
        """Validate every event first (``EnvelopeError`` and nothing published if one is bad), then
        publish them in order. An event id already published is dropped (de-duplication)."""
        pairs = [validate_and_encode(e) for e in events]
        if pairs:
            await self._publish(pairs)
            self._published += len(pairs)

    @abc.abstractmethod
    async def _publish(self, events: Sequence[tuple[CloudEvent, str]]) -> None:
        """Publish validated ``(event, envelope JSON)`` pairs."""

    @property
    @abc.abstractmethod
    def outbox(self) -> Outbox:
        """The transactional outbox for this bus: ``bus.outbox.add(conn, events)``."""

    # -- subscribing
    def subscribe(
        self,
        pattern: str,
        group: str,
        handler: Handler,
        *,
        max_attempts: int = 5,
        backoff: tuple[float, float] = (0.05, 5.0),
        concurrency: int = 16,
        batch: int = 256,
        handler_timeout: float | None = None,
    ) -> Subscription:
        """Deliver events whose type matches ``pattern`` to ``handler`` as consumer group ``group``.

        ``handler_timeout`` (seconds): a call still running then is cancelled and counts as a failed
        attempt (``HandlerTimeout``), so a hung handler is retried, then dead-lettered; only its own
        key waits meanwhile. It cannot interrupt a handler that blocks the event loop itself."""
        opts = SubscriptionOptions(
            pattern, group, max_attempts, backoff, concurrency, batch, False, handler_timeout
        )
        return self._track(self._subscribe(opts, handler))

    def subscribe_batch(
        self,
        pattern: str,
        group: str,
        handler: BatchHandler,
        *,
        max_attempts: int = 5,
        backoff: tuple[float, float] = (0.05, 5.0),
        batch: int = 256,
        handler_timeout: float | None = None,
    ) -> Subscription:
        """Like ``subscribe`` but the handler gets a list (up to ``batch`` events, publish order, keys
        mixed). A raise (or ``handler_timeout``) retries the whole list; after ``max_attempts`` each
        event is dead-lettered."""
        opts = SubscriptionOptions(pattern, group, max_attempts, backoff, 1, batch, True, handler_timeout)
        return self._track(self._subscribe(opts, handler))

    def _track(self, sub: Subscription) -> Subscription:
        self._subs.append(sub)
        self._counters.setdefault(sub.group, GroupStats(sub.group, sub.options.pattern))
        return sub

    def _forget(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @abc.abstractmethod
    def _subscribe(
        self, opts: SubscriptionOptions, handler: Callable[..., Awaitable[None]]
    ) -> Subscription: ...

    def counters(self, group: str) -> GroupStats:
        return self._counters.setdefault(group, GroupStats(group))

    # -- replay and dead letters
    @abc.abstractmethod
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
        """Rewind ``group`` so it receives again every matching event from the given point on.
        Exactly one of ``from_offset`` / ``from_time`` / ``from_event_id``. ``dry_run`` lists (up to
        ``limit``) what would be redelivered and to whom, changing nothing."""

    @abc.abstractmethod
    async def list_dead(self, group: str | None = None, limit: int = 100) -> list[DeadLetter]: ...

    @abc.abstractmethod
    async def get_dead(self, id: str) -> DeadLetter:
        """Raise ``NotFoundError`` if there is no such dead letter."""

    async def replay_dead(
        self, id: str | Literal["all"], *, group: str | None = None, dry_run: bool = False
    ) -> ReplayResult:
        """Redeliver one dead letter (or ``"all"``, optionally only ``group``'s) to the group it died
        in, and remove it from the dead-letter queue. ``group`` on a single id must match its group."""
        await self.start()
        if id == "all":
            dls = await self.list_dead(group, limit=1_000_000)
        else:
            dl = await self.get_dead(id)
            if group is not None and dl.group != group:
                raise InputError(f"dead letter {id} belongs to group {dl.group!r}, not {group!r}")
            dls = [dl]
        items = [
            {
                "dead_id": d.id,
                "event_id": d.event.id,
                "type": d.event.type,
                "subject": d.event.subject,
                "group": d.group,
            }
            for d in dls
        ]
        if not dry_run and dls:
            await self._redeliver_dead(dls)
        return ReplayResult(group=group or "*", dry_run=dry_run, count=len(dls), items=items)

    @abc.abstractmethod
    async def _redeliver_dead(self, dls: list[DeadLetter]) -> None:
        """Put each dead letter's event back for its group only, and delete the dead letter."""

    @abc.abstractmethod
    async def purge_dead(self, older_than: timedelta) -> int:
        """Delete dead letters older than ``older_than``; return how many."""

    async def apply_retention(
        self, *, max_age: timedelta | None = None, max_events: int | None = None
    ) -> int:
        """Drop log entries older than ``max_age`` and/or beyond the newest ``max_events``; return how many."""
        await self.start()
        if max_age is None and max_events is None:
            raise InputError("apply_retention needs max_age and/or max_events")
        if max_events is not None and max_events < 0:
            raise InputError("max_events must be >= 0")
        return await self._apply_retention(max_age, max_events)

    @abc.abstractmethod
    async def _apply_retention(self, max_age: timedelta | None, max_events: int | None) -> int: ...

    # -- observation
    @abc.abstractmethod
    async def tail(
        self, pattern: str = ">", *, limit: int = 50, after: int | None = None
    ) -> list[tuple[int, CloudEvent]]:
        """The latest ``limit`` matching events (or those after offset ``after``), oldest first, as
        ``(offset, event)``. Offsets are log offsets (SQL) or stream sequences (NATS)."""

    async def stats(self) -> BusStats:
        st = BusStats(backend=self.backend, published=self._published)
        for g, c in self._counters.items():
            st.groups[g] = GroupStats(**asdict(c))
        lags, st.dead_letters = await self._backend_figures()
        for g, (pattern, lag) in lags.items():
            gs = st.groups.setdefault(g, GroupStats(g))
            gs.pattern = gs.pattern or pattern
            gs.lag = lag
        st.latency_ms = self.latency.percentiles()
        return st

    @abc.abstractmethod
    async def _backend_figures(self) -> tuple[dict[str, tuple[str | None, int]], int]:
        """What only the backend knows: ``{group: (pattern, lag)}`` for every group it has, and the
        number of dead letters."""


def dead_letter_number(id: str) -> int:
    """Dead-letter ids are numbers on every backend (a row id, a DLQ stream sequence)."""
    try:
        return int(id)
    except ValueError:
        raise InputError(f"dead-letter id must be a number here, got {id!r}") from None


def one_start(from_offset: int | None, from_time: datetime | None, from_event_id: str | None) -> None:
    given = [x is not None for x in (from_offset, from_time, from_event_id)]
    if sum(given) != 1:
        raise InputError("replay needs exactly one of from_offset, from_time, from_event_id")
    if from_time is not None and (from_time.tzinfo is None or from_time.utcoffset() is None):
        raise InputError("from_time must be timezone-aware")
    if from_offset is not None and from_offset < 0:
        raise InputError("from_offset must be >= 0")


def epoch_to_dt(x: float) -> datetime:
    return datetime.fromtimestamp(x, UTC)


async def sleep_or(event: asyncio.Event, seconds: float) -> None:
    """Sleep up to ``seconds``, waking early when ``event`` is set (and clearing it)."""
    if not event.is_set():
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
    event.clear()


__all__ += [
    "PARTITIONS",
    "BusError",
    "LatencyRecorder",
    "dead_letter_number",
    "epoch_to_dt",
    "one_start",
    "sleep_or",
]
