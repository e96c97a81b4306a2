"""Order to cash, as durable workflows whose ids all start with the order's id.

``order:{tenant}:{channel}:{external_id}`` (capture, on the ERP queue at tier 1)::

    [validate_customer_tax_reserve] load order state, validate customer (ERP look-up or create, cached),
    tax (tax system when configured, else the channel's), availability check + reservation
    -> [post_sales_order] cancelled meanwhile? release and stop; else post the latest version to the ERP
       (external id = workflow id), then binding, posted flag (taking the facts that waited for it) and
       order.accepted, in the same step ([record_posting_publish_accepted] on its own only when an
       operator skipped the posting)
    -> [request_fulfilment] at the WMS

Continuations, each started by an event once the order is posted (or by the capture flow for facts that
arrived early), each with a deterministic id so that a repeated event never doubles it:

- ``...:shipment:{key}`` (tier 2): shipment.dispatched -> item fulfilment in the ERP, fulfilment with
  tracking on the channel, reservation consumed, order.fulfilled published;
- ``...:payment`` (tier 1): payment captured -> customer payment in the ERP;
- ``...:edit:{n}`` (tier 1): a line removed or a quantity changed after capture -> the ERP order updated,
  the reservation adjusted;
- ``...:cancel`` (tier 1): cancelled after posting -> the ERP order cancelled (or flagged for a person,
  per ``policies.erp.<erp>.cancellation_after_post``), the WMS request cancelled, the reservation released.

Waiting for the shipment happens between workflows, not inside one: a capture workflow holding an ERP
queue slot for days would starve the queue.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

from retailconnect.canonical import Money, Order, Shipment, make_event
from retailconnect.errors import VendorRejectedError

from . import engine
from .services import FlowServices, current
from .steps import state
from .toolkit import ERP_POLICY, LOCAL_POLICY, SKIPPED, FlowContext, audit, checkpoint

__all__ = [
    "follow_up",
    "order_cancel",
    "order_edit",
    "order_payment",
    "order_shipment",
    "order_to_cash",
    "order_workflow_id",
]

TIER_PRIORITY = {1: 1, 2: 2, 3: 3}


def order_workflow_id(tenant: str, channel: str, external_id: str) -> str:
    return f"order:{tenant}:{channel}:{external_id}"


def _business(order: Order, svc: FlowServices) -> dict[str, Any]:
    systems = [order.channel]
    if svc.default_erp:
        systems.append(svc.default_erp)
    if svc.default_warehouse:
        systems.append(svc.default_warehouse)
    return {
        "order_number": order.number,
        "customer": order.customer.email,
        "amount": str(order.totals.grand_total),
        "systems": systems,
    }


async def _load(wf: str) -> dict[str, Any]:
    row = await asyncio.to_thread(state.get_order_row, current().store, wf)
    if row is None:
        raise VendorRejectedError(f"no order state for {wf}", context={"workflow_id": wf})
    return {
        "order": row.order_json,
        "cancelled": row.cancelled,
        "posted": row.posted,
        "erp_id": row.erp_id,
        "correlation_id": row.correlation_id,
    }


async def _context(
    wf: str, tenant: str, correlation_id: str | None
) -> tuple[FlowContext, Order, dict[str, Any]]:
    ctx = FlowContext(engine.workflow_id() or wf, tenant, correlation_id)
    st = await checkpoint(ctx, "load_order", lambda: _load(wf), policy=LOCAL_POLICY)
    order = Order.model_validate(st["order"])
    ctx.business = _business(order, current())
    return ctx, order, st


# -- capture ------------------------------------------------------------------------------------------


@engine.workflow("order_to_cash")
async def order_to_cash(wf: str, tenant: str, correlation_id: str | None = None) -> dict[str, Any]:
    """Two durable steps per order (three with a warehouse; a DBOS step costs system-database writes,
    on SQLite the budget that matters): each groups actions that are idempotent together. The order
    itself lives in ``flow_orders``; the steps' recorded outputs carry only small facts, not the order,
    so it is neither re-serialised into DBOS nor re-validated per step."""
    svc = current()
    ctx = FlowContext(engine.workflow_id() or wf, tenant, correlation_id)
    erp = svc.erp()
    # the order as this run of the workflow last read it (not durable: a replay reads it again)
    seen: dict[str, Any] = {}

    def _keep(order_json: dict[str, Any]) -> Order:
        if seen.get("json") != order_json:
            seen["json"] = order_json
            seen["order"] = Order.model_validate(order_json)
        order: Order = seen["order"]
        return order

    async def _order() -> Order:
        if "order" not in seen:
            _keep((await _load(wf))["order"])
        order: Order = seen["order"]
        return order

    async def _validate() -> dict[str, Any]:
        """Load the order state, validate the customer in the ERP (cached look-up, else create it with
        an external id), take the tax (the tax system's when configured, else the channel's) and hold
        the stock (idempotent per order)."""
        st = await _load(wf)
        order = _keep(st["order"])
        facts = {k: st[k] for k in ("posted", "cancelled", "erp_id")} | {"business": _business(order, svc)}
        if st["posted"] or st["cancelled"]:
            return {**facts, "customer_id": None, "tax": None, "shortages": {}}
        customer_id = None
        email = order.customer.email
        if email:
            customer_id, _stale = await erp.lookup_customer(email)
        if customer_id is None:
            key = email or f"{order.channel}:{order.number}"
            customer_id = (
                await erp.upsert_customer(order.customer, external_id=f"customer:{tenant}:{key}")
            ).internal_id
        tax = {"source": svc.tax_system or order.channel, "tax_total": str(order.totals.tax_total)}
        shortages: dict[str, int] = {}
        if svc.availability is not None:
            lines = [
                (ln.sku, ln.quantity) for ln in order.lines if ln.sku and ln.requires_shipping and ln.quantity
            ]
            res = await asyncio.to_thread(svc.availability.reserve, wf, lines, allow_backorder=True)
            shortages = res.shortages
        return {**facts, "customer_id": customer_id, "tax": tax, "shortages": shortages}

    st = await checkpoint(
        ctx, "validate_customer_tax_reserve", _validate, policy=ERP_POLICY, system=erp.system
    )
    if "business" not in st:  # recorded by an earlier version of this flow, with the order in it
        st["business"] = _business(_keep(st["order"]), svc)
    ctx.business = st["business"]
    number = ctx.business["order_number"]
    if st["posted"]:
        return {"status": "accepted", "erp_id": st["erp_id"], "note": "already posted"}
    if st["cancelled"]:
        await _release(ctx)
        await audit(ctx, "order.cancelled_before_posting", {"order_number": number})
        return {"status": "cancelled"}
    customer_id = st["customer_id"]

    async def _record(erp_id: str | None) -> list[dict[str, Any]]:
        """Binding, posted flag (taking the facts that waited for it) and order.accepted
        (with a deterministic event id, so a replayed step publishes the same event)."""
        order = await _order()

        def bind(c: Any) -> None:
            if erp_id:
                svc.bindings.bind("order", erp.system, str(order.id), erp_id, conn=c)

        row = await asyncio.to_thread(state.mark_posted, svc.store, wf, erp_id, bind=bind)
        event = make_event(
            "order.accepted",
            source=svc.source,
            subject=order.number,
            data={"workflow_id": wf, "order": seen["json"], "erp_id": erp_id},
            correlationid=correlation_id,
            tenant=tenant,
            dataschema="order/1.0.0",
        )
        await svc.publish(
            event.model_copy(update={"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{wf}#order.accepted"))})
        )
        return row.pending

    made: dict[str, Any] = {}  # the ERP's answer, kept across attempts of the step below

    async def _post() -> dict[str, Any]:
        """The latest version of the order (edits before posting apply) unless it was cancelled meanwhile,
        posted with the workflow id as the ERP's external id (a repeat is an idempotent upsert), then
        recorded (:func:`_record`). One step: a DBOS step is the costliest part of a flow, and both halves
        are idempotent, so a replay after a crash between them repeats the upsert, never doubles the order;
        an attempt retried after a failure of the recording does not post again."""
        if "res" not in made:
            latest = await _load(wf)
            if latest["cancelled"]:
                return {"cancelled": True}
            current_order = _keep(latest["order"])
            made["res"] = await erp.post_sales_order(current_order, external_id=wf, customer_id=customer_id)
        res = made["res"]
        pending = await _record(res.internal_id)
        return {"cancelled": False, "erp_id": res.internal_id, "created": res.created, "pending": pending}

    posted = await checkpoint(ctx, "post_sales_order", _post, policy=ERP_POLICY, system=erp.system)
    if posted != SKIPPED and posted["cancelled"]:
        await _release(ctx)
        await audit(ctx, "order.cancelled_before_posting", {"order_number": number})
        return {"status": "cancelled"}
    if posted == SKIPPED:  # an operator keyed it into the ERP by hand: record it without an ERP id
        erp_id = None
        pending = await checkpoint(
            ctx, "record_posting_publish_accepted", lambda: _record(None), policy=LOCAL_POLICY
        )
    else:
        erp_id = posted["erp_id"]
        pending = posted["pending"]
    wh = svc.warehouse()
    if wh is not None:

        async def _request() -> Any:
            return await wh.request_fulfillment(await _order(), external_id=wf)

        await checkpoint(ctx, "request_fulfilment", _request, policy=ERP_POLICY, system=wh.system)
    # Facts that waited for the posting (paid, cancelled, edited, dispatched): their continuations start
    # here as child workflows (recorded, so a replay does not start them again).
    started = [
        await follow_up(svc, wf, tenant, correlation_id, f) for f in (pending if pending != SKIPPED else [])
    ]
    return {"status": "accepted", "erp_id": erp_id, "follow_ups": started}


async def _release(ctx: FlowContext) -> None:
    async def _do() -> list[str]:
        svc = current()
        if svc.availability is None:
            return []
        return await asyncio.to_thread(svc.availability.release, ctx.workflow_id)

    await checkpoint(ctx, "release_reservation", _do, policy=LOCAL_POLICY)


# -- continuations --------------------------------------------------------------------------------------


def _fact_key(fact: dict[str, Any]) -> str:
    raw = str(sorted((k, str(v)) for k, v in fact.items()))
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


async def follow_up(
    svc: FlowServices, wf: str, tenant: str, correlation_id: str | None, fact: dict[str, Any]
) -> str:
    """Start the continuation for a fact about a posted order (idempotent by workflow id)."""
    kind = fact.get("type")
    queue = svc.erp_queue()
    if kind == "paid":
        return await svc.engine.start(
            order_payment, wf, tenant, correlation_id, fact.get("amount"), fact.get("reference"),
            workflow_id=f"{wf}:payment", queue=queue, priority=TIER_PRIORITY[1],
        )  # fmt: skip
    if kind == "cancelled":
        return await svc.engine.start(
            order_cancel,
            wf,
            tenant,
            correlation_id,
            workflow_id=f"{wf}:cancel",
            queue=queue,
            priority=TIER_PRIORITY[1],
        )
    if kind == "edited":
        return await svc.engine.start(
            order_edit, wf, tenant, correlation_id, fact.get("version"),
            workflow_id=f"{wf}:edit:{fact.get('version')}", queue=queue, priority=TIER_PRIORITY[1],
        )  # fmt: skip
    if kind == "dispatched":
        key = fact.get("key") or _fact_key(fact)
        return await svc.engine.start(
            order_shipment, wf, tenant, correlation_id, fact.get("shipment"),
            workflow_id=f"{wf}:shipment:{key}", queue=queue, priority=TIER_PRIORITY[2],
        )  # fmt: skip
    return ""


@engine.workflow("order_shipment")
async def order_shipment(
    wf: str, tenant: str, correlation_id: str | None, shipment_json: dict[str, Any]
) -> dict[str, Any]:
    svc = current()
    ctx, order, _st = await _context(wf, tenant, correlation_id)
    shipment = Shipment.model_validate(shipment_json)
    key = engine.workflow_id() or wf
    erp = svc.erp()
    res = await checkpoint(
        ctx,
        "post_item_fulfilment",
        lambda: erp.post_fulfillment(shipment, order_external_id=wf, external_id=key),
        policy=ERP_POLICY,
        system=erp.system,
    )
    channel = svc.channel(order.channel)
    if channel is not None:
        ext = order.ref(order.channel) or wf.rsplit(":", 1)[-1]
        await checkpoint(
            ctx,
            "post_channel_fulfilment",
            lambda: channel.post_fulfillment(shipment, order_external_id=ext),
            policy=ERP_POLICY,
            system=channel.system,
        )

    async def _consume() -> None:
        if svc.availability is not None:
            await asyncio.to_thread(svc.availability.consume, wf)
        await asyncio.to_thread(state.update_order_row, svc.store, wf, status="fulfilled")
        await svc.publish(
            make_event(
                "order.fulfilled",
                source=svc.source,
                subject=order.number,
                data={"workflow_id": wf, "tracking_number": shipment.tracking_number},
                correlationid=correlation_id,
                tenant=tenant,
            )
        )

    await checkpoint(ctx, "close_fulfilment", _consume, policy=LOCAL_POLICY)
    await audit(ctx, "order.fulfilled", {"tracking": shipment.tracking_number})
    return {"status": "fulfilled", "erp_fulfilment": None if res == SKIPPED else res.internal_id}


@engine.workflow("order_payment")
async def order_payment(
    wf: str, tenant: str, correlation_id: str | None, amount: dict[str, Any] | None, reference: str | None
) -> dict[str, Any]:
    svc = current()
    ctx, order, _st = await _context(wf, tenant, correlation_id)
    money = Money.model_validate(amount) if amount else order.totals.grand_total
    erp = svc.erp()
    res = await checkpoint(
        ctx,
        "post_payment",
        lambda: erp.post_payment(
            money, order_external_id=wf, external_id=f"{wf}:payment", reference=reference
        ),
        policy=ERP_POLICY,
        system=erp.system,
    )
    await checkpoint(
        ctx,
        "mark_paid",
        lambda: asyncio.to_thread(state.update_order_row, svc.store, wf, paid=True),
        policy=LOCAL_POLICY,
    )
    await audit(ctx, "order.payment_recorded", {"amount": str(money)})
    return {"status": "paid", "erp_payment": None if res == SKIPPED else res.internal_id}


@engine.workflow("order_edit")
async def order_edit(wf: str, tenant: str, correlation_id: str | None, version: str | None) -> dict[str, Any]:
    svc = current()
    ctx, order, _st = await _context(wf, tenant, correlation_id)
    erp = svc.erp()
    await checkpoint(
        ctx,
        "update_sales_order",
        lambda: erp.update_sales_order(order, external_id=wf),
        policy=ERP_POLICY,
        system=erp.system,
    )

    async def _rereserve() -> None:
        if svc.availability is None:
            return
        lines = [
            (ln.sku, ln.quantity) for ln in order.lines if ln.sku and ln.requires_shipping and ln.quantity
        ]
        await asyncio.to_thread(svc.availability.release, wf)
        await asyncio.to_thread(svc.availability.reserve, f"{wf}#{version}", lines, allow_backorder=True)

    await checkpoint(ctx, "adjust_reservation", _rereserve, policy=LOCAL_POLICY)
    await audit(ctx, "order.edited", {"version": version})
    return {"status": "edited", "version": version}


@engine.workflow("order_cancel")
async def order_cancel(wf: str, tenant: str, correlation_id: str | None) -> dict[str, Any]:
    svc = current()
    ctx, order, st = await _context(wf, tenant, correlation_id)
    erp = svc.erp()
    mode = svc.cancellation_after_post.get(erp.system, "cancel")
    outcome = "cancelled"
    if st["posted"]:
        if mode == "cancel":
            await checkpoint(
                ctx,
                "cancel_sales_order",
                lambda: erp.cancel_sales_order(external_id=wf),
                policy=ERP_POLICY,
                system=erp.system,
            )
        else:
            outcome = "flagged"

            async def _flag() -> int:
                rec = await asyncio.to_thread(
                    lambda: svc.exceptions.open(
                        code="cancelled_after_posting",
                        error_class="OrderCancelledAfterPosting",
                        message=f"order {order.number} was cancelled on {order.channel} after it was posted "
                        f"to {erp.system}",
                        suggested_action=f"Review the sales order in {erp.system} and cancel or credit it by hand.",
                        context={**ctx.business, "system": erp.system, "erp_id": st["erp_id"]},
                        tenant=tenant,
                        workflow_id=wf,
                        failed_step="cancel_sales_order",
                    )
                )
                return rec.id

            await checkpoint(ctx, "flag_for_review", _flag, policy=LOCAL_POLICY)
        wh = svc.warehouse()
        if wh is not None:
            await checkpoint(
                ctx,
                "cancel_fulfilment",
                lambda: wh.cancel_fulfillment(external_id=wf),
                policy=ERP_POLICY,
                system=wh.system,
            )
    await _release(ctx)
    await checkpoint(
        ctx,
        "mark_cancelled",
        lambda: asyncio.to_thread(state.update_order_row, svc.store, wf, status="cancelled", cancelled=True),
        policy=LOCAL_POLICY,
    )
    await audit(ctx, f"order.{outcome}", {"mode": mode, "posted": st["posted"]})
    return {"status": outcome}
