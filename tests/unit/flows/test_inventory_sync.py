"""Inventory sync over the real SQLite event backbone and store, pushing to the Shopify simulator over real
HTTP (loopback) with the Shopify connector: movements -> projection -> coalesced levels -> Shopify."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from retailconnect.bus import open_bus
from retailconnect.canonical import MovementKind, StockMovement
from retailconnect.connectors.shopify import ShopifyClient
from retailconnect.flows.inventory_sync import InventorySync, movement_event
from retailconnect.simulators.shopify import ShopifySimulator
from retailconnect.store import Store
from retailconnect.store.projections import AvailabilityProjection


@pytest.fixture
def shopify() -> Iterator[ShopifySimulator]:
    s = ShopifySimulator({"restore_rate": 100000, "maximum": 100000})
    s.start()
    s.state.seed(
        [
            {
                "title": "Tee",
                "variants": [{"sku": "SKU-1", "price": "10.00"}, {"sku": "SKU-2", "price": "12.00"}],
            }
        ]
    )
    yield s
    s.stop()


def _inventory(sim: ShopifySimulator) -> dict[str, object]:
    return httpx.get(sim.url + "/_sim/state/inventory", timeout=10).json()


async def wait_for(pred, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(pred):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_movements_reach_shopify_coalesced(sqlite_url: str, shopify: ShopifySimulator) -> None:
    store = Store.open(sqlite_url)
    bus = open_bus("sqlite", store=store)
    await bus.start()
    proj = AvailabilityProjection(store, safety_stock=0)
    chan = ShopifyClient(shopify.url, shopify.token)
    sync = InventorySync(bus, proj, {"shopify": chan}, location_map={"shopify": {"main": "Main Warehouse"}})
    await sync.start()
    try:
        mvs = [
            StockMovement(sku="SKU-1", location="main", kind=MovementKind.RECEIPT, quantity=1)
            for _ in range(50)
        ]
        mvs += [StockMovement(sku="SKU-2", location="main", kind=MovementKind.RECEIPT, quantity=5)]
        await bus.publish_many([movement_event(m, source="/wms/main", tenant="acme") for m in mvs])

        def landed() -> bool:
            levels = {
                lv["sku"]: lv["available"]
                for lv in _inventory(shopify)["levels"]  # type: ignore[union-attr]
                if lv["location"] == "Main Warehouse"
            }
            return levels.get("SKU-1") == 50 and levels.get("SKU-2") == 5

        await wait_for(landed)
        inv = _inventory(shopify)
        # 51 movements, but a burst for one SKU is coalesced: far fewer levels set than movements
        assert sync.pushed_levels < 51 and sync.push_calls == inv["set_calls"]
        assert sum(inv["batch_sizes"]) == sync.pushed_levels  # type: ignore[arg-type]
        assert sync.lag.count == sync.pushed_levels and (sync.lag.percentile(99) or 0) < 10
        # a redelivered movement does not count twice
        calls = inv["set_calls"]
        await bus.publish(movement_event(mvs[0], source="/wms/main"))
        await asyncio.sleep(0.5)
        view = proj.get("SKU-1")
        assert view is not None and view.on_hand == 50
        assert _inventory(shopify)["set_calls"] == calls  # nothing moved: nothing pushed
    finally:
        await sync.stop()
        await chan.aclose()
        await bus.close()
        store.close()
