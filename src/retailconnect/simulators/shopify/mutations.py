"""Mutation resolvers: inventorySetQuantities, fulfillmentCreate, refundCreate, productVariantsBulkUpdate, tagsAdd,
orderUpdate, webhookSubscriptionCreate (Shopify payloads and userErrors)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from .orders import fmt, to_cents
from .shapes import INVENTORY_NAMES, INVENTORY_REASONS, MAX_INPUT, _set, gid, parse_gid, uerr
from .state import now_iso

if TYPE_CHECKING:
    from .api import Roots


class Mutations:
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
