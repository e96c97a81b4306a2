"""The returns scenario over real HTTP: partial return, one item refused at inspection."""

from __future__ import annotations

from _harness import make_order, sales_orders, sim_get, sim_post, wait_for

from retailconnect.canonical import Return, ReturnLine
from retailconnect.connectors._kit import Delivery


async def test_return_with_refused_item_credits_only_accepted_units(ns, wms, make_hub):
    hub = await make_hub(ns.url, wms.url)
    order = make_order(900, email="c1@example.com", lines=[("SKU-1", 2, "10.00"), ("SKU-2", 1, "15.00")])
    await hub.capture_order(order, tenant="acme")
    await wait_for(lambda: len(sales_orders(ns.url)) == 1, 30)
    ret = Return(
        order_number="#900",
        channel="shopify",
        rma_number="RMA-900",
        lines=[ReturnLine(sku="SKU-1", quantity=1, reason="too small"), ReturnLine(sku="SKU-2", quantity=1)],
    )
    res = await hub.create_return(ret, tenant="acme", correlation_id="corr-rma")
    assert res.status == "accepted" and res.workflow_id == "return:acme:shopify:RMA-900"
    assert (await hub.create_return(ret, tenant="acme")).status == "duplicate"
    expected = await wait_for(lambda: sim_get(wms.url, "/_sim/state/returns"), 30)
    rid = expected[0]["id"]
    ev = sim_post(wms.url, f"/_sim/returns/{rid}/inspect",
                  {"lines": [{"sku": "SKU-2", "condition": "damaged", "disposition": "refused", "note": "used"}]})  # fmt: skip
    await hub.ingest_warehouse_webhook(
        "wms",
        Delivery(delivery_id=ev["id"], topic=ev["type"], source="MAIN"),
        ev,
        tenant="acme",
        correlation_id=None,
    )

    async def closed():
        info = await hub.services.engine.status(res.workflow_id)
        return info is not None and info.status == "SUCCESS"

    await wait_for(closed, 30)
    out = await hub.services.engine.result(res.workflow_id)
    by_sku = {d["sku"]: d for d in out["dispositions"]}
    assert by_sku["SKU-1"]["disposition"] == "restock" and by_sku["SKU-1"]["quantity"] == 1
    assert by_sku["SKU-2"]["disposition"] == "refused" and by_sku["SKU-2"]["quantity"] == 0
    assert out["total"] == "10.00 USD"
    assert len(sim_get(ns.url, "/_sim/state/return_authorizations")) == 1
    refunds = sim_get(ns.url, "/_sim/state/cash_refunds")
    assert len(refunds) == 1
    actions = [e["action"] for e in hub.audit.entries(target=res.workflow_id)]
    for a in ("return.accepted", "return.inspected", "return.dispositioned", "return.credited",
              "return.customer_updated", "return.closed"):  # fmt: skip
        assert a in actions, actions


async def test_inspection_timeout_becomes_an_exception(ns, wms, make_hub):
    hub = await make_hub(ns.url, wms.url)
    hub.services.inspection_timeout_s = 0.5
    await hub.capture_order(make_order(901, email="c1@example.com"), tenant="acme")
    await wait_for(lambda: len(sales_orders(ns.url)) == 1, 30)
    ret = Return(
        order_number="#901",
        channel="shopify",
        rma_number="RMA-901",
        lines=[ReturnLine(sku="SKU-1", quantity=1)],
    )
    res = await hub.create_return(ret, tenant="acme")
    excs = await wait_for(lambda: hub.exceptions.list(status="open"), 30)
    assert excs[0].code == "inspection_timeout" and excs[0].workflow_id == res.workflow_id
    assert excs[0].context["order_number"] == "#901"
