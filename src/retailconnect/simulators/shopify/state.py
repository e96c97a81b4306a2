"""In-memory shop: catalogue, locations, inventory levels, orders, fulfillment orders, fulfillments, refunds,
webhook subscriptions. Everything the admin endpoints report is read from here."""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .orders import build_order, random_line_specs

DEFAULT_CATALOG: list[dict[str, Any]] = [
    {
        "title": "Classic Tee",
        "variants": [{"sku": "TEE-BLK-M", "price": "19.99"}, {"sku": "TEE-WHT-M", "price": "19.99"}],
    },
    {"title": "Denim Jacket", "variants": [{"sku": "JKT-DNM-L", "price": "89.00"}]},
    {"title": "Canvas Tote", "variants": [{"sku": "TOTE-NAT", "price": "24.50"}]},
    {"title": "Wool Beanie", "variants": [{"sku": "BEANIE-GRY", "price": "15.00"}]},
    {
        "title": "Runner Sneaker",
        "variants": [{"sku": "SNK-RUN-42", "price": "120.00"}, {"sku": "SNK-RUN-43", "price": "120.00"}],
    },
]
DEFAULT_LOCATIONS = ["Main Warehouse", "Retail Store"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class ShopState:
    shop_domain: str = "retailconnect-sim.myshopify.com"
    currency: str = "USD"
    lock: threading.RLock = field(default_factory=threading.RLock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1_000_001))
    order_numbers: itertools.count = field(default_factory=lambda: itertools.count(1001))
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    variants: dict[int, dict[str, Any]] = field(default_factory=dict)
    items: dict[int, dict[str, Any]] = field(default_factory=dict)  # inventory items
    locations: dict[int, dict[str, Any]] = field(default_factory=dict)
    levels: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    inventory_calls: list[dict[str, Any]] = field(default_factory=list)  # one per inventorySetQuantities
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    fulfillment_orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    transactions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # order id -> payments

    def next_id(self) -> int:
        return next(self.ids)

    # -- catalogue -------------------------------------------------------------------------------
    def seed(
        self, products: list[dict[str, Any]] | None = None, locations: list[str] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            for name in locations or ([] if self.locations else DEFAULT_LOCATIONS):
                if not any(loc["name"] == name for loc in self.locations.values()):
                    lid = self.next_id()
                    self.locations[lid] = {"id": lid, "name": name}
            created = []
            for p in products if products is not None else DEFAULT_CATALOG:
                pid = self.next_id()
                title = str(p.get("title") or "Product")
                self.products[pid] = {
                    "id": pid,
                    "title": title,
                    "handle": title.lower().replace(" ", "-"),
                    "variants": [],
                }
                for v in p.get("variants") or []:
                    vid, iid = self.next_id(), self.next_id()
                    sku = v.get("sku")
                    self.variants[vid] = {
                        "id": vid,
                        "product_id": pid,
                        "sku": sku,
                        "title": v.get("title") or sku or "Default",
                        "price": str(Decimal(str(v.get("price", "10.00"))).quantize(Decimal("0.01"))),
                        "compare_at_price": v.get("compare_at_price"),
                        "inventory_item_id": iid,
                    }
                    self.items[iid] = {"id": iid, "sku": sku, "variant_id": vid}
                    self.products[pid]["variants"].append(vid)
                    for loc_name, qty in (v.get("inventory") or {}).items():
                        loc_id = self.location_id(loc_name)
                        if loc_id is not None:
                            self.levels[(iid, loc_id)] = {
                                "available": int(qty),
                                "updated_at": now_iso(),
                                "set_count": 0,
                            }
                    created.append(sku)
            return {"products": len(self.products), "variants": len(self.variants), "created_skus": created}

    def location_id(self, name_or_id: Any) -> int | None:
        for lid, loc in self.locations.items():
            if loc["name"] == name_or_id or str(lid) == str(name_or_id):
                return lid
        return None

    def catalog_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "sku": v["sku"],
                "title": f"{self.products[v['product_id']]['title']} - {v['title']}",
                "price": v["price"],
                "variant_id": v["id"],
                "product_id": v["product_id"],
            }
            for v in self.variants.values()
            if v["sku"]
        ]

    # -- orders ----------------------------------------------------------------------------------
    def add_order(self, order: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.orders[order["id"]] = order
            if order.get("financial_status") == "paid":
                self.transactions[order["id"]] = [
                    {
                        "id": self.next_id(),
                        "kind": "SALE",
                        "status": "SUCCESS",
                        "gateway": "bogus",
                        "amount": order["total_price"],
                        "currency": order["currency"],
                        "created_at": order["created_at"],
                    }
                ]
            first_loc = min(self.locations) if self.locations else None
            shippable = [li for li in order["line_items"] if li.get("requires_shipping", True)]
            if shippable:
                foid = self.next_id()
                self.fulfillment_orders[foid] = {
                    "id": foid,
                    "order_id": order["id"],
                    "status": "OPEN",
                    "location_id": first_loc,
                    "line_items": [
                        {
                            "id": self.next_id(),
                            "line_item_id": li["id"],
                            "sku": li.get("sku"),
                            "name": li.get("name"),
                            "total": li["quantity"],
                            "remaining": li["quantity"],
                        }
                        for li in shippable
                    ],
                }
            return order

    def generate_order(
        self, rng: random.Random, *, line_specs: list[dict[str, Any]] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        with self.lock:
            catalog = self.catalog_rows()
            specs = line_specs if line_specs is not None else random_line_specs(rng, catalog)
            if not specs:
                raise ValueError("no catalogue to generate orders from: POST /_sim/catalog first")
            included = overrides.pop("taxes_included", rng.random() < 0.35)
            params: dict[str, Any] = {
                "shop_currency": self.currency,
                "presentment_currency": rng.choice(
                    [self.currency, self.currency, "EUR", "GBP", "CAD", "JPY"]
                ),
                "taxes_included": included,
                "tax_rate": Decimal("0.20")
                if included
                else rng.choice([Decimal("0.0825"), Decimal("0.06"), Decimal("0")]),
                "shipping_cents": rng.choice([0, 499, 999, 1500]),
                "order_discount_pct": rng.choice([0, 0, 10, 15]),
                "free_shipping": rng.random() < 0.15,
            }
            params.update(overrides)
            oid = self.next_id()
            order = build_order(
                order_id=oid,
                number=next(self.order_numbers),
                line_specs=specs,
                line_id_start=self.next_id() * 100,
                **params,
            )
            return self.add_order(order)

    def order_summary(self, o: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": o["id"],
            "name": o["name"],
            "updated_at": o["updated_at"],
            "created_at": o["created_at"],
            "tags": [t.strip() for t in o.get("tags", "").split(",") if t.strip()],
            "note": o.get("note"),
            "currency": o["currency"],
            "total_price": o["total_price"],
            "financial_status": o["financial_status"],
            "fulfillment_status": o.get("fulfillment_status"),
            "skus": [li.get("sku") for li in o["line_items"]],
        }

    def inventory_report(self) -> dict[str, Any]:
        with self.lock:
            levels = []
            for (iid, lid), lv in sorted(self.levels.items()):
                levels.append(
                    {
                        "sku": self.items[iid]["sku"],
                        "location": self.locations[lid]["name"],
                        "location_id": lid,
                        "inventory_item_id": iid,
                        "available": lv["available"],
                        "updated_at": lv["updated_at"],
                        "set_count": lv.get("set_count", 0),
                    }
                )
            return {
                "levels": levels,
                "set_calls": len(self.inventory_calls),
                "batch_sizes": [c["size"] for c in self.inventory_calls],
            }
