"""Shared helpers for the flows' integration tests: orders, topologies, simulators over real HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from retailconnect.canonical import CustomerContact, Money, Order, OrderLine, OrderTotals
from retailconnect.config import Topology


def make_order(
    n: int | str,
    *,
    channel: str = "shopify",
    sku: str = "SKU-1",
    qty: int = 1,
    price: str = "10.00",
    email: str | None = None,
    updated_at: datetime | None = None,
    lines: list[tuple[str, int, str]] | None = None,
) -> Order:
    spec = lines or [(sku, qty, price)]
    cur = "USD"
    olines = []
    sub = Money.zero(cur)
    for i, (s, q, p) in enumerate(spec):
        unit = Money.of(p, cur)
        total = unit * q
        sub = sub + total
        olines.append(
            OrderLine(
                id=f"L{i}",
                sku=s,
                title=s,
                quantity=q,
                unit_price=unit,
                discount_total=Money.zero(cur),
                tax_total=Money.zero(cur),
                line_total=total,
            )
        )
    z = Money.zero(cur)
    now = datetime.now(UTC)
    return Order(
        number=f"#{n}",
        channel=channel,
        currency=cur,
        placed_at=now,
        updated_at=updated_at or now,
        customer=CustomerContact(email=email or f"c{n}@example.com", first_name="Ada", last_name="L"),
        lines=olines,
        totals=OrderTotals(subtotal=sub, discount_total=z, shipping_total=z, tax_total=z, grand_total=sub),
        external_refs={channel: str(n)},
    )


def topology(
    store_url: str,
    *,
    netsuite_url: str,
    wms_url: str | None = None,
    rps: float = 50.0,
    concurrency: int = 5,
    headroom: float = 0.9,
    failure_threshold: int = 5,
    reset_after_s: float = 2.0,
    cancellation: str = "cancel",
    dbos_url: str | None = None,
    routing: list[dict[str, Any]] | None = None,
) -> Topology:
    systems: dict[str, Any] = {
        "shopify": {"kind": "shopify", "mode": "simulator", "shop_domain": "acme.myshopify.com"},
        "netsuite": {
            "kind": "netsuite",
            "mode": "simulator",
            "account_id": "1234567",
            "base_url": netsuite_url,
        },
    }
    if wms_url:
        systems["wms"] = {"kind": "wms", "mode": "simulator", "base_url": wms_url,
                          "credentials": {}, "settings": {}}  # fmt: skip
    return Topology.model_validate(
        {
            "tenants": {"acme": {"name": "ACME"}},
            "systems": systems,
            "policies": {
                "erp": {
                    "netsuite": {
                        "concurrency": concurrency,
                        "rps": rps,
                        "headroom": headroom,
                        "circuit": {"failure_threshold": failure_threshold, "reset_after_s": reset_after_s},
                        "cancellation_after_post": cancellation,
                    }
                }
            },
            "exception_routing": routing
            or [
                {"code": "vendor_rejected", "system": "netsuite", "team": "finance-ops"},
                {"team": "integration"},
            ],
            "engines": {
                "store_url": store_url,
                "dbos_url": dbos_url,
                "bus": {"backend": "sqlite" if store_url.startswith("sqlite") else "postgres"},
            },
        }
    )


def sim_get(url: str, path: str) -> Any:
    return httpx.get(url + path, timeout=10).json()


def sim_post(url: str, path: str, body: Any = None) -> Any:
    r = httpx.post(url + path, json=body if body is not None else {}, timeout=10)
    return r.json() if r.content else None


def sales_orders(ns_url: str) -> list[dict[str, Any]]:
    data = sim_get(ns_url, "/_sim/state/sales_orders")
    return data if isinstance(data, list) else data.get("items", data.get("sales_orders", []))


async def wait_for(pred: Any, timeout: float = 30.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def money(v: str) -> Decimal:
    return Decimal(v)


def ns_eid(workflow_id: str) -> str:
    """The external id NetSuite holds for one of our ids (the connector makes it NetSuite-safe)."""
    try:
        from retailconnect.connectors.netsuite.client import safe_external_id
    except ImportError:  # pragma: no cover - older connector
        return workflow_id
    return safe_external_id(workflow_id)
