"""The demo's world: the generated topology, the simulators, the hub child process, API keys, drivers."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from retailconnect.config import Topology, parse_topology
from retailconnect.simulators._kit import free_port

from .drivers import HubApi, NetSuiteDriver, ShopifyDriver, WmsDriver
from .harness import HubProcess, SimulatorFleet, topology_to_yaml, write_topology
from .report import ScenarioUI

__all__ = ["DemoEnv", "create_consumers", "demo_topology"]

TENANT = "acme"
SHOP_DOMAIN = "acme-demo.myshopify.com"
WAREHOUSE = "MAIN"
ERP_LIMIT_RPS = 40  # what the NetSuite simulator enforces (429 above it) and the topology declares
ERP_CONCURRENCY = 5
CIRCUIT_RESET_S = 4.0
CIRCUIT_FAILURE_THRESHOLD = 5  # failed ERP requests in a row that open the circuit
CIRCUIT_HALF_OPEN_PROBES = 1  # requests let through per reset interval to see whether the ERP is back
SAFETY_STOCK = 2
GIFT_CARD_SKU = "GIFT-CARD"  # NetSuite's non-inventory item for gift cards sold on the storefront

# credentials of the demo systems: env var -> fresh random value per run (the simulators get the same)
SECRET_ENV = [
    "RC_DEMO_SHOPIFY_TOKEN",
    "RC_DEMO_SHOPIFY_WEBHOOK_SECRET",
    "RC_DEMO_NS_CONSUMER_KEY",
    "RC_DEMO_NS_CONSUMER_SECRET",
    "RC_DEMO_NS_TOKEN_ID",
    "RC_DEMO_NS_TOKEN_SECRET",
    "RC_DEMO_WMS_API_KEY",
    "RC_DEMO_WMS_WEBHOOK_SECRET",
    "RC_DEMO_LEGACY_KEY",
]


def order_spec(rng: random.Random, *, gift_cards: bool = True) -> dict[str, Any]:
    """One storefront order of the demo's mix: 1-4 catalogue lines, some discounted (per line or for the
    whole order), taxes added or included, shipping charged or free, several presentment currencies.

    About one order in ten also sells a digital gift card: a Shopify line with ``gift_card: true``, no SKU,
    untaxed and not shipped. The topology maps it to NetSuite's non-inventory item ``GIFT-CARD``
    (``gift_card_sku``); the WMS never sees it."""
    from retailconnect.simulators.shopify.state import DEFAULT_CATALOG

    skus = [v["sku"] for p in DEFAULT_CATALOG for v in p["variants"]]
    lines = []
    for sku in rng.sample(skus, k=rng.randint(1, 4)):
        line: dict[str, Any] = {"sku": sku, "quantity": rng.randint(1, 3)}
        if rng.random() < 0.25:
            line["discount"] = f"{rng.randint(1, 5)}.00"
        lines.append(line)
    if rng.random() < 0.1 and gift_cards:
        lines.append(
            {"sku": "", "title": "Digital gift card", "price": "25.00", "quantity": 1, "gift_card": True}
        )
    included = rng.random() < 0.35
    return {
        "lines": lines,
        "taxes_included": included,
        "tax_rate": "0.20" if included else rng.choice(["0.0825", "0.06", "0"]),
        "shipping": rng.choice(["0", "4.99", "9.99", "15.00"]),
        "order_discount_pct": rng.choice([0, 0, 10, 15]),
        "free_shipping": rng.random() < 0.15,
        "presentment_currency": rng.choice(["USD", "USD", "EUR", "GBP", "CAD"]),
        "email": "buyer@example.com",
    }


def demo_topology(workdir: Path, *, name: str = "retailconnect-demo") -> str:
    """The demo's topology (YAML): Shopify, NetSuite and a WMS, all simulators, SQLite engines."""
    return f"""\
version: 1
name: {name}
tenants:
  {TENANT}: {{name: ACME Outfitters, brands: [acme], currency: USD}}
systems:
  shopify:
    kind: shopify
    mode: simulator
    tenant: {TENANT}
    shop_domain: {SHOP_DOMAIN}
    credentials:
      access_token: {{env: RC_DEMO_SHOPIFY_TOKEN}}
      webhook_secret: {{env: RC_DEMO_SHOPIFY_WEBHOOK_SECRET}}
    location_map: {{{WAREHOUSE}: Main Warehouse}}
    settings:
      simulator: {{maximum: 10000, restore_rate: 1000}}   # a Shopify Plus store: 1000 points/s
      gift_card_sku: {GIFT_CARD_SKU}   # SKU-less gift-card lines post to the ERP as this item
  netsuite:
    kind: netsuite
    mode: simulator
    tenant: {TENANT}
    account_id: "1234567"
    subsidiary: "1"
    location: "1"
    concurrency_limit: {ERP_CONCURRENCY}
    credentials:
      consumer_key: {{env: RC_DEMO_NS_CONSUMER_KEY}}
      consumer_secret: {{env: RC_DEMO_NS_CONSUMER_SECRET}}
      token_id: {{env: RC_DEMO_NS_TOKEN_ID}}
      token_secret: {{env: RC_DEMO_NS_TOKEN_SECRET}}
  wms:
    kind: wms
    mode: simulator
    tenant: {TENANT}
    warehouse_id: {WAREHOUSE}
    locations: [{WAREHOUSE}]
    credentials:
      api_key: {{env: RC_DEMO_WMS_API_KEY}}
      webhook_secret: {{env: RC_DEMO_WMS_WEBHOOK_SECRET}}
flows:
  - {{name: order_to_cash, source: shopify, targets: [netsuite, wms]}}
  - {{name: fulfillment, source: wms, targets: [shopify, netsuite]}}
  - {{name: inventory_sync, source: wms, targets: [shopify]}}
  - {{name: returns, source: shopify, targets: [wms, netsuite]}}
policies:
  erp:
    netsuite:
      concurrency: {ERP_CONCURRENCY}
      rps: {ERP_LIMIT_RPS}
      headroom: 0.9
      circuit:
        failure_threshold: {CIRCUIT_FAILURE_THRESHOLD}
        reset_after_s: {CIRCUIT_RESET_S}
        half_open_max_calls: {CIRCUIT_HALF_OPEN_PROBES}
  consumers:
    default: {{rate: "2000/second"}}
  safety_stock: {SAFETY_STOCK}
  stale_buffer: 2
exception_routing:
  - {{code: unresolved_reference, team: merchandising}}
  - {{code: vendor_rejected, system: netsuite, team: finance-ops}}
  - {{team: integration}}
engines:
  store_url: sqlite:///{workdir / "retailconnect.db"}
  bus: {{backend: sqlite}}
"""


def create_consumers(store_url: str) -> dict[str, str]:
    """API keys for the demo: an operator (all tenants, ops:admin) and the storefront (returns, orders)."""
    from retailconnect.gateway.consumers import ConsumerStore
    from retailconnect.store import Store

    store = Store.open(store_url)
    try:
        consumers = ConsumerStore(store)
        return {
            "ops": consumers.add(
                "demo-operator", tenant="*", scopes=["ops:admin", "systems:read", "orders:read"]
            ),
            "storefront": consumers.add(
                "demo-storefront",
                tenant=TENANT,
                scopes=["orders:write", "returns:write", "availability:read"],
                tier="storefront",
            ),
        }
    finally:
        store.close()


@dataclass
class DemoEnv:
    orders: int
    workdir: Path
    topology: Topology
    fleet: SimulatorFleet
    hub: HubProcess
    http: httpx.AsyncClient
    keys: dict[str, str]
    env: dict[str, str]
    shopify: ShopifyDriver = field(init=False)
    netsuite: NetSuiteDriver = field(init=False)
    wms: WmsDriver = field(init=False)
    ops: HubApi = field(init=False)
    storefront: HubApi = field(init=False)
    erp_limit_rps: int = ERP_LIMIT_RPS
    erp_concurrency: int = ERP_CONCURRENCY
    circuit_reset_s: float = CIRCUIT_RESET_S
    circuit_failure_threshold: int = CIRCUIT_FAILURE_THRESHOLD
    circuit_half_open_probes: int = CIRCUIT_HALF_OPEN_PROBES
    safety_stock: int = SAFETY_STOCK
    seed: int = 7
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def __post_init__(self) -> None:
        self.shopify = ShopifyDriver(self.http, self.fleet["shopify"].url)
        self.netsuite = NetSuiteDriver(self.http, self.fleet["netsuite"].url)
        self.wms = WmsDriver(self.http, self.fleet["wms"].url)
        self.ops = HubApi(self.http, self.hub.url, self.keys["ops"])
        self.storefront = HubApi(self.http, self.hub.url, self.keys["storefront"])

    @property
    def full_run(self) -> bool:
        return self.orders >= 500

    @property
    def backlog_wait_s(self) -> float:
        """How long a scenario waits for the hub: earlier scenarios may leave shipments queued behind."""
        return max(60.0, self.orders * 0.5)

    def scaled(self, fraction: float, minimum: int) -> int:
        return max(minimum, round(self.orders * fraction))

    def next_seed(self) -> int:
        self.seed += 1
        return self.seed

    async def send_orders(
        self,
        count: int,
        rate_per_s: float,
        ui: ScenarioUI | None = None,
        shopify: ShopifyDriver | None = None,
        gift_cards: bool = True,
    ) -> list[dict[str, Any]]:
        """Place ``count`` storefront orders at ``rate_per_s`` (the demo's mix, see :func:`order_spec`);
        Shopify delivers each to the hub as a signed orders/create webhook."""
        shop = shopify or self.shopify
        out: list[dict[str, Any]] = []
        start = time.monotonic()
        while len(out) < count:
            order = await shop.create_order(**order_spec(self.rng, gift_cards=gift_cards))
            out.append(
                {
                    "id": order["id"],
                    "name": order["name"],
                    "currency": order.get("presentment_currency") or order.get("currency"),
                    "skus": [li.get("sku") for li in order["line_items"]],
                    "gift_cards": sum(1 for li in order["line_items"] if li.get("gift_card")),
                    "total_price": order.get("total_price"),
                }
            )
            if ui is not None:
                ui.status(f"sent {len(out)}/{count} orders")
            due = start + len(out) / rate_per_s
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return out

    # -- life --------------------------------------------------------------------------------------
    @classmethod
    def setup(cls, orders: int, workdir: Path, *, log_to: Path | None = None) -> DemoEnv:
        workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        for name in SECRET_ENV:
            env[name] = secrets.token_hex(16)
        topology = parse_topology(demo_topology(workdir), "<demo topology>")
        fleet = SimulatorFleet()
        try:
            effective = fleet.start_for(topology, env)
            hub = HubProcess(
                workdir / "topology.yaml", port=free_port(), env=env, log_path=log_to or workdir / "hub.log"
            )
            fleet.subscribe(effective, hub.url)
            write_topology(effective, hub.config)
            _prepare_simulators(fleet)
            keys = create_consumers(effective.engines.store_url)
            hub.start()
        except BaseException:
            fleet.stop()
            raise
        http = httpx.AsyncClient(timeout=30.0)
        return cls(orders=orders, workdir=workdir, topology=effective, fleet=fleet, hub=hub, http=http,
                   keys=keys, env=env)  # fmt: skip

    async def close(self) -> int | None:
        await self.http.aclose()
        code = self.hub.stop()
        self.fleet.stop()
        return code


# the storefront's customers, already known to the ERP (the hub finds them by email)
CUSTOMERS = [
    {"email": "buyer@example.com", "firstName": "Alex", "lastName": "Buyer"},
    {"email": "lamp.buyer@example.com", "firstName": "Lee", "lastName": "Lamp"},
    {"email": "returner@example.com", "firstName": "Robin", "lastName": "Returner"},
]


def _prepare_netsuite_items(ns_url: str) -> None:
    """NetSuite knows the storefront's catalogue and customers before orders arrive."""
    from retailconnect.simulators.shopify.state import DEFAULT_CATALOG

    items = [
        {"sku": v["sku"], "title": p["title"], "price": v["price"]}
        for p in DEFAULT_CATALOG
        for v in p["variants"]
    ]
    items.append({"sku": GIFT_CARD_SKU, "title": "Gift card (non-inventory)", "price": "0"})
    with httpx.Client(timeout=10.0) as http:
        http.post(f"{ns_url}/_sim/items", json=items).raise_for_status()
        http.post(f"{ns_url}/_sim/customers", json=CUSTOMERS).raise_for_status()


def _prepare_simulators(fleet: SimulatorFleet) -> None:
    """NetSuite knows the storefront's items and enforces its limits; the WMS ships after a short delay."""
    ns = fleet["netsuite"].url
    _prepare_netsuite_items(ns)
    with httpx.Client(timeout=10.0) as http:
        http.post(
            f"{ns}/_sim/settings",
            json={"concurrency_limit": ERP_CONCURRENCY, "rate_limit_rps": ERP_LIMIT_RPS},
        ).raise_for_status()
        http.post(f"{fleet['wms'].url}/_sim/settings", json={"ship_delay_s": 0.5}).raise_for_status()


def effective_yaml(topology: Topology) -> str:
    return topology_to_yaml(topology)
