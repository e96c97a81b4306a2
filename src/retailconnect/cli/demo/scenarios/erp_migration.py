"""``erp_migration``: the seed's migration. A second topology pair (examples/migration-legacy.yaml and
examples/migration-netsuite.yaml) differs only in the ERP: a legacy ERP with a flat-file CSV drop (the
batch pattern) is replaced by NetSuite. The hub is stopped and restarted on the new topology while the
storefront keeps sending orders; Shopify's webhook retries carry the orders across the switch, the channel
configuration never changes, and every order lands in exactly one ERP (read from both ERPs' own records)."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from pathlib import Path
from typing import Any

from retailconnect.config import Topology, load_topology
from retailconnect.simulators._kit import free_port

from ..checks import Outcome, erp_ledger, norm_number
from ..context import DemoEnv, _prepare_netsuite_items
from ..drivers import LegacyDriver, NetSuiteDriver, ShopifyDriver, wait_until
from ..harness import HubProcess, SimulatorFleet, write_topology
from ..report import ScenarioUI

NAME = "erp_migration"
TITLE = "Legacy flat-file ERP replaced by NetSuite; channels unchanged; orders keep flowing"

FILES = ("migration-legacy.yaml", "migration-netsuite.yaml")


def examples_dir() -> Path:
    for base in (Path.cwd(), Path(__file__).resolve().parents[5]):
        if (base / "examples" / FILES[0]).is_file():
            return base / "examples"
    raise FileNotFoundError(f"examples/{FILES[0]} not found (run from the repository root)")


def channel_config(t: Topology) -> dict[str, Any]:
    """What the channels see: the non-ERP systems and where each flow starts."""
    erps = set(t.systems_of("netsuite", "legacy_erp", "business_central", "sap_s4", "oracle_fusion"))
    return {
        "tenants": t.tenants,
        "systems": {n: s for n, s in t.systems.items() if n not in erps},
        "sources": sorted((f.name, f.source) for f in t.flows),
    }


def _env_names(*topologies: Topology) -> set[str]:
    return {
        ref.env for t in topologies for s in t.systems.values() for ref in s.credentials.values() if ref.env
    }


async def run(env: DemoEnv, ui: ScenarioUI) -> Outcome:
    out = Outcome(NAME, TITLE)
    folder = examples_dir()
    before, after = (load_topology(folder / f) for f in FILES)
    out.check(
        "the channel configuration is identical in both topologies",
        channel_config(before) == channel_config(after),
        f"{FILES[0]} vs {FILES[1]}: only the ERP differs",
    )
    work = env.workdir / "migration"
    work.mkdir(parents=True, exist_ok=True)
    engines = before.engines.model_copy(update={"store_url": f"sqlite:///{work / 'migration.db'}"})
    before = before.model_copy(update={"engines": engines})
    after = after.model_copy(update={"engines": engines})
    child_env = dict(os.environ)
    for name in _env_names(before, after):
        child_env[name] = secrets.token_hex(16)
    fleet = SimulatorFleet()
    hub: HubProcess | None = None
    try:
        eff_before = fleet.start_for(before, child_env)
        systems = dict(after.systems)
        for name in systems:
            if name in eff_before.systems and name in fleet:
                systems[name] = systems[name].model_copy(update={"base_url": fleet[name].url})
        eff_after = fleet.start_for(after.model_copy(update={"systems": systems}), child_env)
        legacy_name = next(n for n, s in eff_before.systems.items() if s.kind == "legacy_erp")
        ns_name = next(n for n, s in eff_after.systems.items() if s.kind == "netsuite")
        _prepare_netsuite_items(fleet[ns_name].url)
        port = free_port()
        cfg_a = write_topology(eff_before, work / "before.yaml")
        cfg_b = write_topology(eff_after, work / "after.yaml")
        hub = HubProcess(cfg_a, port=port, env=child_env, log_path=work / "hub-before.log")
        fleet.subscribe(eff_before, hub.url)
        shop = ShopifyDriver(env.http, fleet["shopify"].url)
        legacy = LegacyDriver(env.http, fleet[legacy_name].url)
        netsuite = NetSuiteDriver(env.http, fleet[ns_name].url)
        subs_before = (await shop.webhooks())["subscriptions"]
        ui.status("hub on the legacy topology")
        await asyncio.to_thread(hub.start)
        k = env.scaled(0.05, 6)
        ui.total(3 * k)
        # the example topologies sell the catalogue only: their legacy ERP has no gift-card item
        orders = await env.send_orders(k, 5.0, ui, shopify=shop, gift_cards=False)
        # keep the storefront selling while the hub switches ERP
        selling = asyncio.create_task(env.send_orders(k, 2.0, None, shopify=shop, gift_cards=False))
        await asyncio.sleep(1.0)
        t_switch = time.time()
        ui.status("switching: stopping the hub (clean shutdown)")
        code_a = await asyncio.to_thread(hub.stop)
        hub = HubProcess(cfg_b, port=port, env=child_env, log_path=work / "hub-after.log")
        ui.status("switching: starting the hub on the NetSuite topology")
        await asyncio.to_thread(hub.start)
        t_switched = time.time()
        orders += await selling
        post_switch = await env.send_orders(k, 5.0, ui, shopify=shop, gift_cards=False)
        orders += post_switch
        out.figures["switch_s"] = round(t_switched - t_switch, 1)
        out.check("the old hub stopped cleanly (exit 0)", code_a == 0, f"exit code {code_a}")
        numbers = {norm_number(o["name"]) for o in orders}
        by_id = {str(o["id"]): str(o["name"]) for o in orders}  # the hub's external ids carry the order id

        async def ledgers() -> tuple[Any, Any]:
            rows = (await legacy.orders())["orders"]
            as_sos = [{"externalId": r["order_ref"], "created_count": 1} for r in rows]
            return (
                erp_ledger(numbers, as_sos, by_id),
                erp_ledger(numbers, await netsuite.sales_orders(), by_id),
            )

        async def all_landed() -> bool:
            old, new = await ledgers()
            ui.done(len(set(old.found) | set(new.found)))
            return not (numbers - set(old.found) - set(new.found))

        ok, _ = await wait_until(all_landed, timeout_s=90)
        old, new = await ledgers()
        in_both = sorted(set(old.found) & set(new.found))
        out.figures["orders"] = len(orders)
        out.figures["orders_legacy"] = len(old.found)
        out.figures["orders_netsuite"] = len(new.found)
        lstate = await legacy.orders()
        out.notes.append(
            f"legacy ERP: {lstate['files_received']} CSV file(s) received, {lstate['batches_run']} batch run(s), "
            f"{len(lstate['orders'])} sales order(s) e.g. {[r['order_ref'] for r in lstate['orders'][:2]]}"
        )
        out.check(
            "every order reached an ERP across the switch",
            ok,
            f"{len(set(old.found) | set(new.found))}/{len(numbers)} "
            f"(legacy {len(old.found)}, NetSuite {len(new.found)})",
        )
        out.check(
            "no order in both ERPs, none duplicated",
            not in_both and not new.duplicates and not new.recreated and not old.duplicates,
            f"in both: {in_both[:5]}; NetSuite duplicates {len(new.duplicates)}",
        )
        post = {norm_number(o["name"]) for o in post_switch}
        out.check(
            "the legacy ERP took orders before the switch, NetSuite every order after it",
            bool(old.found) and post <= set(new.found),
            f"legacy {len(old.found)}, post-switch orders in NetSuite {len(post & set(new.found))}/{len(post)}",
        )
        hooks = await shop.webhooks()
        ids = {o["id"] for o in orders}
        ours = [d for d in hooks["deliveries"] if d["topic"] == "orders/create" and d["resource_id"] in ids]
        retried = sum(1 for d in ours if len(d["attempts"]) > 1)
        out.figures["webhook_retries"] = retried
        out.check(
            "the storefront's webhooks were all delivered (some retried across the switch); subscriptions unchanged",
            all(d["delivered"] for d in ours) and hooks["subscriptions"] == subs_before,
            f"{sum(d['delivered'] for d in ours)}/{len(ours)} delivered, {retried} needed a retry",
        )
        return out
    finally:
        if hub is not None:
            hub.stop()
        fleet.stop()
