"""Small helpers shared by the NetSuite mappers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from retailconnect.canonical import Address
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError


def dec(value: Any, path: str) -> Decimal:
    """A Decimal from a NetSuite number (Decimal, int, numeric string; a float from a plain json.loads
    is taken by its shortest repr, which is the literal NetSuite sent)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise MappingError(f"expected a number at {path}", context={"path": path})
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{value!r} is not a number", context={"path": path}) from None


def setting(ctx: MapContext, key: str) -> Any:
    """A NetSuite setting; ``subsidiary_id`` may also be given as ``subsidiary`` (and so on)."""
    value = ctx.settings.get(key)
    if value is None and key.endswith("_id"):
        value = ctx.settings.get(key[:-3])
    return value


def ref(value: Any) -> dict[str, Any] | None:
    return None if value in (None, "") else {"id": str(value)}


def address_to_netsuite(a: Address | None) -> dict[str, Any] | None:
    if a is None:
        return None
    name = " ".join(p for p in (a.first_name, a.last_name) if p) or None
    out: dict[str, Any] = {
        "addressee": name,
        "attention": a.company,
        "addr1": a.line1,
        "addr2": a.line2,
        "city": a.city,
        "state": a.region_code,
        "zip": a.postal_code,
        "country": {"id": a.country_code} if a.country_code else None,
        "addrPhone": a.phone,
    }
    return {k: v for k, v in out.items() if v is not None}


def address_from_netsuite(d: Any) -> Address | None:
    if not isinstance(d, dict) or not d:
        return None
    name = str(d.get("addressee") or "").strip()
    first, _, last = name.partition(" ")
    country = d.get("country")
    if isinstance(country, dict):
        country = country.get("id")
    return Address(
        first_name=first or None,
        last_name=last or None,
        company=d.get("attention"),
        line1=d.get("addr1"),
        line2=d.get("addr2"),
        city=d.get("city"),
        region_code=d.get("state"),
        postal_code=d.get("zip"),
        country_code=country if isinstance(country, str) and len(country) == 2 else None,
        phone=d.get("addrPhone"),
    )
