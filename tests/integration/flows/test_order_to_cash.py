"""order_to_cash against the NetSuite and WMS simulators over real HTTP."""

from __future__ import annotations

from _harness import make_order, ns_eid, sales_orders, sim_get, sim_post, wait_for

from retailconnect.canonical import FinancialStatus, OrderStatus
from retailconnect.connectors._kit import Delivery


def _by_eid(ns_url: str) -> dict[str, dict]:
    return {so["externalId"]: so for so in sales_orders(ns_url)}


async def test_capture_ship_pay_exactly_once_and_out_of_order(ns, wms, make_hub):
    hub = await make_hub(ns.url, wms.url)
    # order 2: payment webhook arrives before the create webhook
    early = make_order(2, email="c2@example.com")
    paid = early.model_copy(update={"financial_status": FinancialStatus.PAID})
    from retailconnect.flows import ingest

    res_paid = await ingest.order_event(hub.services, paid, tenant="acme", correlation_id="corr-2",
                                        fact={"type": "paid", "amount": paid.totals.grand_total.model_dump(mode="json")})  # fmt: skip
    assert res_paid.status == "accepted"
    results = [
        await hub.capture_order(
            make_order(i, email=f"c{i}@example.com"), tenant="acme", correlation_id=f"corr-{i}"
        )
        for i in (1, 2, 3)
    ]
    assert [r.status for r in results] == ["accepted", "duplicate", "accepted"]
    # a repeated webhook and a reconciliation pull of order 1
    again = await hub.capture_order(
        make_order(1, email="c1@example.com"), tenant="acme", source="reconciliation"
    )
    assert again.status == "duplicate" and again.workflow_id == "order:acme:shopify:1"
    await wait_for(lambda: len(sales_orders(ns.url)) == 3, 30)
    await wait_for(lambda: len(sim_get(wms.url, "/_sim/state/fulfillment_requests")) == 3, 30)
    sos = _by_eid(ns.url)
    assert set(sos) == {ns_eid(f"order:acme:shopify:{i}") for i in (1, 2, 3)}
    assert all(so["created_count"] == 1 for so in sos.values())
    # the early payment was applied once the order was posted
    await wait_for(lambda: len(sim_get(ns.url, "/_sim/state/customer_payments")) == 1, 30)
    # ship order 1: item fulfilment in the ERP, reservation consumed, order fulfilled
    fr = next(
        f for f in sim_get(wms.url, "/_sim/state/fulfillment_requests") if f["external_id"].endswith(":1")
    )
    ev = sim_post(wms.url, f"/_sim/fulfillment-requests/{fr['id']}/ship")
    delivery = Delivery(delivery_id=ev["id"], topic=ev["type"], source="MAIN")
    await hub.ingest_warehouse_webhook("wms", delivery, ev, tenant="acme", correlation_id="corr-1")
    await hub.ingest_warehouse_webhook("wms", delivery, ev, tenant="acme", correlation_id="corr-1")  # repeat
    await wait_for(lambda: len(sim_get(ns.url, "/_sim/state/item_fulfillments")) == 1, 30)

    async def fulfilled():
        h = await hub.flow_history("order:acme:shopify:1")
        done = h["continuations"] and all(c["status"] == "SUCCESS" for c in h["continuations"])
        return h["order"]["status"] == "fulfilled" and done and h

    hist = await wait_for(fulfilled, 30)
    names = [s["step"] for s in hist["steps"]]
    assert names == ["validate_customer_tax_reserve", "post_sales_order", "request_fulfilment"]
    assert all(s["correlation_id"] == "corr-1" for s in hist["steps"])
    assert len(hist["continuations"]) == 1 and hist["continuations"][0]["status"] == "SUCCESS"
    assert len(sim_get(ns.url, "/_sim/state/item_fulfillments")) == 1
    assert _by_eid(ns.url)[ns_eid("order:acme:shopify:1")]["created_count"] == 1


async def test_cancel_before_posting_releases_and_never_posts(ns, wms, make_hub):
    hub = await make_hub(ns.url, wms.url)
    sim_post(ns.url, "/_sim/faults", {"outage_s": 1.5, "error_status": 503})
    res = await hub.capture_order(make_order(7, email="c1@example.com"), tenant="acme")
    cancelled = make_order(7, email="c1@example.com").model_copy(update={"status": OrderStatus.CANCELLED})
    await hub.capture_order(cancelled, tenant="acme")

    async def done():
        info = await hub.services.engine.status(res.workflow_id)
        return info is not None and info.status == "SUCCESS"

    await wait_for(done, 30)
    out = await hub.services.engine.result(res.workflow_id)
    assert out["status"] == "cancelled"
    assert sales_orders(ns.url) == []


async def _wf_done(hub, wf):
    info = await hub.services.engine.status(wf)
    return info is not None and info.status == "SUCCESS"


async def test_edit_after_posting_updates_the_erp_order_and_cancel_after_posting_is_flagged(ns, make_hub):
    import asyncio
    from datetime import UTC, datetime, timedelta

    from retailconnect.canonical import FulfillmentStatus

    hub = await make_hub(ns.url, cancellation="flag")
    t0 = datetime.now(UTC)
    first = make_order(60, email="c1@example.com", updated_at=t0)
    res = await hub.capture_order(first, tenant="acme")
    await wait_for(lambda: len(sales_orders(ns.url)) == 1, 30)
    await wait_for(lambda: _wf_done(hub, res.workflow_id), 30)
    # a newer version that differs only in what the ERP does not carry (Shopify's orders/updated after a
    # fulfilment or a tag): kept, but nothing is sent to the ERP
    writes = sim_get(ns.url, "/_sim/requests")["count"]
    touched = first.model_copy(
        update={
            "id": make_order(60).id,  # a channel mapper mints a canonical id per delivery
            "updated_at": t0 + timedelta(seconds=30),
            "tags": ["vip"],
            "fulfillment_status": FulfillmentStatus.FULFILLED,
        }
    )
    assert (await hub.capture_order(touched, tenant="acme")).status == "duplicate"
    await asyncio.sleep(1.0)
    assert sim_get(ns.url, "/_sim/requests")["count"] == writes
    # a quantity changed on the channel after capture
    edited = make_order(60, email="c1@example.com", qty=3, updated_at=t0 + timedelta(minutes=1))
    again = await hub.capture_order(edited, tenant="acme")
    assert again.status == "duplicate"
    await wait_for(lambda: sales_orders(ns.url)[0]["lines"][0]["quantity"] == 3, 30)
    assert sales_orders(ns.url)[0]["created_count"] == 1
    # cancelled on the channel after posting: flagged for a person (policy "flag"), not cancelled in the ERP
    cancelled = edited.model_copy(
        update={"status": OrderStatus.CANCELLED, "updated_at": t0 + timedelta(minutes=2)}
    )
    await hub.capture_order(cancelled, tenant="acme")
    excs = await wait_for(lambda: hub.exceptions.list(status="open"), 30)
    assert excs[0].code == "cancelled_after_posting" and excs[0].context["order_number"] == "#60"
    await wait_for(lambda: _wf_done(hub, f"{res.workflow_id}:cancel"), 30)
    assert (await hub.services.engine.result(f"{res.workflow_id}:cancel"))["status"] == "flagged"
    assert sales_orders(ns.url)[0]["status"] == "Pending Fulfillment"


async def test_skip_resolution_passes_the_failed_step(ns, make_hub):
    hub = await make_hub(ns.url)
    res = await hub.capture_order(make_order(61, email="c1@example.com", sku="SKU-GONE"), tenant="acme")
    exc = (await wait_for(lambda: hub.exceptions.list(status="open"), 30))[0]
    await hub.exceptions.resolve(exc.id, action="skip", actor="ops", note="keyed into the ERP by hand")
    await wait_for(lambda: _wf_done(hub, res.workflow_id), 30)
    out = await hub.services.engine.result(res.workflow_id)
    assert out["status"] == "accepted" and out["erp_id"] is None
    hist = await hub.flow_history(res.workflow_id)
    statuses = [(s["step"], s["status"]) for s in hist["steps"]]
    assert ("post_sales_order", "failed") in statuses and ("post_sales_order", "skipped") in statuses
    assert sales_orders(ns.url) == []


async def test_a_repeat_starts_the_workflow_the_stopped_process_never_started(ns, wms, make_hub):
    """The row was committed, then the process stopped before the workflow started (a hand-off cancelled
    by a shutdown): the vendor's retry must start it, not be answered as a duplicate and dropped."""
    import asyncio

    from retailconnect.flows.order_to_cash import order_workflow_id
    from retailconnect.flows.steps import state

    hub = await make_hub(ns.url, wms.url)
    order = make_order(31, email="c31@example.com")
    wf = order_workflow_id("acme", order.channel, order.ref(order.channel) or order.number)
    created, _, _ = await asyncio.to_thread(
        state.record_order, hub.services.store, wf, tenant="acme", channel=order.channel,
        external_id=order.ref(order.channel) or order.number, order=order, correlation_id="c31",
    )  # fmt: skip
    assert created and await hub.services.engine.status(wf) is None
    res = await hub.capture_order(order, tenant="acme", correlation_id="c31")
    assert res.status == "accepted" and res.workflow_id == wf
    await wait_for(lambda: ns_eid(wf) in _by_eid(ns.url), 30)
    again = await hub.capture_order(order, tenant="acme", correlation_id="c31")
    assert again.status == "duplicate"
    await asyncio.sleep(0.5)
    assert _by_eid(ns.url)[ns_eid(wf)]["created_count"] == 1
