"""A point-in-time view of the hub's moving parts, gathered from the bus, the ERP guards, the flows and
the exception queue. Metrics (on scrape), SLA rules and the dashboard all read the same snapshot, so they
cannot disagree. Sources are duck-typed: anything with the documented attributes or keys works."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["BreakerState", "ConsumerGroupState", "HubSnapshot", "PendingOrder", "as_breaker", "as_group"]


@dataclass(frozen=True)
class ConsumerGroupState:
    group: str
    lag: int = 0  # events published but not yet acknowledged by the group
    pending: int = 0  # delivered, not yet acknowledged
    dead_letters: int = 0
    attempts: int = 0
    ack_latency_p50_s: float | None = None
    ack_latency_p99_s: float | None = None


@dataclass(frozen=True)
class BreakerState:
    system: str
    state: str = "closed"  # closed | open | half_open
    opened_at: datetime | None = None
    queue_depth: int = 0
    current_rate: float = 0.0  # requests/s over the guard's window
    rate_limit: float | None = None

    def open_for_seconds(self, now: datetime) -> float:
        if self.state == "closed" or self.opened_at is None:
            return 0.0
        return max(0.0, (now - self.opened_at).total_seconds())


@dataclass(frozen=True)
class PendingOrder:
    key: str
    captured_at: datetime
    tier: str = "3"  # the order's SLA tier (1 fastest)
    channel: str | None = None


@dataclass
class HubSnapshot:
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    groups: list[ConsumerGroupState] = field(default_factory=list)
    streams: dict[str, int] = field(default_factory=dict)  # stream/topic -> events held (depth)
    breakers: list[BreakerState] = field(default_factory=list)
    flows: dict[str, int] = field(default_factory=dict)  # workflow status -> count
    exceptions_open: dict[str, int] = field(default_factory=dict)  # team -> open items
    pending_orders: list[PendingOrder] | None = None  # None: use the in-process tracker
    bus_latency_ms: dict[str, float] = field(default_factory=dict)  # publish-to-ack p50/p90/p99/max
    published: int = 0
    errors: list[str] = field(default_factory=list)  # sources that failed to answer

    @property
    def dead_letters(self) -> int:
        return sum(g.dead_letters for g in self.groups)

    @property
    def backlog(self) -> int:
        return sum(g.lag for g in self.groups)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def as_group(name: str, raw: Any) -> ConsumerGroupState:
    """Adapt a bus ``stats()`` entry (mapping or object) to a ConsumerGroupState."""
    if isinstance(raw, ConsumerGroupState):
        return raw

    def num(*names: str) -> int:
        for n in names:
            v = _get(raw, n)
            if v is not None:
                return int(v)
        return 0

    def flt(*names: str) -> float | None:
        for n in names:
            v = _get(raw, n)
            if v is not None:
                return float(v)
        return None

    return ConsumerGroupState(
        group=str(_get(raw, "group", None) or name),
        lag=num("lag", "consumer_lag", "backlog"),
        pending=num("pending", "in_flight", "unacked"),
        dead_letters=num("dead_letters", "dlq", "dead_lettered"),
        attempts=num("attempts", "retried", "redeliveries"),
        ack_latency_p50_s=flt("ack_latency_p50_s", "publish_to_ack_p50_s", "latency_p50"),
        ack_latency_p99_s=flt("ack_latency_p99_s", "publish_to_ack_p99_s", "latency_p99"),
    )


def as_breaker(system: str, raw: Any) -> BreakerState:
    """Adapt an ERP guard / circuit breaker state (mapping or object) to a BreakerState."""
    if isinstance(raw, BreakerState):
        return raw
    state = (
        _get(raw, "state", None)
        or _get(raw, "breaker", None)
        or _get(raw, "circuit", None)
        or _get(raw, "circuit_state", "closed")
    )
    state = str(getattr(state, "value", state)).lower().replace("-", "_")
    opened = _get(raw, "opened_at", None)
    if isinstance(opened, int | float):
        opened = datetime.fromtimestamp(opened, UTC)
    rate_limit = _get(raw, "rate_limit", None) or _get(raw, "limit_rate", None)
    return BreakerState(
        system=str(_get(raw, "system", None) or system),
        state=state,
        opened_at=opened,
        queue_depth=int(
            _get(raw, "queue_depth", None) or _get(raw, "queued", None) or _get(raw, "waiting", None) or 0
        ),
        current_rate=float(
            _get(raw, "current_rate", None) or _get(raw, "rate_rps", None) or _get(raw, "rate", None) or 0.0
        ),
        rate_limit=float(rate_limit) if rate_limit is not None else None,
    )
