"""Shopify refund (refunds/create webhook, REST Refund) -> canonical Refund.

``total`` is what Shopify actually paid back: the successful ``refund`` transactions. Lines carry
``subtotal_set``/``total_tax_set``; shipping comes from ``refund_shipping_lines`` (or a ``shipping_refund``
order adjustment); other order adjustments are kept signed in ``adjustments``. When the parts do not add up to
the transactions (Shopify's own samples do not) the figures are kept and a warning is reported.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from retailconnect.canonical import Money, Refund, RefundLine
from retailconnect.connectors._kit import MapContext
from retailconnect.errors import MappingError

from ._common import at, clean, guarded, items, money_from, sid, ts, unwrap

__all__ = ["refund_from_shopify"]

_RESTOCK = {"return", "cancel", "legacy_restock"}


def _currency(r: dict[str, Any]) -> str:
    for rli in items(r, "refund_line_items", "$"):
        for f in ("subtotal_set", "total_tax_set"):
            m = (rli.get(f) or {}).get("shop_money") or {}
            if m.get("currency_code"):
                return str(m["currency_code"])
    for t in items(r, "transactions", "$"):
        if t.get("currency"):
            return str(t["currency"])
    for adj in items(r, "order_adjustments", "$"):
        m = (adj.get("amount_set") or {}).get("shop_money") or {}
        if m.get("currency_code"):
            return str(m["currency_code"])
    if r.get("currency"):
        return str(r["currency"])
    raise MappingError("cannot tell the refund's currency", context={"path": "$.transactions"})


@guarded
def refund_from_shopify(payload: Any, ctx: MapContext) -> Refund:
    r = unwrap(payload, "refund")
    if r.get("id") is None:
        raise MappingError("missing refund id", context={"path": "$.id"})
    if r.get("order_id") is None:
        raise MappingError("missing order_id", context={"path": "$.order_id"})
    cur = _currency(r)
    z = Money.zero(cur)
    lines: list[RefundLine] = []
    for i, rli in enumerate(items(r, "refund_line_items", "$")):
        p = f"$.refund_line_items[{i}]"
        at(p)
        li = rli.get("line_item") if isinstance(rli.get("line_item"), dict) else {}
        qty = rli.get("quantity")
        if not isinstance(qty, int) or qty < 0:
            raise MappingError(
                f"quantity must be a non-negative integer, got {qty!r}", context={"path": f"{p}.quantity"}
            )
        lines.append(
            RefundLine(
                sku=clean(li.get("sku")),
                order_line_id=sid(rli.get("line_item_id") or li.get("id")),
                quantity=qty,
                amount=money_from(rli, "subtotal", p, cur) or z,
                tax=money_from(rli, "total_tax", p, cur) or z,
                restock=str(rli.get("restock_type") or "") in _RESTOCK,
            )
        )
    shipping = z
    for i, rsl in enumerate(items(r, "refund_shipping_lines", "$")):
        shipping = shipping + (money_from(rsl, "subtotal_amount", f"$.refund_shipping_lines[{i}]", cur) or z)
    adjustments = z
    for i, adj in enumerate(items(r, "order_adjustments", "$")):
        m = money_from(adj, "amount", f"$.order_adjustments[{i}]", cur) or z
        tax = money_from(adj, "tax_amount", f"$.order_adjustments[{i}]", cur) or z
        if adj.get("kind") == "shipping_refund":
            if not r.get("refund_shipping_lines"):
                shipping = shipping - m - tax  # Shopify records refunded shipping as a negative adjustment
        else:
            adjustments = adjustments + m + tax
    paid = z
    n_tx = 0
    for i, t in enumerate(items(r, "transactions", "$")):
        if t.get("kind") == "refund" and t.get("status") in (None, "success"):
            tm = money_from(t, "amount", f"$.transactions[{i}]", cur)
            if tm is not None and tm.currency == cur:
                paid = paid + tm
                n_tx += 1
    at("$")
    parts = Money.sum([ln.amount + (ln.tax or z) for ln in lines], cur) + shipping - adjustments
    total = paid if n_tx else parts
    if n_tx and parts != paid:
        ctx.warn(
            f"refund {r['id']}: refunded transactions {paid} differ from lines+tax+shipping-adjustments {parts} "
            "(Shopify's figures kept)"
        )
    try:
        return Refund(
            external_refs={"shopify": str(r["id"]), "shopify_order": str(r["order_id"])},
            order_number=str(r.get("order_name") or r["order_id"]),
            channel=ctx.channel or "shopify",
            currency=cur,
            lines=lines,
            shipping=shipping,
            adjustments=adjustments,
            total=total,
            reason=clean(r.get("note")),
            created_at=ts(r.get("processed_at") or r.get("created_at"), "$.created_at"),
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        raise MappingError(f"canonical refund invalid: {err['msg']}", context={"path": path}) from None
