"""``flash_sale``: a 10x burst of orders while NetSuite is rate limited: no order lost or duplicated, the
ERP's limits never exceeded (NetSuite answers 429 above them, and logs every request), the backlog drains."""

from __future__ import annotations

import time

from ..checks import Outcome, erp_ledger, norm_number
from ..context import DemoEnv
from ..drivers import wait_until
from ..report import ScenarioUI
from .orders import erp_figures, erp_limits_detail

NAME = "flash_sale"
TITLE = "10x order burst against a rate-limited ERP"


async def run(env: DemoEnv, ui: ScenarioUI) -> Outcome:
    out = Outcome(NAME, TITLE)
    base_rate = 5.0
    burst_rate = base_rate * 10
    baseline_n = env.scaled(0.05, 5)
    burst_n = env.scaled(0.5, 25)
    ui.total(baseline_n + burst_n)
    t0 = time.time()
    ui.status(f"baseline {base_rate:.0f} orders/s")
    orders = await env.send_orders(baseline_n, base_rate, ui)
    ui.status(f"burst {burst_rate:.0f} orders/s")
    orders += await env.send_orders(burst_n, burst_rate, ui)
    t_burst_end = time.time()
    numbers = {norm_number(o["name"]) for o in orders}
    out.figures["orders"] = len(orders)
    out.figures["burst_orders_per_s"] = burst_rate
    out.notes.append(
        f"baseline {baseline_n} orders at {base_rate:.0f}/s, then {burst_n} at {burst_rate:.0f}/s; "
        f"NetSuite enforces {env.erp_limit_rps} req/s and {env.erp_concurrency} concurrent requests"
    )

    async def drained() -> bool:
        ledger = erp_ledger(numbers, await env.netsuite.sales_orders())
        ui.done(len(ledger.found))
        ui.status(f"backlog {len(ledger.missing)}")
        return not ledger.missing

    ok, _ = await wait_until(drained, timeout_s=max(60.0, len(orders) / 2), interval_s=1.0)
    t_drained = time.time()
    ledger = erp_ledger(numbers, await env.netsuite.sales_orders())
    out.figures["drain_s"] = round(t_drained - t_burst_end, 1)
    out.figures["orders_per_s"] = round(len(ledger.found) / max(0.001, t_drained - t0), 1)
    out.check("no order lost: every order is in NetSuite", ok and not ledger.missing,
              f"{len(ledger.found)}/{len(orders)}")  # fmt: skip
    out.check(
        "no order duplicated in NetSuite",
        not ledger.duplicates and not ledger.recreated,
        f"{len(ledger.duplicates)} duplicated, {len(ledger.recreated)} re-created, {ledger.updates} update(s)",
    )
    await erp_figures(env, out, t0, t_drained)
    out.check(
        "the ERP request limit was never exceeded (NetSuite refused nothing; sustained rate under it)",
        out.figures["erp_429s"] == 0 and out.figures["erp_sustained_rps"] <= env.erp_limit_rps,
        erp_limits_detail(env, out),
    )
    out.check(
        "the ERP concurrency limit was never exceeded",
        out.figures["erp_max_in_flight"] <= env.erp_concurrency,
        f"max {out.figures['erp_max_in_flight']} in flight (limit {env.erp_concurrency})",
    )
    out.check("the backlog drained", ok, f"drained {out.figures['drain_s']:.1f} s after the burst")
    return out
