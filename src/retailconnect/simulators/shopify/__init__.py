"""Shopify simulator: GraphQL Admin API subset (graphql-core), cost bucket, HMAC-signed webhooks with retries,
an order generator and fault injection. ``retailconnect sim shopify --port P`` runs it.

GraphQL: ``POST /admin/api/2025-01/graphql.json`` (header ``X-Shopify-Access-Token``), queries ``shop``,
``productVariants``, ``locations``, ``order``, ``orders``, ``fulfillmentOrder``; mutations
``inventorySetQuantities``, ``fulfillmentCreate``, ``refundCreate``, ``productVariantsBulkUpdate``, ``tagsAdd``,
``orderUpdate``, ``webhookSubscriptionCreate``; answers carry ``extensions.cost`` (requested cost checked
against the bucket before the query runs, actual cost charged: the difference is refunded, as Shopify does)
and THROTTLED errors in Shopify's shape.

Admin (not logged, not faulted):
  POST /_sim/catalog {"products": [{"title", "variants": [{"sku", "price", "inventory": {loc: qty}}]}], "locations": [..]}
  POST /_sim/orders/generate {"count", "seed", "emit": true, "paid": false, "full": false}
  POST /_sim/orders {"lines": [{"sku", "quantity", "price"?, "title"?, "discount"?}], "tax_rate"?, "taxes_included"?,
                     "shipping"?, "presentment_currency"?, "emit"?: true, "paid"?: false}   -> the order JSON
  GET  /_sim/orders/{id}                  the order as webhooks carry it
  POST /_sim/webhooks {"topic", "address"}; GET /_sim/webhooks -> subscriptions + deliveries (attempts, dropped...)
  POST /_sim/faults  FaultPlan JSON + drop_webhook_rate, duplicate_webhook_rate, reorder_webhooks, reorder_window_s
  GET  /_sim/requests -> {"summary": {count, max_in_flight, throttled, graphql_calls, max_rps}, "items": [...]}
  GET  /_sim/state/inventory -> {"levels": [{sku, location, location_id, available, updated_at, set_count}],
                                 "set_calls", "batch_sizes"}
  GET  /_sim/state/fulfillments -> {"fulfillments": [...], "tracking_by_order": {order_id: [numbers]}}
                                   (?tracking_only=1: tracking_by_order alone)
  GET  /_sim/state/refunds, GET /_sim/state/orders, POST /_sim/reset
"""

from __future__ import annotations

from typing import Any

from retailconnect.simulators._kit import RequestLog, ServerHandle, start_in_thread

from .app import Sim as Sim
from .app import create_app as create_app
from .state import ShopState as ShopState
from .webhooks_out import hmac_b64 as hmac_b64

__all__ = ["ShopState", "ShopifySimulator", "Sim", "create_app", "hmac_b64"]


class ShopifySimulator:
    """In-process handle: ``.app`` (ASGI), ``.sim`` (everything), ``.state``, ``.log``; ``.start()`` serves it
    on a loopback port in a thread and returns the ServerHandle (``.url``)."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = dict(settings or {})
        self.app = create_app(self.settings)
        self.sim: Sim = self.app.state.sim
        self.handle: ServerHandle | None = None

    @property
    def state(self) -> ShopState:
        return self.sim.state

    @property
    def log(self) -> RequestLog:
        return self.sim.log

    @property
    def token(self) -> str:
        return self.sim.token

    @property
    def url(self) -> str:
        if self.handle is None:
            raise RuntimeError("simulator not started")
        return self.handle.url

    def start(self, port: int | None = None) -> ServerHandle:
        self.handle = start_in_thread(self.app, port=port)
        return self.handle

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self.handle = None
