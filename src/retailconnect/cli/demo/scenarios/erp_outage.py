"""``erp_outage``: NetSuite fails (503) for a while mid-run. The storefront's webhooks are still accepted
(Shopify's own delivery log), the hub stops calling the failing ERP (its circuit opens: NetSuite's log
shows the quiet), probes it, resumes when it is back (the circuit closes), and every order is posted once.

What may reach NetSuite during the outage, reads (record GETs, SuiteQL) and writes alike, since the hub's
breaker judges every HTTP request to the ERP (resilience/erp_guard.py):

- ``failure_threshold`` failed requests, the ones that open the circuit;
- at most ``concurrency`` requests that were already on their way when it opened;
- ``half_open_max_calls`` probes per ``reset_after_s`` while it stays open (each failed probe re-opens it
  for another ``reset_after_s``), i.e. ``ceil(outage / reset_after_s)`` probe rounds.
"""

from __future__ import annotations

import asyncio
import math
import time

from ..checks import Outcome, erp_ledger, norm_number, quiet_gaps
from ..context import DemoEnv
from ..drivers import wait_until
from ..report import ScenarioUI

NAME = "erp_outage"
TITLE = "ERP outage: orders buffered, circuit opens and closes, all posted once"


def outage_seconds(orders: int) -> float:
    """30 s in the full run (500 orders); compressed for smaller runs, never under 10 s."""
    return float(max(10, min(30, round(30 * orders / 500))))


def request_allowance(
    outage_s: float, *, failure_threshold: int, concurrency: int, reset_after_s: float, probes: int = 1
) -> int:
    """Requests a breaker-guarded client may send to an ERP that fails for ``outage_s`` (module docstring)."""
    return failure_threshold + concurrency + probes * math.ceil(outage_s / reset_after_s)


async def run(env: DemoEnv, ui: ScenarioUI) -> Outcome:
    out = Outcome(NAME, TITLE)
    outage = outage_seconds(env.orders)
    if outage < 30:
        out.notes.append(f"outage compressed to {outage:.0f} s for --orders {env.orders} (30 s at 500)")
    per_phase = env.scaled(0.06, 4)
    ui.total(per_phase * 3)
    ui.status("before the outage")
    before = await env.send_orders(per_phase, 10.0, ui)
    first = {norm_number(o["name"]) for o in before}

    async def posted(nums: set[str]) -> bool:
        return not erp_ledger(nums, await env.netsuite.sales_orders()).missing

    await wait_until(lambda: posted(first), timeout_s=60)
    t_out = time.time()
    await env.netsuite.faults({"outage_s": outage, "error_status": 503})
    ui.status(f"NetSuite down for {outage:.0f} s")
    during = await env.send_orders(per_phase, per_phase / (outage * 0.6), ui)
    remaining = t_out + outage - time.time()
    if remaining > 0:
        await asyncio.sleep(remaining)
    t_back = time.time()
    ui.status("NetSuite is back")
    after = await env.send_orders(per_phase, 10.0, ui)
    orders = before + during + after
    numbers = {norm_number(o["name"]) for o in orders}

    async def all_posted() -> bool:
        ledger = erp_ledger(numbers, await env.netsuite.sales_orders())
        ui.done(len(ledger.found))
        return not ledger.missing

    ok, _ = await wait_until(all_posted, timeout_s=120)
    t_done = time.time()
    await env.netsuite.faults(None)
    ledger = erp_ledger(numbers, await env.netsuite.sales_orders())
    out.figures["orders"] = len(orders)
    out.figures["outage_s"] = outage
    out.figures["recovery_s"] = round(t_done - t_back, 1)

    hooks = await env.shopify.webhooks()
    ids = {o["id"] for o in orders}
    ours = [d for d in hooks["deliveries"] if d["topic"] == "orders/create" and d["resource_id"] in ids]
    first_try = [d for d in ours if d["attempts"] and 200 <= int(d["attempts"][0]["status"] or 0) < 300]
    out.check(
        "the storefront's orders were accepted during the outage (Shopify's delivery log)",
        len(first_try) == len(ours) == len(orders),
        f"{len(first_try)}/{len(orders)} webhooks answered 2xx at the first attempt",
    )
    req = await env.netsuite.requests(items=True)
    items = req.get("items", [])
    in_outage = [
        r for r in items if t_out <= float(r["started"]) <= t_back and r["path"].startswith("/services/")
    ]
    writes = [r for r in in_outage if r["method"] in ("PUT", "POST", "PATCH") and "/record/" in r["path"]]
    quiet = quiet_gaps(
        [r for r in items if r["method"] in ("PUT", "POST", "PATCH") and "/record/" in r["path"]],
        t_out,
        t_back,
    )
    out.figures["erp_calls_during_outage"] = len(in_outage)
    out.figures["erp_writes_during_outage"] = len(writes)
    out.figures["longest_quiet_s"] = round(quiet, 1)
    budget = request_allowance(
        outage,
        failure_threshold=env.circuit_failure_threshold,
        concurrency=env.erp_concurrency,
        reset_after_s=env.circuit_reset_s,
        probes=env.circuit_half_open_probes,
    )
    out.figures["erp_call_allowance"] = budget
    out.check(
        "the circuit opened: the hub stopped calling the failing ERP (reads and writes)",
        len(in_outage) <= budget,
        f"{len(in_outage)} request(s) ({len(writes)} write(s)) reached NetSuite during the {outage:.0f} s "
        f"outage; allowance {budget} = {env.circuit_failure_threshold} failures to open + "
        f"{env.erp_concurrency} in flight + {env.circuit_half_open_probes} probe per {env.circuit_reset_s:.0f} s; "
        f"longest stretch without a write {quiet:.1f} s",
    )
    after_calls = [r for r in items if float(r["started"]) > t_back and 200 <= int(r["status"]) < 300]
    out.check(
        "the circuit closed: calls succeeded again after the outage",
        bool(after_calls) and ok,
        f"{len(after_calls)} successful call(s) after the outage; all posted {out.figures['recovery_s']:.1f} s after",
    )
    out.check("every order posted", ok and not ledger.missing, f"{len(ledger.found)}/{len(orders)}")
    out.check(
        "every order posted once",
        not ledger.duplicates and not ledger.recreated,
        f"{len(ledger.duplicates)} duplicated, {len(ledger.recreated)} re-created, {ledger.updates} update(s)",
    )
    return out
