"""``orders``: storefront orders (multi-line, discounts, taxes included and not, several currencies) flow
Shopify -> hub -> NetSuite; the WMS ships them; Shopify receives fulfilments with tracking."""

from __future__ import annotations

import time
from typing import Any

from ..checks import Outcome, erp_ledger, max_rps, norm_number
from ..context import GIFT_CARD_SKU, DemoEnv
from ..drivers import wait_until
from ..report import ScenarioUI

NAME = "orders"
TITLE = "Storefront orders to the ERP, shipped by the WMS, fulfilled on Shopify"


# NetSuite's rate limit is a bucket (simulators/netsuite: N requests refilled at N per second): requests
# that left the hub evenly can arrive bunched after a scheduling stall on this shared machine without being
# refused. The limit is therefore judged as NetSuite judges it (its 429s) and as a sustained rate (the
# busiest 5 s); the busiest single second is printed beside it.
SUSTAINED_WINDOW_S = 5.0


def erp_limits_respected(env: DemoEnv, out: Outcome) -> bool:
    f = out.figures
    return bool(
        f["erp_429s"] == 0
        and f["erp_sustained_rps"] <= env.erp_limit_rps
        and f["erp_max_in_flight"] <= env.erp_concurrency
    )


def erp_limits_detail(env: DemoEnv, out: Outcome) -> str:
    f = out.figures
    return (
        f"{f['erp_429s']} request(s) refused by NetSuite's governance (429); busiest 5 s "
        f"{f['erp_sustained_rps']:.1f} req/s, busiest second {f['erp_max_rps']:.0f} (limit {env.erp_limit_rps}/s); "
        f"max {f['erp_max_in_flight']} in flight (limit {env.erp_concurrency})"
    )


async def erp_figures(env: DemoEnv, out: Outcome, start: float, end: float) -> None:
    """ERP pressure as NetSuite itself logged it, inside [start, end]."""
    req = await env.netsuite.requests(items=True)
    items = req.get("items", [])
    window = [r for r in items if start <= float(r["started"]) <= end]
    out.figures["erp_max_rps"] = max_rps(items, start, end)
    out.figures["erp_sustained_rps"] = round(max_rps(items, start, end, window_s=SUSTAINED_WINDOW_S), 1)
    out.figures["erp_limit_rps"] = env.erp_limit_rps
    out.figures["erp_max_in_flight"] = int(req.get("max_in_flight_governed", req.get("max_in_flight", 0)))
    out.figures["erp_concurrency_limit"] = env.erp_concurrency
    out.figures["erp_429s"] = sum(1 for r in window if int(r["status"]) == 429)
    out.figures["erp_requests"] = len(window)


async def shipped_and_fulfilled(
    env: DemoEnv, orders: list[dict[str, Any]], out: Outcome, timeout_s: float, ui: ScenarioUI | None = None
) -> None:
    """The WMS shipped each order once and Shopify holds a fulfilment with the WMS's tracking number."""
    names = {norm_number(o["name"]) for o in orders}
    ids = {str(o["id"]) for o in orders}

    async def all_fulfilled() -> bool:
        f = await env.shopify.fulfillments(tracking_only=True)
        tracked = {oid for oid, nums in f["tracking_by_order"].items() if nums}
        if ui is not None:
            ui.status(f"fulfilled on Shopify {len(ids & tracked)}/{len(ids)}")
        return ids <= tracked

    ok, waited = await wait_until(all_fulfilled, timeout_s, interval_s=1.0)
    out.figures["fulfil_wait_s"] = round(waited, 1)
    frs = await env.wms.state("fulfillment_requests")
    shipments = await env.wms.state("shipments")
    fr_numbers = [norm_number(fr["request"].get("order_number") or fr["external_id"]) for fr in frs]
    ours = [n for n in fr_numbers if n in names]
    out.check(
        "the WMS received one fulfilment request per order",
        set(ours) == names and len(ours) == len(set(ours)),
        f"{len(set(ours))}/{len(names)} orders, {len(ours) - len(set(ours))} duplicate request(s)",
    )
    f = await env.shopify.fulfillments()
    by_order = {oid: set(nums) for oid, nums in f["tracking_by_order"].items() if oid in ids}
    shopify_tracking = set().union(*by_order.values()) if by_order else set()
    wms_tracking = {s["tracking_number"] for s in shipments if norm_number(s.get("order_number")) in names}
    fulfil_counts = [sum(1 for x in f["fulfillments"] if str(x["order_id"]) == oid) for oid in ids]
    out.check(
        "Shopify holds a fulfilment with the WMS's tracking number for every order",
        ok and bool(wms_tracking) and wms_tracking <= shopify_tracking,
        f"{len(by_order)}/{len(ids)} orders fulfilled; {len(wms_tracking & shopify_tracking)}/"
        f"{len(wms_tracking)} WMS tracking numbers on Shopify (waited {waited:.0f} s)",
    )
    out.check(
        "no order fulfilled twice on Shopify",
        all(c <= 1 for c in fulfil_counts),
        f"max fulfilments per order: {max(fulfil_counts, default=0)}",
    )
    sos = await env.netsuite.sales_orders()
    ledger = erp_ledger(names, sos)
    so_ids = {str(so["id"]) for v in ledger.found.values() for so in v}
    ifs = await env.netsuite.records("itemFulfillment", ("id", "createdFrom"))
    fulfilled_sos = {str((r.get("createdFrom") or {}).get("id")) for r in ifs}
    out.check(
        "NetSuite holds an item fulfilment for every order",
        bool(so_ids) and so_ids <= fulfilled_sos,
        f"{len(so_ids & fulfilled_sos)}/{len(so_ids)} sales orders fulfilled in NetSuite",
    )


async def run(env: DemoEnv, ui: ScenarioUI) -> Outcome:
    out = Outcome(NAME, TITLE)
    n = env.orders
    rate = 50.0 if env.full_run else 25.0
    ui.total(n)
    t0 = time.time()
    orders = await env.send_orders(n, rate, ui)
    numbers = {norm_number(o["name"]) for o in orders}
    out.figures["orders"] = n
    currencies = {o["currency"] for o in orders}
    multi = sum(1 for o in orders if len(o["skus"]) > 1)
    out.notes.append(f"{n} orders, {multi} multi-line, presentment currencies {sorted(currencies)}")
    out.notes.append(
        "Shopify is simulated as a Shopify Plus store (GraphQL cost bucket 10000, 1000 points/s)"
    )

    async def in_erp() -> bool:
        ledger = erp_ledger(numbers, await env.netsuite.sales_orders())
        ui.done(len(ledger.found))
        ui.status(f"in NetSuite {len(ledger.found)}/{n}")
        return not ledger.missing

    ok, _ = await wait_until(in_erp, timeout_s=max(60.0, n / 2), interval_s=1.0)
    t_erp = time.time()
    ledger = erp_ledger(numbers, await env.netsuite.sales_orders(full=True))
    out.figures["orders_per_s"] = round(len(ledger.found) / max(0.001, t_erp - t0), 1)
    out.figures["erp_updates"] = ledger.updates
    out.check(
        "every order is in NetSuite",
        ok and not ledger.missing,
        f"{len(ledger.found)}/{n} (missing: {', '.join(ledger.missing[:5]) or 'none'})",
    )
    out.check(
        "no order duplicated in NetSuite (one sales order per external id, created once)",
        not ledger.duplicates and not ledger.recreated,
        f"{len(ledger.duplicates)} duplicated, {len(ledger.recreated)} re-created, "
        f"{ledger.updates} idempotent re-post(s) as updates",
    )
    shop_orders = {norm_number(o["name"]): o for o in orders}
    mismatched = []
    for num, sos in ledger.found.items():
        want = sorted(s for s in shop_orders[num]["skus"] if s)
        got = sorted(
            str(ln.get("item", {}).get("refName") or "") for ln in (sos[0].get("item") or {}).get("items", [])
        )
        if not set(want) <= set(got):
            mismatched.append(num)
    out.check(
        "each sales order carries the storefront order's items",
        not mismatched and bool(ledger.found),
        f"{len(ledger.found) - len(mismatched)}/{len(ledger.found)} match",
    )
    with_gift = [num for num, o in shop_orders.items() if o.get("gift_cards")]
    if with_gift:
        gift_ok = [
            num
            for num in with_gift
            if num in ledger.found
            and any(
                str((ln.get("item") or {}).get("refName")) == GIFT_CARD_SKU
                for ln in (ledger.found[num][0].get("item") or {}).get("items", [])
            )
        ]
        out.figures["gift_card_orders"] = len(with_gift)
        out.check(
            "gift-card lines (no SKU at Shopify) posted as NetSuite's gift-card item, not parked",
            len(gift_ok) == len(with_gift),
            f"{len(gift_ok)}/{len(with_gift)} orders with a gift card carry {GIFT_CARD_SKU} in NetSuite",
        )
    await shipped_and_fulfilled(env, orders, out, timeout_s=max(60.0, n * 0.8), ui=ui)
    await erp_figures(env, out, t0, time.time())
    out.check(
        "the ERP's limits were respected (as NetSuite logged and governed it)",
        erp_limits_respected(env, out),
        erp_limits_detail(env, out),
    )
    return out
