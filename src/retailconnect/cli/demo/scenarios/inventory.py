"""``inventory``: stock movements at the WMS reach Shopify's inventory. Lag is measured per movement from
the WMS's own ``occurred_at`` to the moment Shopify set the level (Shopify's ``inventory_levels/update``
webhook stamps), and printed beside the fifteen-minute polling it replaces."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from retailconnect.simulators._kit import start_in_thread

from ..checks import Outcome, expected_levels, inventory_lags, parse_ts, percentile
from ..context import DemoEnv
from ..drivers import wait_until
from ..report import ScenarioUI

NAME = "inventory"
TITLE = "WMS stock movements to Shopify inventory, lag measured"
POLLING_S = 900.0  # the fifteen-minute batch poll this replaces

PRODUCTS: list[dict[str, Any]] = [
    {
        "title": "Trail Sock",
        "variants": [{"sku": f"SOCK-TRL-{s}", "price": "12.00"} for s in ("S", "M", "L")],
    },
    {"title": "Rain Shell", "variants": [{"sku": f"SHELL-RN-{s}", "price": "149.00"} for s in ("M", "L")]},
]
SKUS = [v["sku"] for p in PRODUCTS for v in p["variants"]]


class UpdateRecorder:
    """A tiny receiver for Shopify's ``inventory_levels/update`` webhooks (what the storefront recorded)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.updates: list[dict[str, Any]] = []

        async def hook(request: Request) -> Response:
            body = await request.json()
            with self.lock:
                self.updates.append(body)
            return Response(status_code=200)

        self.app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        self.handle: Any = None

    def start(self) -> str:
        self.handle = start_in_thread(self.app)
        return f"{self.handle.url}/hook"

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()


async def run(env: DemoEnv, ui: ScenarioUI) -> Outcome:
    out = Outcome(NAME, TITLE)
    duration = float(max(4, min(20, round(env.orders / 25))))
    rate = 20.0
    recorder = UpdateRecorder()
    address = recorder.start()
    try:
        await env.shopify.subscribe("inventory_levels/update", address)
        await env.shopify.seed_catalog(PRODUCTS)
        await env.netsuite.add_items(
            [
                {"sku": v["sku"], "title": p["title"], "price": v["price"]}
                for p in PRODUCTS
                for v in p["variants"]
            ]
        )
        ui.status("cycle counts at the WMS")
        for sku in SKUS:
            await env.wms.movement(sku, "cycle_count", counted=100)
        ui.status(f"{rate:.0f} movements/s for {duration:.0f} s")
        ui.total(duration)
        await env.wms.start_movements(rate, SKUS, duration, ["pick", "receipt", "pick", "damage"])
        t0 = time.monotonic()
        while time.monotonic() - t0 < duration:
            await asyncio.sleep(0.5)
            ui.done(min(duration, time.monotonic() - t0))
        await wait_until(lambda: _run_done(env), timeout_s=10, interval_s=0.2)
        movements = [m for m in await env.wms.state("movements") if m["sku"] in SKUS]
        expected = expected_levels(movements, env.safety_stock)
        final = {sku: levels[-1][1] for sku, levels in expected.items()}
        ui.status("waiting for Shopify to converge")

        async def converged() -> bool:
            shown = await _shopify_levels(env)
            return all(shown.get(sku) == q for sku, q in final.items())

        ok, _ = await wait_until(converged, timeout_s=30, interval_s=0.25)
        shown = await _shopify_levels(env)
        report = await env.shopify.inventory()
        item_sku = {str(lv["inventory_item_id"]): lv["sku"] for lv in report["levels"]}
        with recorder.lock:
            raw = list(recorder.updates)
        updates: dict[str, list[tuple[float, int]]] = {}
        for u in raw:
            sku = item_sku.get(str(u.get("inventory_item_id")))
            if sku is not None and sku in SKUS:
                updates.setdefault(sku, []).append((parse_ts(u["updated_at"]), int(u["available"])))
        lags, unmatched = inventory_lags(expected, updates)
        # the WMS's own delivery log: a movement it never got through to the hub cannot reach Shopify
        ids = {m["movement_id"] for m in movements}
        events = {e["id"]: e for e in await env.wms.state("events") if e["type"] == "stock.movement"}
        ours = {eid for eid, e in events.items() if e["data"].get("movement_id") in ids}
        deliveries = [d for d in await env.wms.state("webhooks") if d["event_id"] in ours]
        undelivered = [d for d in deliveries if not d["delivered"]]
        out.figures["movement_webhooks_undelivered"] = len(undelivered)
        p50, p99 = percentile(lags, 50), percentile(lags, 99)
        out.figures.update(
            movements=len(movements),
            shopify_updates=sum(len(v) for v in updates.values()),
            shopify_set_calls=report.get("set_calls"),
            lag_p50_s=None if p50 is None else round(p50, 2),
            lag_p99_s=None if p99 is None else round(p99, 2),
            polling_s=POLLING_S,
        )
        out.check(
            "Shopify shows the WMS's stock (minus safety stock) for every SKU",
            ok,
            ", ".join(f"{s}: {shown.get(s)} vs {final[s]}" for s in SKUS),
        )
        out.check(
            "the WMS delivered every movement to the hub (its webhook delivery log)",
            len(deliveries) == len(ours) and not undelivered,
            f"{len(deliveries) - len(undelivered)}/{len(ours)} delivered"
            + (f"; failed attempts: {[d['statuses'] for d in undelivered[:3]]}" if undelivered else ""),
        )
        out.check(
            "every movement reached Shopify",
            bool(lags) and unmatched == 0,
            f"{len(lags)}/{len(lags) + unmatched} movements reflected",
        )
        out.check(
            "lag p99 beats fifteen-minute polling",
            p99 is not None and p99 < POLLING_S,
            f"p50 {p50 if p50 is None else round(p50, 2)} s, p99 {p99 if p99 is None else round(p99, 2)} s "
            f"vs {POLLING_S:.0f} s polling",
        )
        if not updates:
            out.notes.append("the hub pushed no inventory level to Shopify during the run")
        out.notes.append(
            f"{len(movements)} movements over {len(SKUS)} SKUs reached Shopify as "
            f"{out.figures['shopify_updates']} level updates in {report.get('set_calls')} "
            "inventorySetQuantities calls (bursts per SKU coalesced)"
        )
        return out
    finally:
        recorder.stop()


async def _run_done(env: DemoEnv) -> bool:
    run = await env.wms.state("movement_run")
    return bool(run.get("done"))


async def _shopify_levels(env: DemoEnv) -> dict[str, int]:
    report = await env.shopify.inventory()
    out: dict[str, int] = {}
    for lv in report["levels"]:
        if lv["location"] == "Main Warehouse" and lv["sku"] in SKUS:
            out[lv["sku"]] = int(lv["available"])
    return out
