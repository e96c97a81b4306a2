"""The demo's hands and eyes: the simulators' admin endpoints (``/_sim/...``) and the hub's public HTTP API.

Every figure the demo prints is read here from what a simulator itself recorded (orders it generated,
records NetSuite holds, requests it logged, fulfilments and refunds Shopify received, shipments and
movements of the WMS), never from the hub's own account of itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["HubApi", "LegacyDriver", "NetSuiteDriver", "ShopifyDriver", "WmsDriver", "wait_until"]


async def wait_until(
    probe: Callable[[], Awaitable[bool]], timeout_s: float, interval_s: float = 0.5
) -> tuple[bool, float]:
    """Poll ``probe`` until it is true or ``timeout_s`` passes; return (ok, seconds waited)."""
    start = time.monotonic()
    while True:
        try:
            if await probe():
                return True, time.monotonic() - start
        except httpx.HTTPError:
            pass
        if time.monotonic() - start > timeout_s:
            return False, time.monotonic() - start
        await asyncio.sleep(interval_s)


@dataclass
class _Driver:
    http: httpx.AsyncClient
    url: str

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.http.get(f"{self.url}{path}", params=params or None)
        r.raise_for_status()
        return r.json()

    async def post(self, path: str, body: Any = None) -> Any:
        r = await self.http.post(f"{self.url}{path}", json=body if body is not None else {})
        r.raise_for_status()
        return r.json()


class ShopifyDriver(_Driver):
    async def generate(self, count: int, seed: int | None = None) -> list[dict[str, Any]]:
        """``count`` random storefront orders; each is delivered to the hub as a signed orders/create."""
        data = await self.post("/_sim/orders/generate", {"count": count, "seed": seed})
        return list(data["orders"])

    async def create_order(self, lines: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        return dict(await self.post("/_sim/orders", {"lines": lines, **kw}))

    async def seed_catalog(self, products: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(await self.post("/_sim/catalog", {"products": products}))

    async def orders(self) -> list[dict[str, Any]]:
        return list((await self.get("/_sim/state/orders"))["orders"])

    async def fulfillments(self, *, tracking_only: bool = False) -> dict[str, Any]:
        """Shopify's fulfilments and the tracking numbers by order id (``tracking_only``: just those,
        cheap enough to poll every second without disturbing the simulator)."""
        if tracking_only:
            return dict(await self.get("/_sim/state/fulfillments", tracking_only="1"))
        return dict(await self.get("/_sim/state/fulfillments"))

    async def refunds(self) -> list[dict[str, Any]]:
        return list((await self.get("/_sim/state/refunds"))["refunds"])

    async def inventory(self) -> dict[str, Any]:
        return dict(await self.get("/_sim/state/inventory"))

    async def webhooks(self) -> dict[str, Any]:
        return dict(await self.get("/_sim/webhooks"))

    async def subscribe(self, topic: str, address: str) -> None:
        await self.post("/_sim/webhooks", {"topic": topic, "address": address})


# what erp_ledger reads of a sales order: asking NetSuite's simulator for these alone keeps a poll cheap
# (the full view of 500 orders with their lines is a megabyte the simulator's loop spends a second on)
LEDGER_FIELDS = ("id", "externalId", "otherRefNum", "tranId", "created_count", "updated_count")


class NetSuiteDriver(_Driver):
    async def records(self, rtype: str, fields: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        if fields:
            return list(await self.get(f"/_sim/state/{rtype}", fields=",".join(fields)))
        return list(await self.get(f"/_sim/state/{rtype}"))

    async def sales_orders(self, *, full: bool = False) -> list[dict[str, Any]]:
        """Sales orders as NetSuite holds them: the ledger fields, or (``full``) every field and line."""
        return await self.records("salesOrder", None if full else LEDGER_FIELDS)

    async def requests(self, items: bool = False) -> dict[str, Any]:
        return dict(await self.get("/_sim/requests", **({"items": "1"} if items else {})))

    async def settings(self, **values: Any) -> dict[str, Any]:
        return dict(await self.post("/_sim/settings", values))

    async def add_items(self, items: list[dict[str, Any]]) -> None:
        await self.post("/_sim/items", items)

    async def faults(self, plan: dict[str, Any] | None) -> None:
        if plan is None:
            r = await self.http.delete(f"{self.url}/_sim/faults")
            r.raise_for_status()
        else:
            await self.post("/_sim/faults", plan)


class WmsDriver(_Driver):
    async def state(self, kind: str) -> Any:
        return await self.get(f"/_sim/state/{kind}")

    async def movement(self, sku: str, kind: str, quantity: int = 0, counted: int | None = None,
                       location: str | None = None) -> dict[str, Any]:  # fmt: skip
        body: dict[str, Any] = {"sku": sku, "kind": kind, "quantity": quantity}
        if counted is not None:
            body["counted"] = counted
        if location is not None:
            body["location"] = location
        return dict(await self.post("/_sim/movements", body))

    async def start_movements(self, rate_per_s: float, skus: list[str], duration_s: float,
                              kinds: list[str]) -> dict[str, Any]:  # fmt: skip
        body = {"rate_per_s": rate_per_s, "skus": skus, "duration_s": duration_s, "kinds": kinds}
        return dict(await self.post("/_sim/movements/start", body))

    async def inspect(self, return_id: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(await self.post(f"/_sim/returns/{return_id}/inspect", {"lines": lines}))

    async def settings(self, **values: Any) -> dict[str, Any]:
        return dict(await self.post("/_sim/settings", values))

    async def requests(self) -> dict[str, Any]:
        return dict(await self.get("/_sim/requests"))


class LegacyDriver(_Driver):
    async def orders(self) -> dict[str, Any]:
        return dict(await self.get("/_sim/state/orders"))


class HubApiError(Exception):
    """The hub answered a problem (RFC 9457); the message carries its detail."""


class HubApi(_Driver):
    """The hub's public API with an API key (``Authorization: Bearer``)."""

    def __init__(self, http: httpx.AsyncClient, url: str, key: str) -> None:
        super().__init__(http, url)
        self.headers = {"Authorization": f"Bearer {key}"}

    @staticmethod
    def _check(r: httpx.Response) -> Any:
        if r.status_code >= 400:
            try:
                problem = r.json()
                detail = problem.get("detail") or problem.get("title") or r.text
            except ValueError:
                detail = r.text
            raise HubApiError(f"{r.request.method} {r.request.url.path}: HTTP {r.status_code}: {detail}")
        return r.json()

    async def get(self, path: str, **params: Any) -> Any:
        return self._check(
            await self.http.get(f"{self.url}{path}", params=params or None, headers=self.headers)
        )

    async def post(self, path: str, body: Any = None) -> Any:
        return self._check(await self.http.post(f"{self.url}{path}", json=body or {}, headers=self.headers))

    async def exceptions(self, status: str | None = "open") -> list[dict[str, Any]]:
        params = {"status": status} if status else {}
        return list((await self.get("/v1/ops/exceptions", **params))["items"])

    async def resolve(self, exception_id: Any, action: str = "retry", note: str | None = None) -> Any:
        return await self.post(f"/v1/ops/exceptions/{exception_id}/resolve", {"action": action, "note": note})

    async def create_return(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(await self.post("/v1/returns", body))
