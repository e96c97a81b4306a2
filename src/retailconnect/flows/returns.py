"""Returns, as one durable workflow ``return:{tenant}:{channel}:{rma}``::

    accept (return authorisation in the ERP, the WMS told to expect the parcel)
    -> wait durably for the WMS inspection (``return.inspected``; a timeout parks the flow on an
       exception case) -> per line, by condition: restock, write off, or refused
    -> finance credit in the ERP (credit memo or cash refund) for the accepted lines only
    -> refund on the channel -> customer record updated (CRM hook, a no-op until a CRM connector
       exists) -> closed. Each checkpoint writes an audit entry.

Partial returns (fewer units than ordered, or some lines only) and items refused at inspection are
credited for exactly what was accepted; a return whose every item was refused credits nothing.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from retailconnect.canonical import (
    Disposition,
    ItemCondition,
    Money,
    Order,
    Refund,
    RefundKind,
    RefundLine,
    Return,
)
from retailconnect.errors import FlowError, NotFoundError

from . import engine
from .services import current
from .steps import state
from .toolkit import ERP_POLICY, LOCAL_POLICY, SKIPPED, FlowContext, audit, checkpoint

__all__ = ["InspectionTimeoutError", "dispositions", "return_workflow_id", "returns_flow"]

INSPECTED_TOPIC = "return.inspected"


class InspectionTimeoutError(FlowError):
    code = "inspection_timeout"
    title = "The warehouse did not report the inspection in time"


def return_workflow_id(tenant: str, channel: str, rma: str) -> str:
    return f"return:{tenant}:{channel}:{rma}"


_RESTOCKABLE = {ItemCondition.NEW, ItemCondition.OPENED}


def dispositions(ret: Return, inspection: dict[str, Any]) -> list[dict[str, Any]]:
    """Decide each returned line from the inspection: restock, write off, or refused (no credit)."""
    by_sku: dict[str, dict[str, Any]] = {}
    for ln in inspection.get("lines", []):
        by_sku[str(ln.get("sku"))] = ln
    out: list[dict[str, Any]] = []
    for ln in ret.lines:
        seen = by_sku.get(ln.sku)
        if seen is None:
            out.append({"sku": ln.sku, "quantity": 0, "requested": ln.quantity, "disposition": "refused",
                        "condition": "missing", "reason": "not in the parcel"})  # fmt: skip
            continue
        qty = min(int(seen.get("quantity", ln.quantity)), ln.quantity)
        cond = seen.get("condition")
        condition = ItemCondition(cond) if cond else ItemCondition.NEW
        disp = seen.get("disposition")
        if disp:
            disposition = Disposition(disp)
        elif condition in _RESTOCKABLE:
            disposition = Disposition.RESTOCK
        elif condition == ItemCondition.MISSING:
            disposition = Disposition.REFUSED
        else:
            disposition = Disposition.WRITE_OFF
        if disposition == Disposition.REFUSED:
            qty = 0
        out.append({"sku": ln.sku, "quantity": qty, "requested": ln.quantity, "disposition": str(disposition),
                    "condition": str(condition), "reason": seen.get("reason")})  # fmt: skip
    return out


def _order_line(order: Order | None, sku: str) -> Any:
    if order is None:
        return None
    return next((ol for ol in order.lines if ol.sku == sku and ol.quantity), None)


def _unit_price(order: Order | None, sku: str, line_refund: Money | None, currency: str) -> Money:
    if line_refund is not None:
        return line_refund
    if order is not None:
        for ol in order.lines:
            if ol.sku == sku and ol.quantity:
                net = ol.line_total
                return Money(amount=(net.amount / Decimal(ol.quantity)), currency=net.currency)
    return Money.zero(currency)


@engine.workflow("returns")
async def returns_flow(
    wf: str, tenant: str, correlation_id: str | None, return_json: dict[str, Any], refund_kind: str = "refund"
) -> dict[str, Any]:
    svc = current()
    ret = Return.model_validate(return_json)
    ctx = FlowContext(wf, tenant, correlation_id, kind="return")

    async def _find_order() -> dict[str, Any] | None:
        row = await asyncio.to_thread(_order_row_by_number, ret.order_number, ret.channel)
        return None if row is None else {"workflow_id": row.workflow_id, "order": row.order_json}

    found = await checkpoint(ctx, "find_order", _find_order, policy=LOCAL_POLICY)
    if not found or found == SKIPPED:
        await checkpoint(ctx, "order_known", _missing_order(ret.order_number), policy=LOCAL_POLICY)
        found = {"workflow_id": None, "order": None}
    order_wf: str = found["workflow_id"] or f"order:{tenant}:{ret.channel}:{ret.order_number}"
    order = Order.model_validate(found["order"]) if found.get("order") else None
    currency = order.currency if order else "USD"
    ctx.business = {
        "order_number": ret.order_number,
        "rma": ret.rma_number,
        "customer": order.customer.email if order else None,
        "amount": None,
        "systems": [s for s in (ret.channel, svc.default_erp, svc.default_warehouse) if s],
    }
    erp = svc.erp()
    await checkpoint(
        ctx,
        "authorise_return",
        lambda: erp.post_return_authorization(ret, order_external_id=order_wf, external_id=wf),
        policy=ERP_POLICY,
        system=erp.system,
    )
    wh = svc.warehouse()
    if wh is not None:
        await checkpoint(
            ctx,
            "expect_return",
            lambda: wh.expect_return(ret, external_id=wf),
            policy=ERP_POLICY,
            system=wh.system,
        )
    await audit(ctx, "return.accepted", {"rma": ret.rma_number, "lines": len(ret.lines)})

    inspection = await engine.recv(INSPECTED_TOPIC, svc.inspection_timeout_s)
    if inspection is None:

        async def _timed_out() -> None:
            raise InspectionTimeoutError(
                f"no inspection for return {ret.rma_number or wf} within {svc.inspection_timeout_s:.0f}s",
                context={"rma": ret.rma_number},
            )

        waited: Any = await checkpoint(ctx, "await_inspection", _timed_out, policy=LOCAL_POLICY)
        inspection = (
            {"lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in ret.lines]}
            if waited == SKIPPED
            else {}
        )
    decided = dispositions(ret, inspection)
    await audit(ctx, "return.inspected", {"lines": decided})

    async def _restock() -> dict[str, int]:
        done: dict[str, int] = {}
        for d in decided:
            if d["disposition"] == "restock" and d["quantity"]:
                done[d["sku"]] = done.get(d["sku"], 0) + d["quantity"]
        return done

    restocked = await checkpoint(ctx, "restock_or_write_off", _restock, policy=LOCAL_POLICY)
    await audit(ctx, "return.dispositioned", {"restocked": restocked})

    lines: list[RefundLine] = []
    for d in decided:
        if not d["quantity"]:
            continue
        src = next((ln for ln in ret.lines if ln.sku == d["sku"]), None)
        unit = _unit_price(order, d["sku"], src.unit_refund if src else None, currency)
        ol = _order_line(order, d["sku"])
        tax = None
        if (
            order is not None
            and ol is not None
            and src is not None
            and src.unit_refund is None
            and not order.taxes_included
        ):
            # tax charged on top of the price is refunded with the item
            tax = Money(amount=ol.tax_total.amount * d["quantity"] / Decimal(ol.quantity), currency=currency)
        lines.append(
            RefundLine(
                sku=d["sku"],
                order_line_id=(src.order_line_id if src else None) or (ol.id if ol else None),
                quantity=d["quantity"],
                amount=unit * d["quantity"],
                tax=tax,
                restock=d["disposition"] == "restock",
            )
        )
    total = Money.sum([ln.amount + ln.tax if ln.tax is not None else ln.amount for ln in lines], currency)
    ctx.business["amount"] = str(total)
    credited: dict[str, Any] = {"total": str(total), "lines": len(lines)}
    if lines and not total.is_zero():
        refund = Refund(
            id=_stable_uuid(wf),
            kind=RefundKind(refund_kind),
            order_number=ret.order_number,
            channel=ret.channel,
            return_id=ret.id,
            currency=currency,
            lines=lines,
            total=total,
            reason="return",
        )
        res = await checkpoint(
            ctx,
            "finance_credit",
            lambda: erp.post_credit(refund, order_external_id=order_wf, external_id=f"{wf}:credit"),
            policy=ERP_POLICY,
            system=erp.system,
        )
        credited["erp_credit"] = None if res == SKIPPED else res.internal_id
        await audit(ctx, "return.credited", {"kind": refund_kind, "total": str(total)})
        channel = svc.channel(ret.channel or "")
        if channel is not None:
            ext = (order.ref(order.channel) if order else None) or order_wf.rsplit(":", 1)[-1]
            ref = await checkpoint(
                ctx,
                "channel_refund",
                lambda: channel.refund(refund, order_external_id=ext),
                policy=ERP_POLICY,
                system=channel.system,
            )
            credited["channel_refund"] = None if ref == SKIPPED else ref
            await audit(ctx, "return.refunded", {"channel": ret.channel, "total": str(total)})
    else:
        await audit(ctx, "return.nothing_to_credit", {"reason": "every item was refused at inspection"})

    async def _crm() -> str:
        return "no CRM connected"  # the hook a CRM connector will fill

    await checkpoint(ctx, "update_customer_record", _crm, policy=LOCAL_POLICY)
    await audit(ctx, "return.customer_updated", {"crm": None})
    await audit(ctx, "return.closed", {"credited": credited})
    return {"status": "closed", "dispositions": decided, **credited}


def _missing_order(order_number: str) -> Any:
    async def _raise() -> None:
        raise NotFoundError(
            f"no order {order_number} known to the hub", context={"order_number": order_number}
        )

    return _raise


def _order_row_by_number(order_number: str, channel: str | None) -> state.OrderRow | None:
    import sqlalchemy as sa

    from .tables import flow_orders

    q = sa.select(flow_orders.c.workflow_id).where(flow_orders.c.order_number == order_number)
    if channel:
        q = q.where(flow_orders.c.channel == channel)
    with current().store.connect() as c:
        wf = c.execute(q.limit(1)).scalar()
    return None if wf is None else state.get_order_row(current().store, wf)


def _stable_uuid(seed: str) -> Any:
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_URL, f"retailconnect:{seed}")
