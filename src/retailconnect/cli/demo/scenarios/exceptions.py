"""``exceptions``: an order with a SKU the ERP does not know lands in the exception queue with its business
context; the demo creates the item in NetSuite (the merchandiser's fix) and replays the case through the
ops API; the order then completes. Posted-or-not is read from NetSuite itself."""

from __future__ import annotations

import json
import time
from typing import Any

from ..checks import Outcome, erp_ledger, norm_number
from ..context import DemoEnv
from ..drivers import wait_until
from ..report import ScenarioUI

NAME = "exceptions"
TITLE = "Unknown SKU -> exception queue -> fix and replay -> completed"

UNKNOWN_SKU = "MYSTERY-LAMP-01"


def _mentions(item: dict[str, Any], *needles: str) -> bool:
    text = json.dumps(item, default=str)
    return any(n and n in text for n in needles)


async def run(env: DemoEnv, ui: ScenarioUI) -> Outcome:
    out = Outcome(NAME, TITLE)
    ui.total(4)
    order = await env.shopify.create_order(
        [
            {"sku": UNKNOWN_SKU, "quantity": 1, "price": "42.00", "title": "Mystery Lamp"},
            {"sku": "TEE-WHT-M", "quantity": 2},
        ],
        tax_rate="0.0825",
        shipping="4.99",
        email="lamp.buyer@example.com",
    )
    number = norm_number(order["name"])
    ui.status(f"order {order['name']} with unknown SKU {UNKNOWN_SKU}")
    found: dict[str, Any] = {}

    async def queued() -> bool:
        for item in await env.ops.exceptions(status="open"):
            if _mentions(item, UNKNOWN_SKU, order["name"], str(order["id"])):
                found["item"] = item
                return True
        return False

    ok, waited = await wait_until(queued, timeout_s=env.backlog_wait_s)
    ui.done(1)
    item = found.get("item") or {}
    out.check("the order landed in the exception queue", ok, f"after {waited:.1f} s" if ok else "not found")
    ctx_text = json.dumps(item, default=str)
    has_context = (number in ctx_text) and (UNKNOWN_SKU in ctx_text)
    out.check(
        "the exception carries business context (order number, SKU, team)",
        ok and has_context and bool(item.get("team")),
        f"team={item.get('team')!r}, code={item.get('code')!r}, "
        f"suggested={str(item.get('suggested_action') or item.get('suggestion') or '')[:60]!r}",
    )
    ledger = erp_ledger({number}, await env.netsuite.sales_orders())
    out.check(
        "nothing reached NetSuite before the fix", not ledger.found, f"{len(ledger.found)} sales order(s)"
    )
    if not ok:
        return out
    # the fix: the merchandiser creates the item in the ERP, then replays the case
    await env.netsuite.add_items([{"sku": UNKNOWN_SKU, "title": "Mystery Lamp", "price": "42.00"}])
    t_fix = time.time()
    await env.ops.resolve(item["id"], action="retry", note=f"created item {UNKNOWN_SKU} in NetSuite")
    ui.done(2)
    ui.status("replayed; waiting for NetSuite and the shipment")

    async def posted() -> bool:
        return bool(erp_ledger({number}, await env.netsuite.sales_orders()).found)

    ok2, _ = await wait_until(posted, timeout_s=env.backlog_wait_s)
    out.figures["resolution_s"] = round(time.time() - t_fix, 1)
    ledger = erp_ledger({number}, await env.netsuite.sales_orders(full=True))
    out.check(
        "after the replay the order is in NetSuite exactly once, with the mapped SKU",
        ok2
        and ledger.ok
        and any(
            (ln.get("item") or {}).get("refName") == UNKNOWN_SKU
            for so in ledger.found.get(number, [])
            for ln in (so.get("item") or {}).get("items", [])
        ),
        f"{len(ledger.found.get(number, []))} sales order(s), created {[so.get('created_count') for so in ledger.found.get(number, [])]}",
    )
    ui.done(3)

    async def fulfilled() -> bool:
        f = await env.shopify.fulfillments(tracking_only=True)
        return bool(f["tracking_by_order"].get(str(order["id"])))

    ok3, _ = await wait_until(fulfilled, timeout_s=env.backlog_wait_s)
    out.check("the order completed: shipped and fulfilled on Shopify", ok3, "")
    still_open = [x for x in await env.ops.exceptions(status="open") if x.get("id") == item.get("id")]
    out.check("the exception is no longer open", not still_open, "")
    ui.done(4)
    return out
