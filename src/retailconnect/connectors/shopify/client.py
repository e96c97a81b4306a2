"""ShopifyClient: the GraphQL Admin API (``/admin/api/{version}/graphql.json``) as the flows need it.

Throttle: Shopify charges each query a cost against a leaky bucket (``extensions.cost.throttleStatus``:
maximumAvailable, currentlyAvailable, restoreRate). The client keeps its own copy of that bucket, initialised
from the first throttleStatus it sees (never a hard-coded restore rate), waits before a call when the bucket
lacks the expected cost, and still retries a THROTTLED answer, an HTTP 429 (Retry-After) and 5xx/transport
errors with jittered exponential backoff (tenacity).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from retailconnect.canonical import InventoryLevel, Money, Refund, Shipment
from retailconnect.connectors._kit import classify_response, map_transport_errors
from retailconnect.errors import RateLimitError, TransientError, VendorRejectedError

from .auth import ShopifyAccessToken
from .errors import graphql_error, user_errors
from .mappers.outbound import inventory_to_shopify, refund_marker, refund_to_shopify, tracking_to_shopify
from .pagination import CursorPager
from .wire import QueryCost, gid, legacy_id, rest_order_from_graphql

__all__ = ["CostBucket", "ShopifyClient"]

MAX_INPUT_ITEMS = 250  # Shopify caps array inputs at 250 items
FULFILLABLE = ("OPEN", "IN_PROGRESS", "SCHEDULED")  # fulfillment order statuses that accept a fulfillment


class CostBucket:
    """Client-side copy of Shopify's leaky bucket. Unknown until the first throttleStatus arrives."""

    def __init__(self) -> None:
        self.maximum: float | None = None
        self.available: float = 0.0
        self.restore_rate: float | None = None
        self._at = time.monotonic()
        self._reserved = 0.0
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        if self.restore_rate is not None and self.maximum is not None:
            self.available = min(self.maximum, self.available + (now - self._at) * self.restore_rate)
        self._at = now

    async def acquire(self, cost: float) -> float:
        """Wait until ``cost`` points are available and reserve them; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            while True:
                if self.restore_rate is None or self.maximum is None:
                    break  # nothing known yet: the first answer teaches us
                self._refill()
                need = min(cost, self.maximum)
                if self.available - self._reserved >= need:
                    break
                delay = (need - (self.available - self._reserved)) / self.restore_rate
                await asyncio.sleep(delay)
                waited += delay
            self._reserved += cost
        return waited

    def release(self, cost: float) -> None:
        self._reserved = max(0.0, self._reserved - cost)

    def update(self, cost: QueryCost) -> None:
        ts = cost.throttleStatus
        if ts is None:
            return
        self.maximum = ts.maximumAvailable
        self.restore_rate = ts.restoreRate
        self.available = ts.currentlyAvailable
        self._at = time.monotonic()


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    base = min(8.0, 0.1 * (2 ** (state.attempt_number - 1)))
    jitter = random.uniform(0, base)
    if isinstance(exc, TransientError) and exc.retry_after is not None:
        return float(exc.retry_after) + jitter * 0.1
    return jitter + base / 2


def _first_delay(exc: TransientError) -> float:
    if exc.retry_after is not None:
        return float(exc.retry_after) + random.uniform(0, 0.01)
    return random.uniform(0.05, 0.1)


class ShopifyClient:
    """Implements connectors._kit.ChannelSystem for Shopify."""

    system = "shopify"

    def __init__(
        self,
        shop_domain_or_base_url: str,
        access_token: str,
        *,
        api_version: str = "2025-01",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = httpx.Timeout(10.0, connect=3.0),
        max_attempts: int = 8,
        default_cost: float = 10.0,
    ) -> None:
        base = shop_domain_or_base_url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            base = f"https://{base}"
        self.api_version = api_version
        self.path = f"/admin/api/{api_version}/graphql.json"
        self._http = httpx.AsyncClient(
            base_url=base, auth=ShopifyAccessToken(access_token), transport=transport, timeout=timeout
        )
        self.bucket = CostBucket()
        self.max_attempts = max_attempts
        self.default_cost = default_cost
        self._op_cost: dict[str, float] = {}
        self.throttled_answers = 0  # THROTTLED GraphQL errors + HTTP 429 seen
        self.calls = 0
        self._inventory_items: dict[str, str] = {}  # sku -> InventoryItem GID
        self._variants: dict[str, tuple[str, str]] = {}  # sku -> (ProductVariant GID, Product GID)
        self._locations: dict[str, str] = {}  # name / id / gid -> Location GID

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ShopifyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- transport ---------------------------------------------------------------------------------
    async def _once(self, query: str, variables: Mapping[str, Any] | None, operation: str) -> dict[str, Any]:
        cost = self._op_cost.get(operation, self.default_cost)
        await self.bucket.acquire(cost)
        try:
            with map_transport_errors("shopify", operation):
                resp = await self._http.post(
                    self.path, json={"query": query, "variables": dict(variables or {})}
                )
        finally:
            self.bucket.release(cost)
        self.calls += 1
        err = classify_response(resp, system="shopify", operation=operation)
        if err is not None:
            if isinstance(err, RateLimitError):
                self.throttled_answers += 1
            raise err
        try:
            body = resp.json()
        except ValueError:
            raise TransientError(
                f"shopify {operation}: answer is not JSON", context={"status": resp.status_code}
            ) from None
        qc = QueryCost.model_validate(((body.get("extensions") or {}).get("cost")) or {})
        self.bucket.update(qc)
        if qc.requestedQueryCost is not None:
            self._op_cost[operation] = float(qc.requestedQueryCost)
        gerr = graphql_error(body, operation)
        if gerr is not None:
            if isinstance(gerr, RateLimitError):
                self.throttled_answers += 1
            raise gerr
        data = body.get("data")
        if not isinstance(data, dict):
            raise VendorRejectedError(
                f"shopify {operation}: no data in answer", context={"system": "shopify"}
            )
        return data

    async def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation: str = "graphql"
    ) -> dict[str, Any]:
        """Run one GraphQL document; retries throttling, 429 and transient failures; returns ``data``."""
        try:  # fast path: most calls succeed first time
            return await self._once(query, variables, operation)
        except TransientError as exc:
            if self.max_attempts <= 1:
                raise
            first = exc
        await asyncio.sleep(_first_delay(first))
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts - 1),
            wait=_wait,
            retry=retry_if_exception(lambda e: isinstance(e, TransientError)),
            reraise=True,
        ):
            with attempt:
                return await self._once(query, variables, operation)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- lookups -----------------------------------------------------------------------------------
    async def resolve_skus(self, skus: list[str]) -> dict[str, str]:
        """SKU -> InventoryItem GID (cached); unknown SKUs are absent from the answer."""
        missing = sorted({s for s in skus if s not in self._inventory_items})
        for i in range(0, len(missing), 50):
            chunk = missing[i : i + 50]
            q = " OR ".join(f'sku:"{s}"' for s in chunk)
            pager = CursorPager()
            while not pager.done:
                data = await self.execute(
                    _Q_VARIANTS,
                    {"q": q, "first": min(250, 2 * len(chunk)), "after": pager.after},
                    operation="productVariants",
                )
                conn = data["productVariants"]
                for edge in conn["edges"]:
                    n = edge["node"]
                    if n.get("sku"):
                        self._inventory_items[n["sku"]] = n["inventoryItem"]["id"]
                        self._variants[n["sku"]] = (n["id"], n["product"]["id"])
                pager.advance(conn)
        return {s: self._inventory_items[s] for s in skus if s in self._inventory_items}

    def inventory_item_skus(self) -> dict[str, str]:
        """{inventory item id (numeric, as inventory_levels/update carries it): SKU} for the SKUs resolved so far;
        pass it as ``MapContext(settings={"sku_by_inventory_item": ...})``."""
        return {legacy_id(g): sku for sku, g in self._inventory_items.items()}

    async def resolve_location(self, location: str) -> str:
        if location.startswith("gid://"):
            return location
        if location not in self._locations:
            data = await self.execute(_Q_LOCATIONS, operation="locations")
            for edge in data["locations"]["edges"]:
                n = edge["node"]
                self._locations[n["name"]] = n["id"]
                self._locations[legacy_id(n["id"])] = n["id"]
        if location not in self._locations:
            raise VendorRejectedError(
                f"shopify has no location {location!r}", context={"system": "shopify", "location": location}
            )
        return self._locations[location]

    # -- ChannelSystem -----------------------------------------------------------------------------
    async def set_inventory(self, levels: list[InventoryLevel]) -> int:
        """Set ``available`` per SKU per location (``inventorySetQuantities``, batches of <= 250)."""
        items = await self.resolve_skus([lv.sku for lv in levels])
        unknown = sorted({lv.sku for lv in levels if lv.sku not in items})
        known = [lv for lv in levels if lv.sku in items]
        locations = {
            loc: await self.resolve_location(loc) for loc in dict.fromkeys(lv.location for lv in known)
        }
        applied = 0
        for i in range(0, len(known), MAX_INPUT_ITEMS):
            batch = known[i : i + MAX_INPUT_ITEMS]
            data = await self.execute(
                _M_SET_QTY,
                {"input": inventory_to_shopify(batch, inventory_items=items, locations=locations)},
                operation="inventorySetQuantities",
            )
            user_errors(data["inventorySetQuantities"], "inventorySetQuantities")
            applied += len(batch)
        if unknown:
            raise VendorRejectedError(
                f"shopify has no variant with SKU(s) {', '.join(unknown)}; {applied} level(s) applied",
                context={"system": "shopify", "unknown_skus": unknown, "applied": applied},
            )
        return applied

    async def post_fulfillment(self, shipment: Shipment, *, order_external_id: str) -> str:
        """Fulfil the order's open fulfillment orders for the shipment's lines, with tracking; returns the
        Fulfillment GID. Idempotent by tracking number: when the order already has a fulfillment with the
        shipment's tracking number (a retried step after a timeout), that fulfillment's id is returned."""
        order = await self._fulfillment_context(order_external_id)
        if shipment.tracking_number:
            for f in order.get("fulfillments") or []:
                if any(t.get("number") == shipment.tracking_number for t in f.get("trackingInfo") or []):
                    return str(f["id"])
        # Match by the Shopify line item id when the shipment line carries it (lines without a SKU), else by SKU.
        by_line: dict[str, int] = {}
        by_sku: dict[str, int] = {}
        for ln in shipment.lines:
            if ln.order_line_id:
                key = legacy_id(ln.order_line_id)
                by_line[key] = by_line.get(key, 0) + ln.quantity
            else:
                by_sku[ln.sku] = by_sku.get(ln.sku, 0) + ln.quantity
        by_fo: list[dict[str, Any]] = []
        for fo in order["fulfillmentOrders"]:
            if fo["status"] not in FULFILLABLE:
                continue
            items = []
            for li in fo["lineItems"]:
                line = li.get("lineItem") or {}
                remaining = int(li["remainingQuantity"])
                lid = legacy_id(str(line.get("id") or ""))
                sku = line.get("sku") or ""
                pool, key = (by_line, lid) if by_line.get(lid) else (by_sku, sku)
                take = min(pool.get(key, 0), remaining)
                if take > 0:
                    items.append({"id": li["id"], "quantity": take})
                    pool[key] -= take
            if items:
                by_fo.append({"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": items})
        excess = {sku: q for sku, q in by_sku.items() if q > 0}
        excess.update({f"line {lid}": q for lid, q in by_line.items() if q > 0})
        if not by_fo or excess:
            raise VendorRejectedError(
                f"shopify order {order_external_id} has nothing (left) to fulfil for "
                f"{', '.join(f'{q} x {k}' for k, q in sorted(excess.items())) or 'this shipment'}",
                context={"system": "shopify", "order": order_external_id, "excess": excess},
            )
        tracking = tracking_to_shopify(shipment)
        data = await self.execute(
            _M_FULFILLMENT_CREATE,
            {
                "fulfillment": {
                    "lineItemsByFulfillmentOrder": by_fo,
                    "trackingInfo": tracking,
                    "notifyCustomer": True,
                }
            },
            operation="fulfillmentCreate",
        )
        user_errors(data["fulfillmentCreate"], "fulfillmentCreate", {"order": order_external_id})
        return str(data["fulfillmentCreate"]["fulfillment"]["id"])

    async def _fulfillment_context(self, order_external_id: str) -> dict[str, Any]:
        """The order's recent fulfillments (tracking numbers, for idempotency) and its fulfillment orders with
        every line item, following both cursors. Pages are sized for a typical order (Shopify charges a
        query's requested cost up front and refunds what the answer did not use, but the bucket must hold the
        requested cost before the query runs, so a page asks for what an order usually has, not Shopify's 250)."""
        oid = gid("Order", order_external_id)
        fos: list[dict[str, Any]] = []
        order: dict[str, Any] | None = None
        pager = CursorPager()
        while not pager.done:
            data = await self.execute(
                _Q_FULFILLMENT_ORDERS, {"id": oid, "after": pager.after}, operation="fulfillmentOrders"
            )
            page = data.get("order")
            if not page:
                raise VendorRejectedError(
                    f"shopify has no order {order_external_id}",
                    context={"system": "shopify", "order": order_external_id},
                )
            order = order or page
            conn = page["fulfillmentOrders"]
            for edge in conn["edges"]:
                node = edge["node"]
                if node["status"] in FULFILLABLE:
                    node["lineItems"] = await self._fo_lines(node)
                else:
                    node["lineItems"] = []
                fos.append(node)
            pager.advance(conn)
        assert order is not None
        return {**order, "fulfillmentOrders": fos}

    async def _fo_lines(self, fo: dict[str, Any]) -> list[dict[str, Any]]:
        conn = fo["lineItems"]
        lines = [e["node"] for e in conn["edges"]]
        pager = CursorPager()
        pager.advance(conn)
        while not pager.done:
            data = await self.execute(
                _Q_FULFILLMENT_ORDER_LINES,
                {"id": fo["id"], "after": pager.after},
                operation="fulfillmentOrderLines",
            )
            more = (data.get("fulfillmentOrder") or {}).get("lineItems") or {"edges": [], "pageInfo": {}}
            lines += [e["node"] for e in more["edges"]]
            pager.advance(more)
        return lines

    async def refund(self, refund: Refund, *, order_external_id: str) -> str:
        """``refundCreate``: lines by Shopify line item id (``RefundLine.order_line_id``), shipping, and a REFUND
        transaction of ``refund.total`` against the order's successful sale/capture; returns the Refund GID.
        Idempotent: the note carries ``[retailconnect:<refund.id>]`` and a refund already bearing it is returned
        instead of refunding twice (API 2025-01 has no idempotency key on refundCreate)."""
        oid = gid("Order", order_external_id)
        marker = refund_marker(refund)
        found = await self.execute(_Q_REFUND_CONTEXT, {"id": oid}, operation="orderRefundContext")
        order = found.get("order")
        if not order:
            raise VendorRejectedError(
                f"shopify has no order {order_external_id}",
                context={"system": "shopify", "order": order_external_id},
            )
        for existing in order.get("refunds") or []:
            if marker in str(existing.get("note") or ""):
                return str(existing["id"])  # a retried step: the refund already exists
        parent = None
        if not refund.total.is_zero():
            # Money only moves with a refund transaction against the order's sale/capture.
            txns = order.get("transactions") or []
            parent = next(
                (t for t in txns if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS"), None
            )
            if parent is None:
                raise VendorRejectedError(
                    f"shopify order {order_external_id} has no successful sale or capture to refund",
                    context={"system": "shopify", "order": order_external_id},
                )
        inp = refund_to_shopify(refund, order_id=oid, parent=parent)
        data = await self.execute(_M_REFUND_CREATE, {"input": inp}, operation="refundCreate")
        user_errors(data["refundCreate"], "refundCreate", {"order": order_external_id})
        return str(data["refundCreate"]["refund"]["id"])

    async def tag_order(self, order_external_id: str, tags: list[str], note: str | None = None) -> None:
        oid = gid("Order", order_external_id)
        if tags:
            data = await self.execute(_M_TAGS_ADD, {"id": oid, "tags": tags}, operation="tagsAdd")
            user_errors(data["tagsAdd"], "tagsAdd", {"order": order_external_id})
        if note is not None:
            data = await self.execute(
                _M_ORDER_UPDATE, {"input": {"id": oid, "note": note}}, operation="orderUpdate"
            )
            user_errors(data["orderUpdate"], "orderUpdate", {"order": order_external_id})

    async def update_variant_prices(
        self, prices: Mapping[str, Money], compare_at: Mapping[str, Money] | None = None
    ) -> int:
        """Set variant prices by SKU (``productVariantsBulkUpdate``, one call per product); returns the count."""
        await self.resolve_skus(list(prices))
        unknown = sorted(s for s in prices if s not in self._variants)
        if unknown:
            raise VendorRejectedError(
                f"shopify has no variant with SKU(s) {', '.join(unknown)}",
                context={"system": "shopify", "unknown_skus": unknown},
            )
        by_product: dict[str, list[dict[str, Any]]] = {}
        for sku, price in prices.items():
            vid, pid = self._variants[sku]
            v: dict[str, Any] = {"id": vid, "price": format(price.amount, "f")}
            if compare_at and sku in compare_at:
                v["compareAtPrice"] = format(compare_at[sku].amount, "f")
            by_product.setdefault(pid, []).append(v)
        n = 0
        for pid, variants in by_product.items():
            for i in range(0, len(variants), MAX_INPUT_ITEMS):
                batch = variants[i : i + MAX_INPUT_ITEMS]
                data = await self.execute(
                    _M_VARIANTS_BULK,
                    {"productId": pid, "variants": batch},
                    operation="productVariantsBulkUpdate",
                )
                user_errors(data["productVariantsBulkUpdate"], "productVariantsBulkUpdate")
                n += len(batch)
        return n

    async def orders_updated_since(
        self, since: datetime, *, page_size: int = 4
    ) -> AsyncIterator[dict[str, Any]]:
        """Orders updated after ``since`` (reconciliation pull), oldest first, following cursors.

        Yields each order in the webhook/REST JSON shape (``id`` = the id webhooks carry), so that it feeds the
        same mapper and capture path: a pulled order and its late webhook make one order. ``page_size`` stays
        small because each order carries its lines (query cost grows with them)."""
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pager = CursorPager()
        while not pager.done:
            data = await self.execute(
                _Q_ORDERS,
                {"first": page_size, "after": pager.after, "query": f"updated_at:>'{stamp}'"},
                operation="orders",
            )
            conn = data["orders"]
            for edge in conn["edges"]:
                node = edge["node"]
                lines = [e["node"] for e in node["lineItems"]["edges"]]
                line_pager = CursorPager()
                line_pager.advance(node["lineItems"])
                while not line_pager.done:
                    more = await self.execute(
                        _Q_ORDER_LINES,
                        {"id": node["id"], "after": line_pager.after},
                        operation="orderLineItems",
                    )
                    lines += [e["node"] for e in more["order"]["lineItems"]["edges"]]
                    line_pager.advance(more["order"]["lineItems"])
                ships = [e["node"] for e in node["shippingLines"]["edges"]]
                yield rest_order_from_graphql(node, lines, ships)
            pager.advance(conn)


_Q_VARIANTS = """
query Variants($q: String!, $first: Int!, $after: String) {
  productVariants(first: $first, after: $after, query: $q) {
    edges { node { id sku product { id } inventoryItem { id } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

_Q_LOCATIONS = """
query Locations {
  locations(first: 250) { edges { node { id name } } }
}"""

_M_SET_QTY = """
mutation SetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta } }
    userErrors { field message code }
  }
}"""

# Requested cost 1 + (2 + 10 x 5) + (2 + 5 x (1 + 2 + 20 x 2)) = 270 points; a one-location order of four
# lines actually costs about 20 (Shopify refunds the rest).
_Q_FULFILLMENT_ORDERS = """
query FulfillmentOrders($id: ID!, $after: String) {
  order(id: $id) {
    id
    fulfillments(first: 10) { id trackingInfo(first: 3) { number } }
    fulfillmentOrders(first: 5, after: $after) {
      edges { node { id status lineItems(first: 20) {
        edges { node { id remainingQuantity lineItem { id sku } } }
        pageInfo { hasNextPage endCursor } } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

_Q_FULFILLMENT_ORDER_LINES = """
query FulfillmentOrderLines($id: ID!, $after: String) {
  fulfillmentOrder(id: $id) {
    lineItems(first: 50, after: $after) {
      edges { node { id remainingQuantity lineItem { id sku } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

_M_FULFILLMENT_CREATE = """
mutation CreateFulfillment($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}"""

_M_REFUND_CREATE = """
mutation CreateRefund($input: RefundInput!) {
  refundCreate(input: $input) {
    refund { id totalRefundedSet { shopMoney { amount currencyCode } } }
    userErrors { field message }
  }
}"""

_Q_REFUND_CONTEXT = """
query OrderRefundContext($id: ID!) {
  order(id: $id) {
    id
    refunds(first: 50) { id note }
    transactions(first: 10) { id kind status gateway amountSet { shopMoney { amount currencyCode } } }
  }
}"""

_M_TAGS_ADD = """
mutation AddTags($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""

_M_ORDER_UPDATE = """
mutation UpdateOrder($input: OrderInput!) {
  orderUpdate(input: $input) { order { id note } userErrors { field message } }
}"""

_M_VARIANTS_BULK = """
mutation BulkPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price }
    userErrors { field message }
  }
}"""

_BAG = "{ shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }"
_LINE = (
    "id sku name title quantity currentQuantity requiresShipping isGiftCard originalUnitPriceSet "
    + _BAG
    + " discountAllocations { allocatedAmountSet "
    + _BAG
    + " } taxLines { title rate priceSet "
    + _BAG
    + " } variant { id } product { id }"
)
_ADDR = "{ firstName lastName company address1 address2 city provinceCode zip countryCodeV2 phone }"

_Q_ORDERS = (
    """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { cursor node {
      id legacyResourceId name email phone createdAt updatedAt processedAt cancelledAt closedAt note tags
      taxesIncluded presentmentCurrencyCode displayFinancialStatus displayFulfillmentStatus
      customer { legacyResourceId email firstName lastName }
      shippingAddress """
    + _ADDR
    + " billingAddress "
    + _ADDR
    + """
      subtotalPriceSet """
    + _BAG
    + " totalDiscountsSet "
    + _BAG
    + " totalShippingPriceSet "
    + _BAG
    + """
      totalTaxSet """
    + _BAG
    + " totalPriceSet "
    + _BAG
    + " currentTotalPriceSet "
    + _BAG
    + """
      currentSubtotalPriceSet """
    + _BAG
    + " currentTotalDiscountsSet "
    + _BAG
    + " currentTotalTaxSet "
    + _BAG
    + """
      lineItems(first: 10) { edges { node { """
    + _LINE
    + """ } } pageInfo { hasNextPage endCursor } }
      shippingLines(first: 3) { edges { node { id code title originalPriceSet """
    + _BAG
    + """
        discountAllocations { allocatedAmountSet """
    + _BAG
    + " } taxLines { title rate priceSet "
    + _BAG
    + """ } } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""
)

_Q_ORDER_LINES = (
    """
query OrderLines($id: ID!, $after: String) {
  order(id: $id) { lineItems(first: 25, after: $after) { edges { node { """
    + _LINE
    + """ } }
    pageInfo { hasNextPage endCursor } } }
}"""
)
