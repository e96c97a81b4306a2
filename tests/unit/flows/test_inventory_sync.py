"""Inventory sync over the real SQLite event backbone and store: movements -> projection -> channel."""

from __future__ import annotations

import asyncio
import time

from retailconnect.bus import open_bus
from retailconnect.canonical import InventoryLevel, MovementKind, Refund, Shipment, StockMovement
from retailconnect.flows.inventory_sync import InventorySync, movement_event
from retailconnect.store import Store
from retailconnect.store.projections import AvailabilityProjection


class RecordingChannel:
    """A ChannelSystem that records what it was asked to push (the Shopify contract test covers the wire)."""

    system = "recording"

    def __init__(self) -> None:
        self.calls: list[list[InventoryLevel]] = []

    async def set_inventory(self, levels: list[InventoryLevel]) -> int:
        self.calls.append(levels)
        return len(levels)

    async def post_fulfillment(self, shipment: Shipment, *, order_external_id: str) -> str:
        raise NotImplementedError

    async def refund(self, refund: Refund, *, order_external_id: str) -> str:
        raise NotImplementedError

    async def tag_order(self, order_external_id: str, tags: list[str], note: str | None = None) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


async def wait_for(pred, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_movements_reach_the_channel_coalesced(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    bus = open_bus("sqlite", store=store)
    await bus.start()
    proj = AvailabilityProjection(store, safety_stock=0)
    chan = RecordingChannel()
    sync = InventorySync(
        bus, proj, {"shop": chan}, location_map={"shop": {"main": "gid://shopify/Location/1"}}
    )
    await sync.start()
    try:
        mvs = [
            StockMovement(sku="SKU-1", location="main", kind=MovementKind.RECEIPT, quantity=1)
            for _ in range(50)
        ]
        mvs += [StockMovement(sku="SKU-2", location="main", kind=MovementKind.RECEIPT, quantity=5)]
        await bus.publish_many([movement_event(m, source="/wms/main", tenant="acme") for m in mvs])

        def final() -> dict[str, int]:
            seen: dict[str, int] = {}
            for call in chan.calls:
                for lvl in call:
                    seen[lvl.sku] = lvl.available or 0
            return seen

        await wait_for(lambda: final() == {"SKU-1": 50, "SKU-2": 5})
        pushed = sum(len(c) for c in chan.calls)
        assert pushed < 51, "bursts for one SKU are coalesced, not pushed one by one"
        assert all(lvl.location == "gid://shopify/Location/1" for c in chan.calls for lvl in c)
        assert sync.lag.count == pushed and (sync.lag.percentile(99) or 0) < 10
        # a redelivered movement does not count twice
        await bus.publish(movement_event(mvs[0], source="/wms/main"))
        await asyncio.sleep(0.5)
        view = proj.get("SKU-1")
        assert view is not None and view.on_hand == 50
    finally:
        await sync.stop()
        await bus.close()
        store.close()
