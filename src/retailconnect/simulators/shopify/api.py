"""GraphQL resolvers over :class:`ShopState`: the Query root and the node builders (mutations in mutations.py)."""

from __future__ import annotations

import re
from typing import Any

from .mutations import Mutations
from .orders import to_cents
from .shapes import Emit, _set, bag, connection, gid, mailing, parse_gid, ship_node, tax_line
from .state import ShopState, now_iso


class Roots:
    def __init__(self, state: ShopState, emit: Emit) -> None:
        self.s = state
        self.emit = emit
        self.query = _Query(self)
        self.mutation = Mutations(self)

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

    def fulfillmentOrder(self, info: Any, id: str) -> dict[str, Any] | None:
        foid = parse_gid(id, "FulfillmentOrder")
        fo = self.r.s.fulfillment_orders.get(foid) if foid is not None else None
        return self.r.fo_node(fo) if fo else None

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
