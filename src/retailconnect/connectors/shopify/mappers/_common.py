"""Reading Shopify's money and ids: shop money first (``*_set.shop_money``), the plain field after."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import ValidationError

from retailconnect.canonical import Money, is_currency
from retailconnect.errors import MappingError, RetailConnectError

T = TypeVar("T")
_where: ContextVar[str] = ContextVar("shopify_map_where", default="$")


def at(path: str) -> None:
    """Record where the mapper is working, so an unexpected shape is reported with a JSON path."""
    _where.set(path)


def guarded(fn: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    """Any failure inside a mapper becomes a MappingError naming the JSON path it was at (never a crash)."""

    @functools.wraps(fn)
    def wrapper(payload: Any, ctx: Any) -> T:
        token = _where.set("$")
        try:
            return fn(payload, ctx)
        except MappingError:
            raise
        except RetailConnectError as exc:
            raise MappingError(exc.message, context={"path": _where.get(), **exc.context}) from None
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"])
            raise MappingError(
                f"{exc.title} {field}: {err['msg']}".strip(), context={"path": _where.get()}
            ) from None
        except (TypeError, AttributeError, KeyError, IndexError, ValueError, ArithmeticError) as exc:
            raise MappingError(
                f"unexpected payload shape ({type(exc).__name__}: {exc})", context={"path": _where.get()}
            ) from None
        finally:
            _where.reset(token)

    return wrapper


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
    if d is None or not d.is_finite() or abs(d) >= Decimal("1e15"):
        raise MappingError(f"{value!r} is not a decimal amount", context={"path": path})
    return d


def money_from(
    node: dict[str, Any], field: str, path: str, currency: str, *, which: str = "shop_money"
) -> Money | None:
    """``node[field + "_set"][which]`` when present, else ``node[field]`` in ``currency``; None if absent."""
    if not isinstance(node, dict):
        raise MappingError("expected a JSON object", context={"path": path})
    mset = node.get(f"{field}_set")
    if isinstance(mset, dict) and isinstance(mset.get(which), dict):
        m = mset[which]
        cur = m.get("currency_code") or m.get("currency") or currency
        if not isinstance(cur, str) or not is_currency(cur.strip().upper()):
            raise MappingError(
                f"{cur!r} is not an ISO 4217 currency",
                context={"path": f"{path}.{field}_set.{which}.currency_code"},
            )
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
    if allocs is not None and not isinstance(allocs, list):
        raise MappingError("expected a list", context={"path": path})
    for i, a in enumerate(allocs or []):
        m = money_from(a, "amount", f"{path}[{i}]", currency, which=which)
        if m is None:
            return None
        total = total + m
    return total


def items(node: dict[str, Any], key: str, path: str) -> list[Any]:
    """``node[key]`` as a list of objects (missing/null -> [])."""
    v = node.get(key)
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise MappingError(f"{key} must be a list of objects", context={"path": f"{path}.{key}"})
    return v


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
