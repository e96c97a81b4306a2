"""A connector's declaration: what it can do and the vendor limits it must respect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Capability(StrEnum):
    ORDERS_IN = "orders_in"  # the system sends us orders (a channel)
    ORDERS_OUT = "orders_out"  # we post orders to it (an ERP)
    CUSTOMERS_OUT = "customers_out"
    INVENTORY_IN = "inventory_in"  # it reports stock (WMS)
    INVENTORY_OUT = "inventory_out"  # we push availability to it (a channel)
    FULFILLMENT_IN = "fulfillment_in"  # it reports shipments (WMS)
    FULFILLMENT_OUT = "fulfillment_out"  # we tell it about shipments (channel tracking, ERP item fulfilment)
    FULFILLMENT_REQUEST_OUT = "fulfillment_request_out"  # we ask it to ship (WMS)
    PAYMENTS_OUT = "payments_out"
    RETURNS_IN = "returns_in"
    RETURNS_OUT = "returns_out"
    REFUNDS_OUT = "refunds_out"
    PRICES_OUT = "prices_out"
    CATALOG_IN = "catalog_in"
    CATALOG_OUT = "catalog_out"
    WEBHOOKS_IN = "webhooks_in"


@dataclass(frozen=True)
class RateLimitSpec:
    """Vendor limits from its documentation; overridable from the topology.

    kind: "leaky_bucket" (capacity + restore per second, e.g. Shopify GraphQL cost points),
    "concurrency" (simultaneous requests, e.g. NetSuite), or "rps" (requests per second).
    """

    kind: str
    capacity: float | None = None
    refill_per_s: float | None = None
    concurrency: int | None = None
    rps: float | None = None
    source: str = ""


@dataclass(frozen=True)
class ConnectorSpec:
    system: str
    title: str
    capabilities: frozenset[Capability]
    limits: RateLimitSpec | None = None
    webhook_verifier: Any = None
    client_factory: Callable[..., Any] | None = None
    mappers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    api_version: str | None = None
    docs: str = ""
