"""The ERP as the flows call it: every method of the system's :class:`ErpSystem` passes through the ERP
guard (breaker, account-wide governor by tier, concurrency) and lookups through its TTL cache."""

from __future__ import annotations

from typing import Any

from retailconnect.canonical import Customer, CustomerContact, Money, Order, Refund, Return, Shipment
from retailconnect.connectors._kit import ErpItem, ErpPostResult, ErpSystem
from retailconnect.resilience import ErpGuard

__all__ = ["TIER_BATCH", "TIER_CAPTURE", "TIER_FULFILMENT", "GuardedErp"]

TIER_CAPTURE = 1  # order capture and payment
TIER_FULFILMENT = 2  # fulfilment and inventory
TIER_BATCH = 3  # reference data and batch sync


class GuardedErp:
    def __init__(self, erp: ErpSystem, guard: ErpGuard) -> None:
        self.inner = erp
        self.guard = guard
        self.system = erp.system

    async def lookup_customer(self, email: str, *, tier: int = TIER_CAPTURE) -> tuple[str | None, bool]:
        res = await self.guard.lookup(
            "customer", email.lower(), lambda: self.inner.lookup_customer(email), tier=tier
        )
        return res.value, res.stale

    async def upsert_customer(
        self, customer: Customer | CustomerContact, *, external_id: str
    ) -> ErpPostResult:
        result = await self.guard.call(
            "upsert_customer",
            TIER_CAPTURE,
            lambda: self.inner.upsert_customer(customer, external_id=external_id),
        )
        if customer.email:
            self.guard.cache.put(("customer", customer.email.lower()), result.internal_id)
        return result

    async def lookup_item(self, sku: str, *, tier: int = TIER_BATCH) -> tuple[ErpItem | None, bool]:
        res = await self.guard.lookup("item", sku, lambda: self.inner.lookup_item(sku), tier=tier)
        return res.value, res.stale

    async def lookup_price(
        self, sku: str, *, price_list: str | None = None, tier: int = TIER_BATCH
    ) -> tuple[Money | None, bool]:
        res = await self.guard.lookup(
            "price", (sku, price_list), lambda: self.inner.lookup_price(sku, price_list=price_list), tier=tier
        )
        return res.value, res.stale

    async def post_sales_order(self, order: Order, *, external_id: str, customer_id: str) -> ErpPostResult:
        return await self.guard.call(
            "post_sales_order",
            TIER_CAPTURE,
            lambda: self.inner.post_sales_order(order, external_id=external_id, customer_id=customer_id),
        )

    async def update_sales_order(self, order: Order, *, external_id: str) -> ErpPostResult:
        return await self.guard.call(
            "update_sales_order",
            TIER_CAPTURE,
            lambda: self.inner.update_sales_order(order, external_id=external_id),
        )

    async def cancel_sales_order(self, *, external_id: str) -> None:
        await self.guard.call(
            "cancel_sales_order", TIER_CAPTURE, lambda: self.inner.cancel_sales_order(external_id=external_id)
        )

    async def post_fulfillment(
        self, shipment: Shipment, *, order_external_id: str, external_id: str
    ) -> ErpPostResult:
        return await self.guard.call(
            "post_fulfillment",
            TIER_FULFILMENT,
            lambda: self.inner.post_fulfillment(
                shipment, order_external_id=order_external_id, external_id=external_id
            ),
        )

    async def post_payment(
        self, amount: Money, *, order_external_id: str, external_id: str, reference: str | None = None
    ) -> ErpPostResult:
        return await self.guard.call(
            "post_payment",
            TIER_CAPTURE,
            lambda: self.inner.post_payment(
                amount, order_external_id=order_external_id, external_id=external_id, reference=reference
            ),
        )

    async def post_return_authorization(
        self, ret: Return, *, order_external_id: str, external_id: str
    ) -> ErpPostResult:
        return await self.guard.call(
            "post_return_authorization",
            TIER_FULFILMENT,
            lambda: self.inner.post_return_authorization(
                ret, order_external_id=order_external_id, external_id=external_id
            ),
        )

    async def post_credit(self, refund: Refund, *, order_external_id: str, external_id: str) -> ErpPostResult:
        return await self.guard.call(
            "post_credit",
            TIER_FULFILMENT,
            lambda: self.inner.post_credit(
                refund, order_external_id=order_external_id, external_id=external_id
            ),
        )

    async def refresh_limits(self) -> int | None:
        """Ask the vendor for the account's concurrency limit (NetSuite tells it) and apply it."""
        try:
            limit = await self.inner.concurrency_limit()
        except Exception:
            return None
        if limit:
            self.guard.set_vendor_limits(concurrency=min(limit, self.guard.limits.concurrency) or limit)
        return limit

    def snapshot(self) -> dict[str, Any]:
        return self.guard.snapshot()

    async def aclose(self) -> None:
        await self.inner.aclose()
