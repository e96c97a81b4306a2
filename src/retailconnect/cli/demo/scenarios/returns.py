"""``returns``: a return accepted on the storefront (the storefront calls the hub's process API), inspected
at the WMS with one item refused, credited in NetSuite and refunded on Shopify for the accepted item only.
Read back from the WMS's returns, NetSuite's credit records and Shopify's refunds."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from ..checks import Outcome, erp_ledger, norm_number
from ..context import DemoEnv
from ..drivers import wait_until
from ..report import ScenarioUI

NAME = "returns"
TITLE = "Return: storefront -> WMS inspection (one item refused) -> credit -> refund"

KEPT, REFUSED = "TEE-BLK-M", "SNK-RUN-42"


def _skus_of_credit(rec: dict[str, Any]) -> list[str]:
    return [
        str((ln.get("item") or {}).get("refName") or "") for ln in (rec.get("item") or {}).get("items", [])
    ]


async def run(env: DemoEnv, ui: ScenarioUI) -> Outcome:
    out = Outcome(NAME, TITLE)
    ui.total(5)
    order = await env.shopify.create_order(
        [{"sku": KEPT, "quantity": 1}, {"sku": REFUSED, "quantity": 1}, {"sku": "TOTE-NAT", "quantity": 1}],
        tax_rate="0.06",
        email="returner@example.com",
    )
    number = norm_number(order["name"])
    ui.status(f"order {order['name']}: waiting until it is shipped")

    async def delivered() -> bool:
        f = await env.shopify.fulfillments(tracking_only=True)
        return bool(f["tracking_by_order"].get(str(order["id"]))) and bool(
            erp_ledger({number}, await env.netsuite.sales_orders()).found
        )

    ok, _ = await wait_until(delivered, timeout_s=env.backlog_wait_s)
    out.check("the order was posted and shipped first", ok, "")
    ui.done(1)
    rma = f"RMA-{number}"
    t0 = time.time()
    try:
        await env.storefront.create_return(
            {
                "order_number": order["name"],
                "channel": "shopify",
                "rma_number": rma,
                "lines": [
                    {"sku": KEPT, "quantity": 1, "reason": "too small"},
                    {"sku": REFUSED, "quantity": 1, "reason": "changed mind"},
                ],
            }
        )
        accepted = True
    except Exception as exc:  # the answer is the check
        accepted = False
        out.notes.append(f"return refused by the hub: {exc}")
    out.check("the hub accepted the storefront's return", accepted, rma)
    ui.done(2)
    found: dict[str, Any] = {}

    async def expected_at_wms() -> bool:
        for rt in await env.wms.state("returns"):
            req = rt.get("request") or {}
            if (
                rma in (rt.get("external_id"), req.get("rma_number"))
                or norm_number(req.get("order_number")) == number
            ):
                found["rt"] = rt
                return True
        return False

    ok, _ = await wait_until(expected_at_wms, timeout_s=env.backlog_wait_s)
    out.check("the WMS was told to expect the parcel", ok, found.get("rt", {}).get("id", ""))
    if not ok:
        return out
    ui.status("inspecting at the WMS: one item refused")
    await env.wms.inspect(
        found["rt"]["id"],
        [
            {"sku": KEPT, "condition": "new", "disposition": "restock"},
            {"sku": REFUSED, "condition": "damaged", "disposition": "refused", "note": "worn outdoors"},
        ],
    )
    ui.done(3)

    async def refunded() -> bool:
        return any(str(r["order_id"]) == str(order["id"]) for r in await env.shopify.refunds())

    ok_refund, _ = await wait_until(refunded, timeout_s=env.backlog_wait_s)
    out.figures["refund_s"] = round(time.time() - t0, 1)
    refunds = [r for r in await env.shopify.refunds() if str(r["order_id"]) == str(order["id"])]
    refunded_skus = [
        str((li.get("line_item") or {}).get("sku") or li.get("sku") or "")
        for r in refunds
        for li in r.get("refund_line_items", [])
    ]
    refunded_total = sum(
        (Decimal(str(t.get("amount", "0"))) for r in refunds for t in r.get("transactions", [])), Decimal(0)
    )
    kept = next(li for li in order["line_items"] if li.get("sku") == KEPT)
    kept_value = Decimal(str(kept["price"])) * int(kept["quantity"]) - Decimal(
        str(kept.get("total_discount") or 0)
    )
    if not order.get("taxes_included"):
        kept_value += sum((Decimal(str(t["price"])) for t in kept.get("tax_lines", [])), Decimal(0))
    by_lines = refunded_skus.count(KEPT) == 1 and REFUSED not in refunded_skus
    by_amount = not refunded_skus and refunded_total == kept_value
    out.figures["refunded"] = str(refunded_total)
    out.check(
        "Shopify refunded the accepted item only, once",
        ok_refund and len(refunds) == 1 and (by_lines or by_amount),
        f"{len(refunds)} refund(s), refunded SKUs {refunded_skus}, amount {refunded_total} "
        f"(the accepted item is worth {kept_value})",
    )
    ui.done(4)
    so_ids = {
        str(so["id"]) for so in erp_ledger({number}, await env.netsuite.sales_orders()).found.get(number, [])
    }
    credits = []
    for rtype in ("creditMemo", "cashRefund"):
        for rec in await env.netsuite.records(rtype):
            text = str(rec)
            if number in text or any(i in text for i in so_ids) or rma in text:
                credits.append(rec)
    credited = [s for rec in credits for s in _skus_of_credit(rec)]
    out.check(
        "NetSuite credited the accepted item only, once",
        len(credits) == 1 and credited.count(KEPT) == 1 and REFUSED not in credited,
        f"{len(credits)} credit record(s), credited SKUs {credited}",
    )
    ui.done(5)
    return out
