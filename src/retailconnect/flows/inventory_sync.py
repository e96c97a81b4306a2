"""Inventory sync: WMS stock movements -> availability projection -> each channel's inventory.

Not a workflow per movement (too costly, see the architecture brief): movements travel on the event
backbone in batches. Two consumer groups:

- ``inventory-projection`` takes ``inventory.movement`` events in batches, applies each movement once to
  the availability projection and publishes ``inventory.availability.changed`` for every SKU/location
  whose level moved (subject = SKU, so one SKU's changes stay ordered).
- ``inventory-push-<channel>`` takes ``inventory.availability.changed`` in batches, coalesces them per
  SKU/location (only the latest level matters), and pushes the result to the channel in one call per
  batch; the connector splits it to the vendor's array limit and respects its rate limit.

The lag from the movement at the source (``occurred_at``) to the channel update is recorded per pushed
level.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from retailconnect.bus.api import EventBus, Subscription
from retailconnect.canonical import CloudEvent, InventoryLevel, StockMovement, make_event
from retailconnect.connectors._kit import ChannelSystem
from retailconnect.store.projections import AvailabilityProjection

__all__ = ["InventorySync", "LagRecorder"]

MOVEMENT = "inventory.movement"
CHANGED = "inventory.availability.changed"


class LagRecorder:
    """Bounded sample of source-to-channel lags (seconds)."""

    def __init__(self, size: int = 50_000) -> None:
        self.samples: deque[float] = deque(maxlen=size)
        self.count = 0

    def add(self, seconds: float) -> None:
        self.samples.append(max(0.0, seconds))
        self.count += 1

    def percentile(self, p: float) -> float | None:
        if not self.samples:
            return None
        data = sorted(self.samples)
        k = min(len(data) - 1, max(0, round(p / 100 * (len(data) - 1))))
        return data[k]


def movement_event(
    mv: StockMovement, *, source: str, tenant: str | None = None, correlationid: str | None = None
) -> CloudEvent:
    return make_event(
        MOVEMENT,
        source=source,
        subject=mv.sku,
        data=mv,
        tenant=tenant,
        correlationid=correlationid,
        dataschema="https://retailconnect.dev/schemas/stock_movement/1.0.0",
    )


class InventorySync:
    def __init__(
        self,
        bus: EventBus,
        projection: AvailabilityProjection,
        channels: dict[str, ChannelSystem],
        *,
        location_map: dict[str, dict[str, str]] | None = None,
        batch: int = 500,
        on_pushed: Callable[[str, list[InventoryLevel], list[float]], None] | None = None,
    ) -> None:
        self.bus = bus
        self.projection = projection
        self.channels = channels
        self.location_map = location_map or {}
        self.batch = batch
        self.on_pushed = on_pushed
        self.lag = LagRecorder()
        self.pushed_levels = 0
        self.push_calls = 0
        self._subs: list[Subscription] = []

    async def start(self) -> None:
        self._subs.append(
            self.bus.subscribe_batch(MOVEMENT, "inventory-projection", self._on_movements, batch=self.batch)
        )
        for name in self.channels:
            self._subs.append(
                self.bus.subscribe_batch(
                    CHANGED, f"inventory-push-{name}", self._pusher(name), batch=self.batch
                )
            )

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.stop()
        self._subs.clear()

    async def _on_movements(self, events: list[CloudEvent]) -> None:
        movements = [StockMovement.model_validate(e.data) for e in events]
        levels = await asyncio.to_thread(self.projection.apply_movements, movements)
        if not levels:
            return
        tenant = events[0].tenant
        corr = events[-1].correlationid
        out = []
        for lvl in levels:
            view = await asyncio.to_thread(self.projection.get, lvl.sku, lvl.location)
            data: dict[str, Any] = {
                "sku": lvl.sku,
                "location": lvl.location,
                "available": view.available if view else lvl.available,
                "on_hand": lvl.on_hand,
                "reserved": lvl.reserved,
                "safety_stock": lvl.safety_stock,
                "source_time": lvl.updated_at.isoformat(),
            }
            out.append(
                make_event(
                    CHANGED,
                    source="/retailconnect/inventory",
                    subject=lvl.sku,
                    data=data,
                    tenant=tenant,
                    correlationid=corr,
                )
            )
        await self.bus.publish_many(out)

    def _pusher(self, channel_name: str) -> Callable[[list[CloudEvent]], Any]:
        async def push(events: list[CloudEvent]) -> None:
            latest: dict[tuple[str, str], dict[str, Any]] = {}
            for e in events:  # publish order: a later event for the same key wins
                assert isinstance(e.data, dict)
                latest[(e.data["sku"], e.data["location"])] = e.data
            levels = []
            sources = []
            locmap = self.location_map.get(channel_name, {})
            for (sku, loc), d in latest.items():
                levels.append(
                    InventoryLevel(
                        sku=sku,
                        location=locmap.get(loc, loc),
                        on_hand=int(d["on_hand"]),
                        reserved=int(d["reserved"]),
                        safety_stock=int(d["safety_stock"]),
                        available=int(d["available"]),
                    )
                )
                sources.append(datetime.fromisoformat(d["source_time"]))
            await self.channels[channel_name].set_inventory(levels)
            now = datetime.now(UTC)
            lags = [(now - s).total_seconds() for s in sources]
            for lag in lags:
                self.lag.add(lag)
            self.pushed_levels += len(levels)
            self.push_calls += 1
            if self.on_pushed is not None:
                self.on_pushed(channel_name, levels, lags)

        push.__name__ = f"push_inventory_to_{channel_name}"
        return push

    def summary(self) -> dict[str, Any]:
        return {
            "pushed_levels": self.pushed_levels,
            "push_calls": self.push_calls,
            "lag_p50_s": self.lag.percentile(50),
            "lag_p99_s": self.lag.percentile(99),
            "at": time.time(),
        }
