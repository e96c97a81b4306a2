"""Shopify wire shapes the client reads (GraphQL Admin API 2025-01): the cost extension and ids."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["QueryCost", "ThrottleStatus", "gid", "legacy_id", "rest_order_from_graphql"]


class ThrottleStatus(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    maximumAvailable: float
    currentlyAvailable: float
    restoreRate: float


class QueryCost(BaseModel):
    model_config = ConfigDict(extra="ignore")
    requestedQueryCost: float | None = None
    actualQueryCost: float | None = None
    throttleStatus: ThrottleStatus | None = None


def gid(kind: str, value: str | int) -> str:
    """``gid://shopify/<kind>/<id>`` for a numeric id; a GID is returned unchanged."""
    s = str(value)
    return s if s.startswith("gid://") else f"gid://shopify/{kind}/{s}"


def legacy_id(value: str) -> str:
    return value.rsplit("/", 1)[-1].split("?")[0]


def _set(bag: Any) -> dict[str, Any] | None:
    if not isinstance(bag, dict):
        return None
    out = {}
    for src, dst in (("shopMoney", "shop_money"), ("presentmentMoney", "presentment_money")):
        m = bag.get(src)
        if isinstance(m, dict):
            out[dst] = {"amount": str(m.get("amount")), "currency_code": m.get("currencyCode")}
    return out


def _shop(bag: Any) -> str | None:
    s = _set(bag)
    return s["shop_money"]["amount"] if s and "shop_money" in s else None


def _allocs(items: Any) -> list[dict[str, Any]]:
    return [
        {"amount": _shop(a.get("allocatedAmountSet")), "amount_set": _set(a.get("allocatedAmountSet"))}
        for a in items or []
    ]


def _taxes(items: Any) -> list[dict[str, Any]]:
    return [
        {
            "title": t.get("title"),
            "rate": t.get("rate"),
            "price": _shop(t.get("priceSet")),
            "price_set": _set(t.get("priceSet")),
        }
        for t in items or []
    ]


def _address(a: Any) -> dict[str, Any] | None:
    if not isinstance(a, dict):
        return None
    return {
        "first_name": a.get("firstName"),
        "last_name": a.get("lastName"),
        "company": a.get("company"),
        "address1": a.get("address1"),
        "address2": a.get("address2"),
        "city": a.get("city"),
        "province_code": a.get("provinceCode"),
        "zip": a.get("zip"),
        "country_code": a.get("countryCodeV2"),
        "phone": a.get("phone"),
    }


def rest_order_from_graphql(
    node: dict[str, Any], lines: list[dict[str, Any]], ships: list[dict[str, Any]]
) -> dict[str, Any]:
    """A GraphQL Admin ``Order`` node (with its line and shipping line nodes) in the webhook/REST order shape,
    so the reconciliation pull feeds the same mapper (and the same capture key, ``id``) as webhooks."""
    ful = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked"}
    total = _set(node.get("totalPriceSet")) or {}
    cust = node.get("customer") or None
    out: dict[str, Any] = {
        "id": int(node["legacyResourceId"]),
        "admin_graphql_api_id": node["id"],
        "name": node.get("name"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "closed_at": node.get("closedAt"),
        "currency": (total.get("shop_money") or {}).get("currency_code"),
        "presentment_currency": node.get("presentmentCurrencyCode"),
        "taxes_included": bool(node.get("taxesIncluded")),
        "financial_status": str(node.get("displayFinancialStatus") or "pending").lower(),
        "fulfillment_status": ful.get(str(node.get("displayFulfillmentStatus"))),
        "tags": ", ".join(node.get("tags") or []),
        "note": node.get("note"),
        "customer": {
            "id": int(cust["legacyResourceId"]),
            "email": cust.get("email"),
            "first_name": cust.get("firstName"),
            "last_name": cust.get("lastName"),
        }
        if cust
        else None,
        "billing_address": _address(node.get("billingAddress")),
        "shipping_address": _address(node.get("shippingAddress")),
        "line_items": [
            {
                "id": int(legacy_id(li["id"])),
                "sku": li.get("sku"),
                "name": li.get("name"),
                "title": li.get("title"),
                "quantity": li["quantity"],
                "current_quantity": li.get("currentQuantity", li["quantity"]),
                "requires_shipping": li.get("requiresShipping", True),
                "gift_card": li.get("isGiftCard", False),
                "price": _shop(li.get("originalUnitPriceSet")),
                "price_set": _set(li.get("originalUnitPriceSet")),
                "discount_allocations": _allocs(li.get("discountAllocations")),
                "tax_lines": _taxes(li.get("taxLines")),
                "variant_id": int(legacy_id(li["variant"]["id"])) if li.get("variant") else None,
                "product_id": int(legacy_id(li["product"]["id"])) if li.get("product") else None,
            }
            for li in lines
        ],
        "shipping_lines": [
            {
                "id": int(legacy_id(sl["id"])) if sl.get("id") else None,
                "code": sl.get("code"),
                "title": sl.get("title"),
                "price": _shop(sl.get("originalPriceSet")),
                "price_set": _set(sl.get("originalPriceSet")),
                "discount_allocations": _allocs(sl.get("discountAllocations")),
                "tax_lines": _taxes(sl.get("taxLines")),
            }
            for sl in ships
        ],
    }
    for gql, rest in (
        ("subtotalPriceSet", "subtotal_price"),
        ("totalDiscountsSet", "total_discounts"),
        ("totalShippingPriceSet", "total_shipping_price"),
        ("totalTaxSet", "total_tax"),
        ("totalPriceSet", "total_price"),
        ("currentTotalPriceSet", "current_total_price"),
        ("currentSubtotalPriceSet", "current_subtotal_price"),
        ("currentTotalDiscountsSet", "current_total_discounts"),
        ("currentTotalTaxSet", "current_total_tax"),
    ):
        if node.get(gql):
            out[rest] = _shop(node[gql])
            out[rest + "_set"] = _set(node[gql])
    return out
