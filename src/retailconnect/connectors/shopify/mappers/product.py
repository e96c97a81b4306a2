"""Shopify product (products/create|update webhook, REST Product) -> canonical Product.

Variant prices need the shop currency, which a product payload does not carry: it comes from
``ctx.settings["shop_currency"]``; without it prices are kept as text in the variant's ``external_refs``.
A variant without a SKU cannot be a canonical Variant: it is left out with a warning naming it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from retailconnect.canonical import Money, Product, Variant, Weight, WeightUnit
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError

from ._common import at, clean, dec, guarded, items, sid, unwrap

__all__ = ["product_from_shopify"]


@guarded
def product_from_shopify(payload: Any, ctx: MapContext) -> Product:
    p = unwrap(payload, "product")
    if p.get("id") is None or not clean(p.get("title")):
        raise MappingError(
            "a product needs id and title", context={"path": "$.id" if p.get("id") is None else "$.title"}
        )
    cur = ctx.settings.get("shop_currency")
    variants: list[Variant] = []
    for i, v in enumerate(items(p, "variants", "$")):
        path = f"$.variants[{i}]"
        at(path)
        sku = clean(v.get("sku"))
        if sku is None:
            ctx.warn(f"variants[{i}] (id {v.get('id')}) has no SKU; left out of the canonical product")
            continue
        refs = {"shopify_variant": str(v.get("id")), "shopify_product": str(p["id"])}
        if v.get("inventory_item_id") is not None:
            refs["shopify_inventory_item"] = str(v["inventory_item_id"])
        price = compare = None
        if isinstance(cur, str):
            if v.get("price") is not None:
                price = Money(amount=dec(v["price"], f"{path}.price"), currency=cur)
            if v.get("compare_at_price") not in (None, ""):
                compare = Money(amount=dec(v["compare_at_price"], f"{path}.compare_at_price"), currency=cur)
        elif v.get("price") is not None:
            refs["shopify_price"] = str(v["price"])
        weight = None
        if v.get("weight") is not None and str(v.get("weight_unit") or "") in {u.value for u in WeightUnit}:
            weight = Weight(value=dec(v["weight"], f"{path}.weight"), unit=WeightUnit(v["weight_unit"]))
        options = {
            f"option{n}": str(v[f"option{n}"]) for n in (1, 2, 3) if v.get(f"option{n}") not in (None, "")
        }
        barcode = clean(v.get("barcode"))
        variants.append(
            Variant(
                sku=sku,
                title=clean(v.get("title")),
                gtin=barcode if barcode and barcode.isdigit() and len(barcode) in (8, 12, 13, 14) else None,
                options=options,
                weight=weight,
                price=price,
                compare_at_price=compare,
                requires_shipping=bool(v.get("requires_shipping", True)),
                taxable=bool(v.get("taxable", True)),
                external_refs=refs,
            )
        )
    at("$")
    if cur is None and any(v.get("price") is not None for v in items(p, "variants", "$")):
        ctx.warn(
            "shop currency unknown (settings.shop_currency): variant prices kept as text in external_refs"
        )
    try:
        return Product(
            external_refs={"shopify": str(p["id"])},
            title=str(p["title"]),
            handle=clean(p.get("handle")),
            description=clean(p.get("body_html")),
            vendor=clean(p.get("vendor")),
            product_type=clean(p.get("product_type")),
            status=str(p.get("status") or "active"),
            tags=[t.strip() for t in str(p.get("tags") or "").split(",") if t.strip()],
            options=[
                str(o.get("name")) for o in p.get("options") or [] if isinstance(o, dict) and o.get("name")
            ],
            variants=variants,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        path = "$" + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in err["loc"])
        raise MappingError(f"canonical product invalid: {err['msg']}", context={"path": path}) from None


_ = (Decimal, sid)
