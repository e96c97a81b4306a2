"""GraphQL resolvers over :class:`ShopState` (Query and Mutation roots, Shopify-shaped payloads/userErrors)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError

from .orders import fmt, to_cents
from .state import ShopState, now_iso

MAX_INPUT = 250
INVENTORY_NAMES = {"available", "on_hand"}
INVENTORY_REASONS = {
    "correction", "cycle_count_available", "damaged", "movement_created", "movement_updated", "movement_received",
    "movement_canceled", "other", "promotion", "quality_control", "received", "reservation_created",
    "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage",
}  # fmt: skip

Emit = Callable[[str, dict[str, Any]], None]


def gid(kind: str, n: int) -> str:
    return f"gid://shopify/{kind}/{n}"


def parse_gid(value: Any, kind: str) -> int | None:
    m = re.fullmatch(rf"gid://shopify/{kind}/(\d+)(\?.*)?", str(value or ""))
    return int(m.group(1)) if m else None


def _cursor(i: int) -> str:
    return base64.b64encode(f"cursor:{i}".encode()).decode()


def _after(after: str | None) -> int:
    if not after:
        return 0
    try:
        return int(base64.b64decode(after).decode().split(":", 1)[1]) + 1
    except (ValueError, IndexError, UnicodeDecodeError):
        raise GraphQLError(f"Invalid cursor for current pagination sort. ({after})") from None


def connection(
    items: list[Any], first: int | None, after: str | None, to_node: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    if first is None:
        raise GraphQLError("you must provide one of first or last")
    if first > MAX_INPUT:
        raise GraphQLError(f"The page size ({first}) exceeds the maximum allowed ({MAX_INPUT}).")
    start = _after(after)
    page = items[start : start + first]
    edges = [{"cursor": _cursor(start + i), "node": to_node(x)} for i, x in enumerate(page)]
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "pageInfo": {
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def uerr(field: list[str], message: str, code: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"field": field, "message": message}
    if code:
        e["code"] = code
    return e


class Roots:
    def __init__(self, state: ShopState, emit: Emit) -> None:
        self.s = state
        self.emit = emit
        self.query = _Query(self)
        self.mutation = _Mutation(self)

    # -- node builders ---------------------------------------------------------------------------
    def product_node(self, pid: int) -> dict[str, Any]:
        p = self.s.products[pid]
        return {
            "id": gid("Product", pid),
            "legacyResourceId": str(pid),
            "title": p["title"],
            "handle": p["handle"],
        }

    def variant_node(self, v: dict[str, Any]) -> dict[str, Any]:
        iid = v["inventory_item_id"]
        return {
            "id": gid("ProductVariant", v["id"]),
            "legacyResourceId": str(v["id"]),
            "sku": v["sku"],
            "title": v["title"],
            "price": v["price"],
            "compareAtPrice": v.get("compare_at_price"),
            "product": self.product_node(v["product_id"]),
            "inventoryItem": {
                "id": gid("InventoryItem", iid),
                "legacyResourceId": str(iid),
                "sku": v["sku"],
                "tracked": True,
            },
        }

    def order_node(self, o: dict[str, Any]) -> dict[str, Any]:
        fos = [fo for fo in self.s.fulfillment_orders.values() if fo["order_id"] == o["id"]]
        ful = {"fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(
            o.get("fulfillment_status") or "", "UNFULFILLED"
        )
        tp = o["total_price_set"]
        lines = o["line_items"]
        ships = o["shipping_lines"]
        cust = o.get("customer") or {}
        sets = (
            ("subtotalPriceSet", "subtotal_price_set"),
            ("totalDiscountsSet", "total_discounts_set"),
            ("totalShippingPriceSet", "total_shipping_price_set"),
            ("totalTaxSet", "total_tax_set"),
            ("currentTotalPriceSet", "current_total_price_set"),
            ("currentSubtotalPriceSet", "current_subtotal_price_set"),
            ("currentTotalDiscountsSet", "current_total_discounts_set"),
            ("currentTotalTaxSet", "current_total_tax_set"),
        )
        return {
            # resolved lazily (graphql-core calls a callable field value): only what a query selects is built
            **{k: (lambda info, f=f: bag(o.get(f) or o.get(f.replace("current_", "")))) for k, f in sets},
            "closedAt": o.get("closed_at"),
            "processedAt": o.get("processed_at") or o["created_at"],
            "email": o.get("email"),
            "phone": o.get("phone"),
            "taxesIncluded": bool(o.get("taxes_included")),
            "presentmentCurrencyCode": o.get("presentment_currency") or o["currency"],
            "customer": {
                "id": gid("Customer", cust["id"]),
                "legacyResourceId": str(cust["id"]),
                "email": cust.get("email"),
                "firstName": cust.get("first_name"),
                "lastName": cust.get("last_name"),
            }
            if cust.get("id")
            else None,
            "shippingAddress": lambda info: mailing(o.get("shipping_address")),
            "billingAddress": lambda info: mailing(o.get("billing_address")),
            "lineItems": lambda info, first=None, after=None: connection(lines, first, after, self.line_node),
            "shippingLines": lambda info, first=None, after=None: connection(ships, first, after, ship_node),
            "fulfillments": lambda info, first=None: [
                {
                    "id": gid("Fulfillment", f["id"]),
                    "status": "SUCCESS",
                    "createdAt": f["created_at"],
                    "trackingInfo": lambda info, first=None, f=f: [
                        {"company": f["tracking_company"], "number": n, "url": None}
                        for n in f["tracking_numbers"]
                    ][: first or 10],
                }
                for f in self.s.fulfillments
                if f["order_id"] == o["id"]
            ][: first or 10],
            "refunds": lambda info, first=None: [
                {
                    "id": gid("Refund", r["id"]),
                    "note": r.get("note"),
                    "createdAt": r["created_at"],
                    "totalRefundedSet": bag(
                        _set(
                            sum(to_cents(t["amount"], o["currency"]) for t in r["transactions"]),
                            o["currency"],
                        )
                    ),
                }
                for r in self.s.refunds
                if r["order_id"] == o["id"]
            ][: first or 10],
            "transactions": lambda info, first=None: [
                {
                    "id": gid("OrderTransaction", t["id"]),
                    "kind": t["kind"],
                    "status": t["status"],
                    "gateway": t["gateway"],
                    "createdAt": t["created_at"],
                    "amountSet": {
                        "shopMoney": {"amount": t["amount"], "currencyCode": t["currency"]},
                        "presentmentMoney": {"amount": t["amount"], "currencyCode": t["currency"]},
                    },
                }
                for t in self.s.transactions.get(o["id"], [])[: first or 10]
            ],
            "__typename": "Order",
            "id": gid("Order", o["id"]),
            "legacyResourceId": str(o["id"]),
            "name": o["name"],
            "createdAt": o["created_at"],
            "updatedAt": o["updated_at"],
            "note": o.get("note"),
            "tags": [t.strip() for t in (o.get("tags") or "").split(",") if t.strip()],
            "currencyCode": o["currency"],
            "displayFinancialStatus": str(o.get("financial_status") or "pending").upper(),
            "displayFulfillmentStatus": ful,
            "cancelledAt": o.get("cancelled_at"),
            "totalPriceSet": {
                "shopMoney": {
                    "amount": tp["shop_money"]["amount"],
                    "currencyCode": tp["shop_money"]["currency_code"],
                },
                "presentmentMoney": {
                    "amount": tp["presentment_money"]["amount"],
                    "currencyCode": tp["presentment_money"]["currency_code"],
                },
            },
            "fulfillmentOrders": lambda info, first=None, after=None: connection(
                fos, first, after, self.fo_node
            ),
        }

    def line_node(self, li: dict[str, Any]) -> dict[str, Any]:
        v = self.s.variants.get(li.get("variant_id") or -1)
        return {
            "id": gid("LineItem", li["id"]),
            "sku": li.get("sku"),
            "name": li.get("name") or "",
            "title": li.get("title") or "",
            "quantity": li["quantity"],
            "currentQuantity": li.get("current_quantity", li["quantity"]),
            "requiresShipping": bool(li.get("requires_shipping", True)),
            "isGiftCard": bool(li.get("gift_card")),
            "originalUnitPriceSet": bag(li["price_set"]),
            "discountAllocations": [
                {"allocatedAmountSet": bag(a["amount_set"])} for a in li.get("discount_allocations") or []
            ],
            "taxLines": [tax_line(t) for t in li.get("tax_lines") or []],
            "variant": self.variant_node(v) if v else None,
            "product": self.product_node(v["product_id"]) if v else None,
        }

    def fo_node(self, fo: dict[str, Any]) -> dict[str, Any]:
        def li_node(li: dict[str, Any]) -> dict[str, Any]:
            return {
                "id": gid("FulfillmentOrderLineItem", li["id"]),
                "totalQuantity": li["total"],
                "remainingQuantity": li["remaining"],
                "lineItem": {
                    "id": gid("LineItem", li["line_item_id"]),
                    "sku": li["sku"],
                    "name": li["name"] or "",
                    "quantity": li["total"],
                    "currentQuantity": li["total"],
                },
            }

        return {
            "id": gid("FulfillmentOrder", fo["id"]),
            "status": fo["status"],
            "lineItems": lambda info, first=None, after=None: connection(
                fo["line_items"], first, after, li_node
            ),
        }

    def touch(self, o: dict[str, Any]) -> None:
        o["updated_at"] = now_iso()


def _sku_terms(query: str | None) -> set[str] | None:
    if not query:
        return None
    terms = re.findall(r"sku:(?:\"([^\"]*)\"|'([^']*)'|(\S+))", query)
    return {a or b or c for a, b, c in terms} if terms else None


class _Query:
    def __init__(self, r: Roots) -> None:
        self.r = r

    def shop(self, info: Any) -> dict[str, Any]:
        s = self.r.s
        return {
            "name": "retailconnect simulator",
            "myshopifyDomain": s.shop_domain,
            "currencyCode": s.currency,
        }

    def productVariants(
        self, info: Any, first: int | None = None, after: str | None = None, query: str | None = None
    ) -> dict[str, Any]:
        skus = _sku_terms(query)
        rows = [v for _, v in sorted(self.r.s.variants.items()) if skus is None or v["sku"] in skus]
        return connection(rows, first, after, self.r.variant_node)

    def locations(self, info: Any, first: int | None = None, after: str | None = None) -> dict[str, Any]:
        rows = [loc for _, loc in sorted(self.r.s.locations.items())]
        return connection(
            rows,
            first,
            after,
            lambda loc: {
                "id": gid("Location", loc["id"]),
                "legacyResourceId": str(loc["id"]),
                "name": loc["name"],
                "isActive": True,
            },
        )

    def order(self, info: Any, id: str) -> dict[str, Any] | None:
        oid = parse_gid(id, "Order")
        o = self.r.s.orders.get(oid) if oid is not None else None
        return self.r.order_node(o) if o else None

    def orders(
        self,
        info: Any,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
        sortKey: str | None = None,
        reverse: bool = False,
    ) -> dict[str, Any]:
        rows = list(self.r.s.orders.values())
        m = re.search(r"updated_at:>=?'?\"?([0-9T:\-+.Z]+)", query or "")
        if m:
            since = m.group(1)
            from datetime import datetime

            cut = datetime.fromisoformat(since.replace("Z", "+00:00"))
            rows = [o for o in rows if datetime.fromisoformat(o["updated_at"].replace("Z", "+00:00")) > cut]
        key = {"UPDATED_AT": "updated_at", "CREATED_AT": "created_at"}.get(sortKey or "ID")
        rows.sort(key=lambda o: (o[key], o["id"]) if key else (o["id"],), reverse=bool(reverse))
        return connection(rows, first, after, self.r.order_node)


class _Mutation:
    def __init__(self, r: Roots) -> None:
        self.r = r

    def inventorySetQuantities(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        s = self.r.s
        qs = input["quantities"]
        if len(qs) > MAX_INPUT:
            raise GraphQLError(
                f"The input array size of {len(qs)} is greater than the maximum allowed of {MAX_INPUT}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        errors = []
        if input["name"] not in INVENTORY_NAMES:
            errors.append(
                uerr(
                    ["input", "name"],
                    "The quantity name must be either 'available' or 'on_hand'.",
                    "INVALID_NAME",
                )
            )
        if input["reason"] not in INVENTORY_REASONS:
            errors.append(uerr(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON"))
        resolved = []
        for i, q in enumerate(qs):
            iid = parse_gid(q["inventoryItemId"], "InventoryItem")
            lid = parse_gid(q["locationId"], "Location")
            if iid is None or iid not in s.items:
                errors.append(
                    uerr(
                        ["input", "quantities", str(i), "inventoryItemId"],
                        "The specified inventory item could not be found.",
                        "INVALID_INVENTORY_ITEM",
                    )
                )
                continue
            if lid is None or lid not in s.locations:
                errors.append(
                    uerr(
                        ["input", "quantities", str(i), "locationId"],
                        "The specified location could not be found.",
                        "INVALID_LOCATION",
                    )
                )
                continue
            current = s.levels.get((iid, lid), {}).get("available", 0)
            if not input.get("ignoreCompareQuantity"):
                if q.get("compareQuantity") is None:
                    errors.append(
                        uerr(
                            ["input", "quantities", str(i), "compareQuantity"],
                            "The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.",
                            "COMPARE_QUANTITY_REQUIRED",
                        )
                    )
                    continue
                if q["compareQuantity"] != current:
                    errors.append(
                        uerr(
                            ["input", "quantities", str(i), "compareQuantity"],
                            "The specified compare quantity does not match the current quantity.",
                            "COMPARE_QUANTITY_STALE",
                        )
                    )
                    continue
            resolved.append((iid, lid, int(q["quantity"]), current))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes = []
        stamp = now_iso()
        with s.lock:
            for iid, lid, qty, before in resolved:
                lv = s.levels.setdefault((iid, lid), {"available": 0, "set_count": 0})
                lv.update(available=qty, updated_at=stamp, set_count=lv.get("set_count", 0) + 1)
                changes.append({"name": input["name"], "delta": qty - before, "quantityAfterChange": qty})
                self.r.emit(
                    "inventory_levels/update",
                    {
                        "inventory_item_id": iid,
                        "location_id": lid,
                        "available": qty,
                        "updated_at": stamp,
                        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{lid}?inventory_item_id={iid}",
                    },
                )
            s.inventory_calls.append({"size": len(resolved), "at": stamp})
        return {
            "inventoryAdjustmentGroup": {
                "id": gid("InventoryAdjustmentGroup", s.next_id()),
                "reason": input["reason"],
                "createdAt": stamp,
                "changes": changes,
            },
            "userErrors": [],
        }

    def fulfillmentCreate(
        self, info: Any, fulfillment: dict[str, Any], message: str | None = None
    ) -> dict[str, Any]:
        s = self.r.s
        plan = []
        errors = []
        order_id = None
        for i, group in enumerate(fulfillment["lineItemsByFulfillmentOrder"]):
            foid = parse_gid(group["fulfillmentOrderId"], "FulfillmentOrder")
            fo = s.fulfillment_orders.get(foid) if foid is not None else None
            if fo is None:
                errors.append(
                    uerr(
                        ["fulfillment", "lineItemsByFulfillmentOrder", str(i), "fulfillmentOrderId"],
                        "Fulfillment order does not exist.",
                    )
                )
                continue
            if fo["status"] in ("CLOSED", "CANCELLED"):
                errors.append(
                    uerr(
                        ["fulfillment"],
                        f"Fulfillment order {group['fulfillmentOrderId']} has an unfulfillable status= {fo['status'].lower()}.",
                    )
                )
                continue
            order_id = fo["order_id"]
            by_id = {li["id"]: li for li in fo["line_items"]}
            wanted = group.get("fulfillmentOrderLineItems") or [
                {"id": gid("FulfillmentOrderLineItem", li["id"]), "quantity": li["remaining"]}
                for li in fo["line_items"]
            ]
            for w in wanted:
                li = by_id.get(parse_gid(w["id"], "FulfillmentOrderLineItem") or -1)
                if li is None or w["quantity"] <= 0 or w["quantity"] > li["remaining"]:
                    errors.append(
                        uerr(["fulfillment"], "Invalid fulfillment order line item quantity requested.")
                    )
                    continue
                plan.append((fo, li, int(w["quantity"])))
        if errors or not plan or order_id is None:
            return {
                "fulfillment": None,
                "userErrors": errors or [uerr(["fulfillment"], "No line items to fulfil.")],
            }
        t = fulfillment.get("trackingInfo") or {}
        numbers = list(t.get("numbers") or ([t["number"]] if t.get("number") else []))
        urls = list(t.get("urls") or ([t["url"]] if t.get("url") else []))
        fid = s.next_id()
        stamp = now_iso()
        with s.lock:
            for fo, li, q in plan:
                li["remaining"] -= q
                fo["status"] = (
                    "CLOSED" if all(x["remaining"] == 0 for x in fo["line_items"]) else "IN_PROGRESS"
                )
            o = s.orders[order_id]
            all_done = all(
                fo["status"] == "CLOSED" for fo in s.fulfillment_orders.values() if fo["order_id"] == order_id
            )
            o["fulfillment_status"] = "fulfilled" if all_done else "partial"
            self.r.touch(o)
            n = sum(1 for f in s.fulfillments if f["order_id"] == order_id) + 1
            rec = {
                "id": fid,
                "order_id": order_id,
                "order_name": o["name"],
                "status": "success",
                "created_at": stamp,
                "tracking_company": t.get("company"),
                "tracking_numbers": numbers,
                "tracking_urls": urls,
                "line_items": [
                    {"sku": li["sku"], "line_item_id": li["line_item_id"], "quantity": q} for _, li, q in plan
                ],
                "notify_customer": bool(fulfillment.get("notifyCustomer")),
            }
            s.fulfillments.append(rec)
        self.r.emit(
            "fulfillments/create",
            {
                "id": fid,
                "order_id": order_id,
                "status": "success",
                "created_at": stamp,
                "updated_at": stamp,
                "service": "manual",
                "tracking_company": t.get("company"),
                "tracking_number": numbers[0] if numbers else None,
                "tracking_numbers": numbers,
                "tracking_url": urls[0] if urls else None,
                "tracking_urls": urls,
                "shipment_status": None,
                "location_id": plan[0][0]["location_id"],
                "name": f"{o['name']}.{n}",
                "receipt": {},
                "line_items": [
                    {"id": li["line_item_id"], "sku": li["sku"], "quantity": q, "name": li["name"]}
                    for _, li, q in plan
                ],
                "admin_graphql_api_id": gid("Fulfillment", fid),
            },
        )
        self.r.emit("orders/updated", o)
        return {
            "fulfillment": {
                "id": gid("Fulfillment", fid),
                "status": "SUCCESS",
                "createdAt": stamp,
                "trackingInfo": [
                    {"company": t.get("company"), "number": num, "url": urls[i] if i < len(urls) else None}
                    for i, num in enumerate(numbers)
                ],
            },
            "userErrors": [],
        }

    def refundCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        s = self.r.s
        oid = parse_gid(input["orderId"], "Order")
        o = s.orders.get(oid) if oid is not None else None
        if o is None:
            return {
                "refund": None,
                "order": None,
                "userErrors": [uerr(["input", "orderId"], "Order does not exist")],
            }
        cur = o["currency"]
        by_line = {li["id"]: li for li in o["line_items"]}
        refunded_qty: dict[int, int] = {}
        for r in s.refunds:
            if r["order_id"] == oid:
                for rli in r["refund_line_items"]:
                    refunded_qty[rli["line_item_id"]] = (
                        refunded_qty.get(rli["line_item_id"], 0) + rli["quantity"]
                    )
        rlis = []
        errors = []
        sub_total = tax_total = 0
        for i, x in enumerate(input.get("refundLineItems") or []):
            lid = parse_gid(x["lineItemId"], "LineItem")
            li = by_line.get(lid) if lid is not None else None
            if li is None:
                errors.append(
                    uerr(["input", "refundLineItems", str(i), "lineItemId"], "Line item does not exist")
                )
                continue
            q = int(x["quantity"])
            if q <= 0 or q + refunded_qty.get(li["id"], 0) > li["quantity"]:
                errors.append(
                    uerr(
                        ["input", "refundLineItems", str(i), "quantity"],
                        f"Quantity cannot refund more items than were purchased ({li['quantity']})",
                    )
                )
                continue
            disc = to_cents(li["total_discount"], cur)
            gross = to_cents(li["price"], cur) * li["quantity"]
            tax = sum(to_cents(t["price"], cur) for t in li["tax_lines"])
            sub = (gross - disc) * q // li["quantity"]
            tx = tax * q // li["quantity"]
            if o.get("taxes_included"):
                sub -= tx
            sub_total += sub
            tax_total += tx
            restock = str(x.get("restockType") or "NO_RESTOCK").lower()
            rlis.append(
                {
                    "id": s.next_id(),
                    "line_item_id": li["id"],
                    "quantity": q,
                    "restock_type": restock,
                    "location_id": None,
                    "subtotal": fmt(sub, cur),
                    "subtotal_set": _set(sub, cur),
                    "total_tax": fmt(tx, cur),
                    "total_tax_set": _set(tx, cur),
                    "line_item": {
                        k: li.get(k)
                        for k in (
                            "id",
                            "variant_id",
                            "product_id",
                            "title",
                            "name",
                            "sku",
                            "quantity",
                            "price",
                            "price_set",
                            "tax_lines",
                            "discount_allocations",
                        )
                    },
                }
            )
        ship = 0
        ship_in = input.get("shipping") or {}
        if ship_in.get("fullRefund"):
            ship = sum(to_cents(sl["discounted_price"], cur) for sl in o["shipping_lines"])
        elif ship_in.get("amount") is not None:
            try:
                ship = to_cents(Decimal(str(ship_in["amount"])), cur)
            except InvalidOperation:
                errors.append(uerr(["input", "shipping", "amount"], "Amount is invalid"))
        txns = s.transactions.setdefault(o["id"], [])
        paid_ids = {t["id"]: t for t in txns if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS"}
        refunded_so_far = sum(to_cents(t["amount"], cur) for t in txns if t["kind"] == "REFUND")
        money: list[dict[str, Any]] = []
        for i, tx in enumerate(input.get("transactions") or []):
            parent = paid_ids.get(parse_gid(tx.get("parentId"), "OrderTransaction") or -1)
            if tx.get("kind") != "REFUND" or parent is None:
                errors.append(
                    uerr(
                        ["input", "transactions", str(i), "parentId"],
                        "A refund transaction needs the sale or capture it refunds",
                    )
                )
                continue
            try:
                amount = to_cents(Decimal(str(tx["amount"])), cur)
            except InvalidOperation:
                errors.append(uerr(["input", "transactions", str(i), "amount"], "Amount is invalid"))
                continue
            if amount <= 0 or refunded_so_far + amount > to_cents(parent["amount"], cur):
                errors.append(
                    uerr(["input", "transactions", str(i), "amount"], "Amount exceeds the refundable amount")
                )
                continue
            refunded_so_far += amount
            money.append(
                {"parent": parent["id"], "amount": amount, "gateway": tx.get("gateway") or parent["gateway"]}
            )
        if errors:
            return {"refund": None, "order": None, "userErrors": errors}
        total = sum(
            m["amount"] for m in money
        )  # without transactions Shopify records the refund but moves no money
        rid = s.next_id()
        stamp = now_iso()
        refund_txns = [
            {
                "id": s.next_id(),
                "order_id": oid,
                "kind": "refund",
                "status": "success",
                "gateway": m["gateway"],
                "parent_id": m["parent"],
                "amount": fmt(m["amount"], cur),
                "currency": cur,
                "created_at": stamp,
            }
            for m in money
        ]
        with s.lock:
            for t in refund_txns:
                txns.append(
                    {
                        "id": t["id"],
                        "kind": "REFUND",
                        "status": "SUCCESS",
                        "gateway": t["gateway"],
                        "amount": t["amount"],
                        "currency": cur,
                        "created_at": stamp,
                    }
                )
        refund = {
            "id": rid,
            "order_id": oid,
            "order_name": o["name"],
            "created_at": stamp,
            "processed_at": stamp,
            "note": input.get("note"),
            "restock": any(r["restock_type"] != "no_restock" for r in rlis),
            "refund_line_items": rlis,
            "refund_shipping_lines": [{"id": s.next_id(), "subtotal_amount_set": _set(ship, cur)}]
            if ship
            else [],
            "order_adjustments": [],
            "transactions": refund_txns,
            "admin_graphql_api_id": gid("Refund", rid),
        }
        with s.lock:
            s.refunds.append(refund)
            paid = to_cents(o["total_price"], cur)
            done = sum(
                to_cents(t["amount"], cur)
                for r in s.refunds
                if r["order_id"] == oid
                for t in r["transactions"]
            )
            o["financial_status"] = "refunded" if done >= paid else "partially_refunded"
            self.r.touch(o)
        self.r.emit("refunds/create", refund)
        return {
            "refund": {
                "id": gid("Refund", rid),
                "note": input.get("note"),
                "createdAt": stamp,
                "totalRefundedSet": {
                    "shopMoney": {"amount": fmt(total, cur), "currencyCode": cur},
                    "presentmentMoney": {"amount": fmt(total, cur), "currencyCode": cur},
                },
            },
            "order": self.r.order_node(o),
            "userErrors": [],
        }

    def productVariantsBulkUpdate(
        self, info: Any, productId: str, variants: list[dict[str, Any]]
    ) -> dict[str, Any]:
        s = self.r.s
        if len(variants) > MAX_INPUT:
            raise GraphQLError(
                f"The input array size of {len(variants)} is greater than the maximum allowed of {MAX_INPUT}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        pid = parse_gid(productId, "Product")
        if pid is None or pid not in s.products:
            return {
                "product": None,
                "productVariants": None,
                "userErrors": [
                    uerr(
                        ["productId"],
                        "Product does not exist",
                    )
                ],
            }
        errors = []
        updates = []
        for i, v in enumerate(variants):
            vid = parse_gid(v.get("id"), "ProductVariant")
            if vid is None or vid not in s.variants or s.variants[vid]["product_id"] != pid:
                errors.append(uerr(["variants", str(i), "id"], "Product variant does not exist"))
                continue
            try:
                price = (
                    str(Decimal(str(v["price"])).quantize(Decimal("0.01")))
                    if v.get("price") is not None
                    else None
                )
                cmp = (
                    str(Decimal(str(v["compareAtPrice"])).quantize(Decimal("0.01")))
                    if v.get("compareAtPrice") is not None
                    else None
                )
            except InvalidOperation:
                errors.append(uerr(["variants", str(i), "price"], "Price is invalid"))
                continue
            if price is not None and Decimal(price) < 0:
                errors.append(uerr(["variants", str(i), "price"], "Price must be greater than or equal to 0"))
                continue
            updates.append((vid, price, cmp))
        if errors:
            return {"product": None, "productVariants": None, "userErrors": errors}
        with s.lock:
            for vid, price, cmp in updates:
                if price is not None:
                    s.variants[vid]["price"] = price
                if cmp is not None:
                    s.variants[vid]["compare_at_price"] = cmp
        p = s.products[pid]
        self.r.emit(
            "products/update",
            {
                "id": pid,
                "title": p["title"],
                "handle": p["handle"],
                "status": "active",
                "updated_at": now_iso(),
                "admin_graphql_api_id": gid("Product", pid),
                "variants": [
                    {
                        "id": vid,
                        "product_id": pid,
                        "sku": s.variants[vid]["sku"],
                        "price": s.variants[vid]["price"],
                        "compare_at_price": s.variants[vid].get("compare_at_price"),
                        "title": s.variants[vid]["title"],
                        "inventory_item_id": s.variants[vid]["inventory_item_id"],
                    }
                    for vid in p["variants"]
                ],
            },
        )
        return {
            "product": self.r.product_node(pid),
            "productVariants": [self.r.variant_node(s.variants[v]) for v, _, _ in updates],
            "userErrors": [],
        }

    def tagsAdd(self, info: Any, id: str, tags: list[str]) -> dict[str, Any]:
        oid = parse_gid(id, "Order")
        o = self.r.s.orders.get(oid) if oid is not None else None
        if o is None:
            return {"node": None, "userErrors": [uerr(["id"], "Resource does not exist")]}
        with self.r.s.lock:
            have = [t.strip() for t in (o.get("tags") or "").split(",") if t.strip()]
            o["tags"] = ", ".join(have + [t for t in tags if t not in have])
            self.r.touch(o)
        return {"node": self.r.order_node(o), "userErrors": []}

    def orderUpdate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        oid = parse_gid(input["id"], "Order")
        o = self.r.s.orders.get(oid) if oid is not None else None
        if o is None:
            return {"order": None, "userErrors": [uerr(["id"], "Order does not exist")]}
        with self.r.s.lock:
            if "note" in input:
                o["note"] = input["note"]
            if input.get("tags") is not None:
                o["tags"] = ", ".join(input["tags"])
            if input.get("email"):
                o["email"] = input["email"]
            self.r.touch(o)
        self.r.emit("orders/updated", o)
        return {"order": self.r.order_node(o), "userErrors": []}

    def webhookSubscriptionCreate(
        self, info: Any, topic: str, webhookSubscription: dict[str, Any]
    ) -> dict[str, Any]:
        url = webhookSubscription.get("callbackUrl")
        if not url or not str(url).startswith(("http://", "https://")):
            return {
                "webhookSubscription": None,
                "userErrors": [uerr(["webhookSubscription", "callbackUrl"], "Address is invalid")],
            }
        low = topic.lower()
        cut = low.rfind("_")
        t = low[:cut] + "/" + low[cut + 1 :]
        sub = {"id": self.r.s.next_id(), "topic": t, "address": url}
        self.r.s.subscriptions.append(sub)
        return {
            "webhookSubscription": {
                "id": gid("WebhookSubscription", sub["id"]),
                "topic": topic,
                "callbackUrl": url,
                "format": "JSON",
            },
            "userErrors": [],
        }


def bag(ms: dict[str, Any] | None) -> dict[str, Any] | None:
    """REST ``*_set`` ({shop_money, presentment_money}) -> GraphQL MoneyBag."""
    if not ms:
        return None
    return {
        "shopMoney": {
            "amount": ms["shop_money"]["amount"],
            "currencyCode": ms["shop_money"]["currency_code"],
        },
        "presentmentMoney": {
            "amount": ms["presentment_money"]["amount"],
            "currencyCode": ms["presentment_money"]["currency_code"],
        },
    }


def tax_line(t: dict[str, Any]) -> dict[str, Any]:
    return {"title": t.get("title") or "", "rate": t.get("rate"), "priceSet": bag(t["price_set"])}


def mailing(a: dict[str, Any] | None) -> dict[str, Any] | None:
    if not a:
        return None
    return {
        "firstName": a.get("first_name"),
        "lastName": a.get("last_name"),
        "company": a.get("company"),
        "address1": a.get("address1"),
        "address2": a.get("address2"),
        "city": a.get("city"),
        "provinceCode": a.get("province_code"),
        "zip": a.get("zip"),
        "countryCodeV2": a.get("country_code"),
        "phone": a.get("phone"),
    }


def ship_node(sl: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": gid("ShippingLine", sl["id"]) if sl.get("id") else None,
        "code": sl.get("code"),
        "title": sl.get("title") or "",
        "originalPriceSet": bag(sl["price_set"]),
        "discountAllocations": [
            {"allocatedAmountSet": bag(a["amount_set"])} for a in sl.get("discount_allocations") or []
        ],
        "taxLines": [tax_line(t) for t in sl.get("tax_lines") or []],
    }


def _set(cents: int, cur: str) -> dict[str, Any]:
    return {
        "shop_money": {"amount": fmt(cents, cur), "currency_code": cur},
        "presentment_money": {"amount": fmt(cents, cur), "currency_code": cur},
    }
