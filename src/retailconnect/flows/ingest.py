"""How facts from outside reach the flows: order capture, channel and warehouse events, returns, and the
operator's actions on flows and exceptions. ``runtime.Hub`` exposes these to the gateway and the CLI."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from retailconnect.canonical import FinancialStatus, Order, OrderStatus, Return, Shipment
from retailconnect.errors import ConflictError, InputError, NotFoundError

from .order_to_cash import TIER_PRIORITY, follow_up, order_to_cash, order_workflow_id
from .returns import INSPECTED_TOPIC, return_workflow_id, returns_flow
from .services import FlowServices
from .steps import state
from .tables import flow_orders
from .toolkit import step_history

__all__ = [
    "CaptureResult",
    "FlowExceptions",
    "cancel_flow",
    "capture_order",
    "create_return",
    "flow_history",
    "list_flows",
    "order_event",
    "resolve_exception",
    "retry_flow",
    "return_inspected",
    "shipment_dispatched",
]

log = logging.getLogger("retailconnect.flows")


@dataclass(frozen=True)
class CaptureResult:
    status: str  # accepted | duplicate | rejected
    order_id: UUID | None
    workflow_id: str
    reasons: list[str] = field(default_factory=list)


def _external_id(order: Order) -> str:
    return order.ref(order.channel) or order.number


def _payment_fact(order: Order) -> dict[str, Any] | None:
    if order.financial_status in (
        FinancialStatus.PAID,
        FinancialStatus.PARTIALLY_REFUNDED,
        FinancialStatus.REFUNDED,
    ):
        return {"type": "paid", "amount": order.totals.grand_total.model_dump(mode="json")}
    return None


async def capture_order(
    svc: FlowServices, order: Order, *, tenant: str, correlation_id: str | None = None, source: str = "api"
) -> CaptureResult:
    """Record the order and start its workflow; a repeat (same channel + external id) is a duplicate."""
    wf = order_workflow_id(tenant, order.channel, _external_id(order))
    reasons = [
        f"line {i} has quantity 0 and no SKU"
        for i, ln in enumerate(order.lines)
        if not ln.quantity and not ln.sku
    ]
    if reasons:
        return CaptureResult("rejected", order.id, wf, reasons)
    return await order_event(
        svc, order, tenant=tenant, correlation_id=correlation_id, fact=_payment_fact(order), source=source
    )


async def order_event(
    svc: FlowServices,
    order: Order,
    *,
    tenant: str,
    correlation_id: str | None,
    fact: dict[str, Any] | None = None,
    source: str = "webhook",
) -> CaptureResult:
    """Fold an order event in (create, updated, paid, cancelled, in any order) and act on it."""
    ext = _external_id(order)
    wf = order_workflow_id(tenant, order.channel, ext)
    if fact is None and order.status == OrderStatus.CANCELLED:
        fact = {"type": "cancelled"}
    created, changed, row = await asyncio.to_thread(
        state.record_order,
        svc.store,
        wf,
        tenant=tenant,
        channel=order.channel,
        external_id=ext,
        order=order,
        correlation_id=correlation_id,
        fact=fact,
    )
    if created or (not row.posted and not row.cancelled and await svc.engine.status(wf) is None):
        # A repeat of an order whose row was recorded but whose workflow never started (the process
        # stopped between the two) starts it now, so the retry that brought it here is not swallowed.
        await svc.engine.start(
            order_to_cash,
            wf,
            tenant,
            correlation_id,
            workflow_id=wf,
            queue=svc.erp_queue(),
            priority=TIER_PRIORITY[1],
        )
        if not created:
            log.warning("order %s was recorded without a workflow; started it on the repeat", wf)
        return CaptureResult("accepted", UUID(row.order_json["id"]) if row.order_json else order.id, wf)
    if row.posted and changed:
        if fact is not None:
            await follow_up(svc, wf, tenant, correlation_id, fact)
        elif (
            row.order_json and row.order_json.get("updated_at") == order.model_dump(mode="json")["updated_at"]
        ):
            version = order.updated_at.strftime("%Y%m%dT%H%M%S%f")
            await follow_up(svc, wf, tenant, correlation_id, {"type": "edited", "version": version})
    order_id = UUID(row.order_json["id"]) if row.order_json else order.id
    return CaptureResult(
        "duplicate", order_id, wf, ["already captured" + ("; newer version kept" if changed else "")]
    )


def _find_order_wf(store: Any, order_number: str, channel: str | None) -> str | None:
    q = sa.select(flow_orders.c.workflow_id).where(flow_orders.c.order_number == order_number)
    if channel:
        q = q.where(flow_orders.c.channel == channel)
    with store.connect() as c:
        return c.execute(q.limit(1)).scalar()


async def shipment_dispatched(
    svc: FlowServices,
    shipment: Shipment,
    *,
    tenant: str,
    correlation_id: str | None,
    order_workflow: str | None = None,
) -> str | None:
    wf = order_workflow
    if wf is None:
        for key in ("wms_order", "order_workflow", "order_external_id"):
            ref = shipment.external_refs.get(key)
            if ref and ref.startswith("order:"):
                wf = ref
                break
    if wf is None:
        wf = await asyncio.to_thread(_find_order_wf, svc.store, shipment.order_number, shipment.channel)
    if wf is None:
        raise NotFoundError(
            f"shipment for unknown order {shipment.order_number}",
            context={"order_number": shipment.order_number},
        )
    key = shipment.tracking_number or str(shipment.id)
    fact = {"type": "dispatched", "key": key, "shipment": shipment.model_dump(mode="json")}
    row = await asyncio.to_thread(state.add_fact, svc.store, wf, fact)
    if row is not None and row.posted:
        return await follow_up(svc, wf, row.tenant, correlation_id, fact)
    return None


async def create_return(
    svc: FlowServices,
    ret: Return,
    *,
    tenant: str,
    correlation_id: str | None = None,
    refund_kind: str = "refund",
) -> CaptureResult:
    rma = ret.rma_number or str(ret.id)
    wf = return_workflow_id(tenant, ret.channel or "direct", rma)
    existing = await svc.engine.status(wf)
    await svc.engine.start(
        returns_flow,
        wf,
        tenant,
        correlation_id,
        ret.model_dump(mode="json"),
        refund_kind,
        workflow_id=wf,
        queue="flows",
    )
    if existing is None:
        await asyncio.to_thread(
            svc.audit.append, "api", "return.requested", wf, {"rma": rma, "order_number": ret.order_number}
        )
        return CaptureResult("accepted", ret.id, wf)
    return CaptureResult("duplicate", ret.id, wf, ["return already recorded"])


async def return_inspected(
    svc: FlowServices, inspection: dict[str, Any], *, tenant: str, channel: str | None, rma: str
) -> str:
    wf = return_workflow_id(tenant, channel or "direct", rma)
    if await svc.engine.status(wf) is None:
        raise NotFoundError(f"inspection for unknown return {rma}", context={"rma": rma})
    await svc.engine.send(wf, inspection, INSPECTED_TOPIC)
    return wf


# -- operations -----------------------------------------------------------------------------------------


async def list_flows(
    svc: FlowServices, status: str | None = None, limit: int = 100, prefix: str | None = None
) -> list[dict[str, Any]]:
    return [w.as_dict() for w in await svc.engine.workflows(status=status, prefix=prefix, limit=limit)]


async def flow_history(svc: FlowServices, workflow_id: str) -> dict[str, Any]:
    """The workflow (and its continuations, whose ids start with it) with each step's history."""
    main = await svc.engine.status(workflow_id)
    if main is None:
        raise NotFoundError(f"no workflow {workflow_id}", context={"workflow_id": workflow_id})
    related = [w for w in await svc.engine.workflows(prefix=workflow_id + ":", limit=200)]
    if svc.history is not None:
        await asyncio.to_thread(svc.history.flush)
    out: dict[str, Any] = {
        **main.as_dict(),
        "steps": await asyncio.to_thread(step_history, svc.store, workflow_id),
    }
    out["continuations"] = [
        {**w.as_dict(), "steps": await asyncio.to_thread(step_history, svc.store, w.workflow_id)}
        for w in sorted(related, key=lambda w: w.created_at or 0)  # type: ignore[arg-type, return-value]
    ]
    out["exceptions"] = [
        e.as_dict() for e in await asyncio.to_thread(svc.exceptions.list, None, None, None, workflow_id)
    ]
    out["order"] = None
    row = await asyncio.to_thread(state.get_order_row, svc.store, workflow_id)
    if row is not None:
        out["order"] = {"status": row.status, "erp_id": row.erp_id, "posted": row.posted, "cancelled": row.cancelled,
                        "paid": row.paid, "pending": row.pending}  # fmt: skip
    return out


async def retry_flow(svc: FlowServices, workflow_id: str, actor: str = "operator") -> str:
    """Parked on an exception: resolve it with retry. Failed or cancelled otherwise: run it again from its
    first failed step (the earlier steps keep their results)."""
    open_exc = await asyncio.to_thread(svc.exceptions.list, "open", None, None, workflow_id)
    if open_exc:
        await resolve_exception(svc, open_exc[0].id, "retry", actor)
        return "resolved"
    info = await svc.engine.status(workflow_id)
    if info is None:
        raise NotFoundError(f"no workflow {workflow_id}", context={"workflow_id": workflow_id})
    if info.status in ("SUCCESS", "PENDING", "ENQUEUED"):
        raise ConflictError(f"workflow {workflow_id} is {info.status}: nothing to retry")
    if info.status == "CANCELLED":
        await svc.engine.resume(workflow_id)
    else:
        steps = await svc.engine.steps(workflow_id)
        failed = next((s.step_id for s in steps if s.error), None)
        await svc.engine.rewind(workflow_id, failed or 1, queue=info.queue)
    await asyncio.to_thread(svc.audit.append, actor, "flow.retried", workflow_id, {"status": info.status})
    return "retried"


async def cancel_flow(svc: FlowServices, workflow_id: str, actor: str = "operator") -> None:
    info = await svc.engine.status(workflow_id)
    if info is None:
        raise NotFoundError(f"no workflow {workflow_id}", context={"workflow_id": workflow_id})
    await svc.engine.cancel(workflow_id)
    await asyncio.to_thread(svc.audit.append, actor, "flow.cancelled", workflow_id, {"status": info.status})


async def resolve_exception(
    svc: FlowServices, exc_id: int, action: str, actor: str = "operator", note: str | None = None
) -> dict[str, Any]:
    """Record the decision and act on the parked flow: retry/skip rewind it to the failed step (skip
    makes that step pass without running); cancel compensates (reservation released, ERP order
    cancelled or flagged)."""
    rec = await asyncio.to_thread(svc.exceptions.get, exc_id)
    if action not in ("retry", "skip", "cancel"):
        raise InputError(f"unknown action {action!r}: use retry, skip or cancel")
    rec = await asyncio.to_thread(svc.exceptions.resolve, exc_id, action, actor, note)
    wf = rec.workflow_id
    if wf is None:
        return rec.as_dict()
    info = await svc.engine.status(wf)
    # The exception is recorded a moment before the workflow stops: wait for it to stop, then rewind.
    for _ in range(100):
        if info is None or info.status not in ("PENDING", "ENQUEUED") or action == "cancel":
            break
        await asyncio.sleep(0.1)
        info = await svc.engine.status(wf)
    try:
        if (
            action in ("retry", "skip")
            and info is not None
            and info.status not in ("PENDING", "ENQUEUED", "SUCCESS")
        ):
            start = rec.failed_step_id or 1
            await svc.engine.rewind(wf, start, queue=info.queue)
        elif action == "cancel":
            if info is not None and info.status in ("PENDING", "ENQUEUED"):
                await svc.engine.cancel(wf)
            if wf.startswith("order:") and wf.count(":") == 3:
                row = await asyncio.to_thread(state.add_fact, svc.store, wf, {"type": "cancelled"})
                tenant = row.tenant if row else rec.tenant or "default"
                await follow_up(svc, wf, tenant, rec.context.get("correlation_id"), {"type": "cancelled"})
    except Exception as exc:
        await asyncio.to_thread(svc.exceptions.reopen, exc_id, actor, f"could not {action}: {exc}")
        raise
    return rec.as_dict()


class FlowExceptions:
    """The exception queue as the gateway and CLI see it: reads from the store; ``resolve`` also acts on
    the parked flow (rewind to the failed step, or compensate)."""

    def __init__(self, svc: FlowServices) -> None:
        self._svc = svc
        self.queue = svc.exceptions

    def list(
        self,
        status: str | None = "open",
        team: str | None = None,
        tenant: str | None = None,
        limit: int = 200,
    ) -> list[Any]:
        return self.queue.list(status=status, team=team, tenant=tenant, limit=limit)

    def get(self, exc_id: int) -> Any:
        return self.queue.get(int(exc_id))

    def count_open(self) -> int:
        return self.queue.count_open()

    async def resolve(
        self, exc_id: int, action: str = "retry", actor: str = "operator", note: str | None = None
    ) -> dict[str, Any]:
        return await resolve_exception(self._svc, int(exc_id), action, actor, note)

    def assign(self, exc_id: int, assignee: str, actor: str = "operator") -> None:
        self.queue.assign(int(exc_id), assignee, actor)

    def add_note(self, exc_id: int, text: str, actor: str = "operator") -> None:
        self.queue.add_note(int(exc_id), text, actor)
