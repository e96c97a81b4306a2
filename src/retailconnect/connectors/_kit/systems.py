"""What flows may ask of each kind of system. Connectors implement these; flows only see them.

A flow never speaks a vendor's format: it passes canonical objects and external ids, and gets back
the vendor's internal ids (which it stores as bindings). Every side-effecting call takes an
``external_id`` (our idempotency key / the vendor's external-id field) so that a retried call after a
timeout cannot create a second record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from retailconnect.canonical import (
    Customer,
    CustomerContact,
    InventoryLevel,
    Money,
    Order,
    Refund,
    Return,
    Shipment,
)

__all__ = [
    "ChannelSystem",
    "ErpItem",
    "ErpPostResult",
    "ErpSystem",
    "WarehouseSystem",
]


@dataclass(frozen=True)
class ErpPostResult:
    internal_id: str
    created: bool  # False when the record already existed under that external id (an idempotent repeat)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ErpItem:
    sku: str
    internal_id: str
    title: str | None = None
    price: Money | None = None
    active: bool = True


@runtime_checkable
class ErpSystem(Protocol):
    """The ERP's system API as the flows see it (NetSuite now; D365, SAP, Oracle later)."""

    system: str

    async def lookup_customer(self, email: str) -> str | None: ...

    async def upsert_customer(
        self, customer: Customer | CustomerContact, *, external_id: str
    ) -> ErpPostResult: ...

    async def lookup_item(self, sku: str) -> ErpItem | None: ...

    async def lookup_price(self, sku: str, *, price_list: str | None = None) -> Money | None: ...

    async def post_sales_order(
        self, order: Order, *, external_id: str, customer_id: str
    ) -> ErpPostResult: ...

    async def update_sales_order(self, order: Order, *, external_id: str) -> ErpPostResult: ...

    async def cancel_sales_order(self, *, external_id: str) -> None: ...

    async def post_fulfillment(
        self, shipment: Shipment, *, order_external_id: str, external_id: str
    ) -> ErpPostResult: ...

    async def post_payment(
        self, amount: Money, *, order_external_id: str, external_id: str, reference: str | None = None
    ) -> ErpPostResult: ...

    async def post_return_authorization(
        self, ret: Return, *, order_external_id: str, external_id: str
    ) -> ErpPostResult: ...

    async def post_credit(self, refund: Refund, *, order_external_id: str, external_id: str) -> ErpPostResult:
        """A credit memo (refund.kind == credit_memo) or a cash refund (refund.kind == refund)."""
        ...

    async def concurrency_limit(self) -> int | None:
        """The account's current concurrency limit when the vendor tells it, else None."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ChannelSystem(Protocol):
    """A sales channel (Shopify, Adobe Commerce, a marketplace, POS) as the flows see it."""

    system: str

    async def set_inventory(self, levels: list[InventoryLevel]) -> int:
        """Push available quantities (batched by the connector); returns how many were applied."""
        ...

    async def post_fulfillment(self, shipment: Shipment, *, order_external_id: str) -> str: ...

    async def refund(self, refund: Refund, *, order_external_id: str) -> str: ...

    async def tag_order(self, order_external_id: str, tags: list[str], note: str | None = None) -> None: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class WarehouseSystem(Protocol):
    """A WMS / 3PL as the flows see it (the generic contract in docs/connectors/wms.md)."""

    system: str

    async def request_fulfillment(self, order: Order, *, external_id: str) -> str: ...

    async def cancel_fulfillment(self, *, external_id: str) -> None: ...

    async def expect_return(self, ret: Return, *, external_id: str) -> str: ...

    async def aclose(self) -> None: ...
