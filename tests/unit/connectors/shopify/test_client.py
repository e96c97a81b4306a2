"""ShopifyClient against the simulator in-process (httpx.ASGITransport): errors, batching, lookups."""

from __future__ import annotations

import httpx
import pytest

from retailconnect.canonical import InventoryLevel, Money
from retailconnect.connectors._kit import ChannelSystem
from retailconnect.connectors.shopify import ShopifyClient
from retailconnect.errors import AuthError, VendorRejectedError
from retailconnect.simulators.shopify import ShopifySimulator


@pytest.fixture
def sim() -> ShopifySimulator:
    return ShopifySimulator({"restore_rate": 100000, "maximum": 100000})


def client(sim: ShopifySimulator, token: str | None = None) -> ShopifyClient:
    return ShopifyClient("http://shop.test", token or sim.token, transport=httpx.ASGITransport(app=sim.app))


def test_client_is_a_channel_system(sim: ShopifySimulator) -> None:
    assert isinstance(client(sim), ChannelSystem)


async def test_wrong_token_is_auth_error(sim: ShopifySimulator) -> None:
    c = client(sim, "shpat_wrong")
    with pytest.raises(AuthError):
        await c.tag_order("1", ["x"])


async def test_set_inventory_batches_at_250_and_reads_bucket(sim: ShopifySimulator) -> None:
    skus = [{"sku": f"SKU-{i:04d}", "price": "5.00"} for i in range(260)]
    sim.state.seed([{"title": "Bulk", "variants": skus}])
    levels = [
        InventoryLevel(sku=s["sku"], location=loc, on_hand=i % 7)
        for i, s in enumerate(skus)
        for loc in ("Main Warehouse", "Retail Store")
    ]
    c = client(sim)
    assert await c.set_inventory(levels) == 520
    report = sim.state.inventory_report()
    assert report["batch_sizes"] == [250, 250, 20]
    by = {(lv["sku"], lv["location"]): lv["available"] for lv in report["levels"]}
    assert by[("SKU-0013", "Retail Store")] == 13 % 7
    assert c.bucket.restore_rate == 100000  # learnt from throttleStatus, not configured
    item = next(i for i in sim.state.items.values() if i["sku"] == "SKU-0007")
    assert c.inventory_item_skus()[str(item["id"])] == "SKU-0007"


async def test_unknown_sku_applies_the_rest_then_says_which(sim: ShopifySimulator) -> None:
    c = client(sim)
    with pytest.raises(VendorRejectedError) as exc:
        await c.set_inventory([InventoryLevel(sku="TEE-BLK-M", location="Main Warehouse", on_hand=3),
                               InventoryLevel(sku="NOPE-1", location="Main Warehouse", on_hand=3)])  # fmt: skip
    assert exc.value.context["unknown_skus"] == ["NOPE-1"] and exc.value.context["applied"] == 1


async def test_unknown_location_is_rejected(sim: ShopifySimulator) -> None:
    with pytest.raises(VendorRejectedError):
        await client(sim).set_inventory([InventoryLevel(sku="TEE-BLK-M", location="Mars", on_hand=1)])


async def test_user_errors_become_vendor_rejected(sim: ShopifySimulator) -> None:
    with pytest.raises(VendorRejectedError) as exc:
        await client(sim).tag_order("999999", ["x"])
    assert exc.value.context["user_errors"][0]["message"] == "Resource does not exist"


async def test_update_variant_prices(sim: ShopifySimulator) -> None:
    n = await client(sim).update_variant_prices(
        {"TEE-BLK-M": Money.of("17.50", "USD"), "JKT-DNM-L": Money.of("80", "USD")}
    )
    assert n == 2
    prices = {v["sku"]: v["price"] for v in sim.state.variants.values()}
    assert prices["TEE-BLK-M"] == "17.50" and prices["JKT-DNM-L"] == "80.00"


async def test_tag_and_note(sim: ShopifySimulator) -> None:
    o = sim.state.generate_order(__import__("random").Random(3))
    await client(sim).tag_order(str(o["id"]), ["erp:posted", "priority"], note="SO-123")
    summary = sim.state.order_summary(sim.state.orders[o["id"]])
    assert summary["tags"] == ["erp:posted", "priority"] and summary["note"] == "SO-123"


async def test_unknown_graphql_field_is_rejected(sim: ShopifySimulator) -> None:
    with pytest.raises(VendorRejectedError):
        await client(sim).execute("{ shop { nonsense } }")
