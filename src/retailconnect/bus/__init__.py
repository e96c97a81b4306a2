"""The event backbone: durable, replayable CloudEvents on SQLite, PostgreSQL or NATS JetStream.

    bus = open_bus("sqlite", store=store)
    await bus.publish(make_event("order.accepted", source="hub", subject=order_no, data=...))
    sub = bus.subscribe("order.*", "wms", handler)          # handler(event) -> None; raise to retry
    ...
    await sub.stop(); await bus.close()

See ``api.py`` for the contract (patterns, ordering, retries, dead letters, replay).
"""

from __future__ import annotations

from .api import (
    BatchHandler,
    BusStats,
    DeadLetter,
    EventBus,
    GroupStats,
    Handler,
    HandlerTimeout,
    ReplayResult,
    Subscription,
    matches,
    validate_event,
)
from .factory import bus_from_topology, open_bus
from .idempotent import IdempotentConsumer
from .outbox import Outbox, OutboxRelay

__all__ = [
    "BatchHandler",
    "BusStats",
    "DeadLetter",
    "EventBus",
    "GroupStats",
    "Handler",
    "HandlerTimeout",
    "IdempotentConsumer",
    "Outbox",
    "OutboxRelay",
    "ReplayResult",
    "Subscription",
    "bus_from_topology",
    "matches",
    "open_bus",
    "validate_event",
]
