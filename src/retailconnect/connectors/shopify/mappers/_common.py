"""Reading Shopify's money and ids: shop money first (``*_set.shop_money``), the plain field after."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from retailconnect.canonical import Money
from retailconnect.errors import MappingError


def unwrap(payload: Any, key: str) -> dict[str, Any]:
    """Accept the bare object or the REST wrapper ``{"order": {...}}``."""
    if isinstance(payload, dict) and len(payload) == 1 and isinstance(payload.get(key), dict):
        return payload[key]
    if not isinstance(payload, dict):
        raise MappingError(f"expected a JSON object for a Shopify {key}", context={"path": "$"})
    return payload


def dec(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise MappingError(f"expected a decimal amount, got {value!r}", context={"path": path})
    try:
        d = Decimal(str(value).strip()) if isinstance(value, int | float | str) else None
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite():
        raise MappingError(f"{value!r} is not a decimal amount", context={"path": path})
    return d


def money_from(
    node: dict[str, Any], field: str, path: str, currency: str, *, which: str = "shop_money"
) -> Money | None:
    """``node[field + "_set"][which]`` when present, else ``node[field]`` in ``currency``; None if absent."""
    mset = node.get(f"{field}_set")
    if isinstance(mset, dict) and isinstance(mset.get(which), dict):
        m = mset[which]
        cur = m.get("currency_code") or m.get("currency") or currency
        return Money(amount=dec(m.get("amount"), f"{path}.{field}_set.{which}.amount"), currency=cur)
    if which != "shop_money":
        return None
    if field in node and node[field] is not None:
        return Money(amount=dec(node[field], f"{path}.{field}"), currency=currency)
    return None


def money_req(node: dict[str, Any], field: str, path: str, currency: str) -> Money:
    m = money_from(node, field, path, currency)
    if m is None:
        raise MappingError(f"missing {field}", context={"path": f"{path}.{field}"})
    if m.currency != currency:
        raise MappingError(
            f"{field} is in {m.currency}, the shop currency is {currency}",
            context={"path": f"{path}.{field}_set.shop_money.currency_code"},
        )
    return m


def alloc_sum(allocs: Any, path: str, currency: str, which: str = "shop_money") -> Money | None:
    total = Money.zero(currency)
    for i, a in enumerate(allocs or []):
        m = money_from(a, "amount", f"{path}[{i}]", currency, which=which)
        if m is None:
            return None
        total = total + m
    return total


def ts(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise MappingError(f"expected an ISO 8601 time, got {value!r}", context={"path": path})
    try:
        d = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{value!r} is not an ISO 8601 time", context={"path": path}) from None
    if d.tzinfo is None:
        raise MappingError(f"{value!r} has no timezone", context={"path": path})
    return d


def sid(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def clean(value: Any) -> str | None:
    """Shopify exports sometimes carry the string "NULL"; treat it (and "") as missing."""
    if value is None:
        return None
    s = str(value).strip()
    return None if s == "" or s.upper() == "NULL" else s
