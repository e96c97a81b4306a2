"""Shopify GraphQL shapes shared by the resolvers: GIDs, cursor connections, userErrors, MoneyBag and friends."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError

from .orders import fmt

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
