"""Legacy ERP (CSV drop) connector against its simulator over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from retailconnect.canonical import Money, Order
from retailconnect.connectors.legacy_erp import LegacyErpClient
from retailconnect.errors import AuthError
from retailconnect.simulators._kit import ServerHandle
from retailconnect.simulators.legacy_erp import LegacyErpSimulator


def make_order(n: int) -> Order:
    u = lambda a: Money.of(a, "USD")  # noqa: E731
    return Order(
        number=f"#{n}",
        channel="shopify",
        currency="USD",
        placed_at="2026-11-28T10:00:00Z",
        customer={"email": f"c{n}@example.com", "first_name": "C", "last_name": str(n)},
        lines=[
            {
                "sku": "TEE-1",
                "title": "Tee",
                "quantity": 2,
                "unit_price": u("10"),
                "discount_total": u("0"),
                "tax_total": u("1.60"),
                "line_total": u("20"),
            }
        ],
        totals={
            "subtotal": u("20"),
            "discount_total": u("0"),
            "shipping_total": u("0"),
            "tax_total": u("1.60"),
            "grand_total": u("21.60"),
        },
    )  # type: ignore[arg-type]


@pytest.fixture
def sim() -> Iterator[tuple[LegacyErpSimulator, ServerHandle]]:
    s = LegacyErpSimulator({"api_key": "k", "batch_interval_s": 0.1})
    h = s.start()
    yield s, h
    h.stop()


async def test_orders_are_batched_into_files_and_deduplicated(
    sim: tuple[LegacyErpSimulator, ServerHandle],
) -> None:
    _, h = sim
    client = LegacyErpClient(h.url, "k", batch_size=10, flush_interval_s=0.1)
    try:
        orders = [make_order(i) for i in range(25)]
        results = await asyncio.gather(
            *(
                client.post_sales_order(o, external_id=f"shopify-{i}", customer_id="x")
                for i, o in enumerate(orders)
            )
        )
        assert all(r.created for r in results)
        assert client.files_uploaded <= 4  # 25 orders in a handful of files, not 25 calls
        # a retried upload of the same external id is a duplicate on the ERP side, not a second order
        await client.post_sales_order(orders[0], external_id="shopify-0", customer_id="x")
        async with httpx.AsyncClient() as http:
            for _ in range(50):
                state = (await http.get(f"{h.url}/_sim/state/orders")).json()
                if state["pending_files"] == 0 and len(state["orders"]) == 25:
                    break
                await asyncio.sleep(0.05)
        assert len(state["orders"]) == 25
        assert sum(o["duplicates"] for o in state["orders"]) == 1
        acks = await client.acknowledgements()
        assert {a["status"] for a in acks} == {"created", "duplicate"}
        assert Decimal(state["orders"][0]["total"]) == Decimal("21.60")
    finally:
        await client.aclose()


async def test_bad_key_is_an_auth_error(sim: tuple[LegacyErpSimulator, ServerHandle]) -> None:
    _, h = sim
    client = LegacyErpClient(h.url, "wrong", batch_size=1)
    with pytest.raises(AuthError):
        await client.post_sales_order(make_order(1), external_id="x", customer_id="x")
    await client.aclose()
