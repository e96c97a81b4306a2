"""The dashboard in a real browser (Debian's Chromium via Playwright) against a live hub: runtime.Hub with
the NetSuite simulator over loopback HTTP, the gateway app with the observability middleware, /metrics
and the dashboard router, served by uvicorn.

Story: an order with an unknown SKU parks on an exception; the operator logs in, sees it on the
operations view, fixes the cause (the item is created in the ERP), presses Replay and watches it resolve;
then looks the order up and sees its journey. Screenshots of each view go to artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from retailconnect.canonical import CustomerContact, Money, Order, OrderLine, OrderTotals
from retailconnect.config import Topology
from retailconnect.simulators._kit import free_port

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def order(n: int, sku: str, qty: int = 1, price: str = "24.50", channel: str = "shopify") -> Order:
    unit = Money.of(price, "USD")
    total = unit * qty
    z = Money.zero("USD")
    now = datetime.now(UTC)
    return Order(
        number=f"#{n}",
        channel=channel,
        currency="USD",
        placed_at=now,
        updated_at=now,
        customer=CustomerContact(email="c1@example.com", first_name="Ada", last_name="Lovelace"),
        lines=[
            OrderLine(
                id="L1",
                sku=sku,
                title=f"Item {sku}",
                quantity=qty,
                unit_price=unit,
                discount_total=z,
                tax_total=z,
                line_total=total,
            )
        ],
        totals=OrderTotals(
            subtotal=total, discount_total=z, shipping_total=z, tax_total=z, grand_total=total
        ),
        external_refs={channel: str(n)},
    )


def topology(store_url: str, ns_url: str) -> Topology:
    return Topology.model_validate(
        {
            "name": "acme-demo",
            "tenants": {"acme": {"name": "ACME"}},
            "systems": {
                "shopify": {"kind": "shopify", "mode": "simulator", "shop_domain": "acme.myshopify.com"},
                "netsuite": {
                    "kind": "netsuite",
                    "mode": "simulator",
                    "account_id": "1234567",
                    "base_url": ns_url,
                },
            },
            "policies": {
                "erp": {"netsuite": {"concurrency": 5, "rps": 50, "circuit": {"reset_after_s": 2.0}}}
            },
            "slas": [
                {
                    "name": "tier1-order-aging",
                    "metric": "order_aging_s",
                    "threshold": 900,
                    "tier": 1,
                    "severity": "critical",
                },
                {
                    "name": "exceptions-open",
                    "metric": "exceptions_open",
                    "threshold": 0,
                    "severity": "warning",
                },
            ],
            "alerts": {"evaluate_every_s": 0.5},
            "exception_routing": [
                {"code": "vendor_rejected", "system": "netsuite", "team": "finance-ops"},
                {"team": "integration"},
            ],
            "engines": {"store_url": store_url, "bus": {"backend": "sqlite"}},
        }
    )


class LiveHub:
    """runtime.Hub + gateway app on one event loop in a background thread."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.hub: Any = None
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=self._run, name="live-hub", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced to the test
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        from retailconnect.dashboard import create_dashboard_router, observability_for
        from retailconnect.gateway.app import create_app
        from retailconnect.runtime import Hub

        self.hub = await Hub.start(self.topo, executor_id="e2e-dashboard")
        obs = observability_for(self.hub)
        app = create_app(
            self.hub,
            extra_routers=[
                obs.metrics_router(),
                create_dashboard_router(self.hub, obs, live_interval_s=1.0, live_max_s=20),
            ],
            extra_middleware=[obs.middleware()],
        )
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if task.done():
                await task
            await asyncio.sleep(0.02)
        self.ready.set()
        try:
            await task
        finally:
            await self.hub.stop()

    def start(self) -> LiveHub:
        self.thread.start()
        self.ready.wait(60)
        if self.error:
            raise self.error
        return self

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(20)


def wait_until(pred: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
    from retailconnect.gateway.consumers import ConsumerStore
    from retailconnect.simulators.netsuite import NetSuiteSimulator

    ns = NetSuiteSimulator({"concurrency_limit": 10})
    ns.start()
    httpx.post(
        ns.url + "/_sim/items", json=[{"sku": s, "price": "24.50"} for s in ("SKU-1", "SKU-2")], timeout=10
    )
    httpx.post(ns.url + "/_sim/customers", json=[{"email": "c1@example.com"}], timeout=10)
    db = tmp_path_factory.mktemp("dash") / "rc.db"
    lh = LiveHub(topology(f"sqlite:///{db}", ns.url)).start()
    consumers = ConsumerStore(lh.hub.store)
    keys = {
        "admin": consumers.add("ops-admin", tenant="*", scopes=["ops:admin"]),
        "reader": consumers.add("ops-viewer", tenant="*", scopes=["ops:read"]),
        "pos": consumers.add("pos-eu", tenant="acme", scopes=["orders:write"]),
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield {"hub": lh, "ns": ns, "keys": keys}
    finally:
        lh.stop()
        ns.stop()


@pytest.fixture(scope="module")
def browser(live: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(locator)


def test_operator_replays_a_parked_exception_and_follows_the_order(
    live: dict[str, Any], browser: Any
) -> None:
    lh: LiveHub = live["hub"]
    hub = lh.hub
    # orders flow in through the gateway API: two go through, one parks on an unknown SKU
    for n, sku in ((1001, "SKU-1"), (1002, "SKU-2"), (1003, "SKU-NEW")):
        r = httpx.post(
            lh.url + "/v1/orders",
            content=order(n, sku).model_dump_json(),
            headers={
                "X-API-Key": live["keys"]["pos"],
                "Content-Type": "application/json",
                "X-Correlation-ID": f"corr-{n}",
                "Idempotency-Key": f"idem-{n}",
            },
            timeout=10,
        )
        assert r.status_code == 202, r.text
    wait_until(lambda: hub.exceptions.list(status="open"), 40)
    [exc] = hub.exceptions.list(status="open")
    assert exc.team == "finance-ops" and exc.context.get("order_number") == "#1003"

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.on("dialog", lambda d: d.accept())
    page.goto(lh.url + "/")
    assert "/dashboard/login" in page.url
    page.screenshot(path=str(SHOTS / "login.png"))
    page.fill("#api_key", "rc_wrong_key")
    page.click("button[type=submit]")
    assert page.locator(".flash-error").inner_text() == "That key is not valid."
    page.fill("#api_key", live["keys"]["admin"])
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/ops")

    # operations: the parked exception with its business context
    row = page.locator(f'tr[data-exception="{exc.id}"]')
    row.wait_for()
    assert "#1003" in row.inner_text() and "finance-ops" in row.inner_text()
    page.screenshot(path=str(SHOTS / "operations.png"), full_page=True)

    # the exception's page: assign it and leave a note (both audited)
    row.locator(f'a[href="/dashboard/exceptions/{exc.id}"]').click()
    page.wait_for_url(f"**/dashboard/exceptions/{exc.id}")
    page.fill("input[name=assignee]", "maria@finance")
    page.click('button:text-is("Assign")')
    page.fill("textarea[name=text]", "Item SKU-NEW is being created in NetSuite <b>now</b>")
    page.click('button:text-is("Add note")')
    expect(page.locator(".note-text").first).to_have_text(
        "Item SKU-NEW is being created in NetSuite <b>now</b>"
    )
    page.screenshot(path=str(SHOTS / "exception.png"), full_page=True)
    audit = [e["action"] for e in hub.audit.entries(target=f"exception:{exc.id}")]
    assert "exception.assigned" in audit and "exception.note" in audit
    page.click("text=← Operations")
    page.wait_for_url("**/dashboard/ops")
    row = page.locator(f'tr[data-exception="{exc.id}"]')

    # fix the cause in the ERP, then press Replay and see the exception resolve and the order post
    httpx.post(live["ns"].url + "/_sim/items", json=[{"sku": "SKU-NEW", "price": "24.50"}], timeout=10)
    row.locator("button", has_text="Replay").click()
    page.wait_for_url("**/dashboard/ops")
    assert "retry requested" in page.locator(".flash").inner_text()
    assert page.locator(f'tr[data-exception="{exc.id}"]').count() == 0
    assert hub.exceptions.get(exc.id).resolution == "retry"
    wait_until(lambda: _posted(hub, "order:acme:shopify:1003"), 40)
    # the SLA rule on open exceptions fired while it was parked and resolves now (evaluated every 0.5 s)
    sla = hub.observability.sla
    wait_until(
        lambda: (
            [(n.rule, n.status) for n in sla.history if n.rule == "exceptions-open"][-1:]
            == [("exceptions-open", "resolved")]
        ),
        20,
    )

    # integration and business views
    page.click("text=Integration")
    page.wait_for_url("**/dashboard/integration")
    assert "netsuite" in page.locator("#connectors").inner_text()
    page.screenshot(path=str(SHOTS / "integration.png"), full_page=True)
    page.click("text=Business")
    page.wait_for_url("**/dashboard/business")
    expect(page.locator(".kpi-value").first).to_have_text("3", timeout=15000)
    assert "shopify" in page.locator("svg.bars").inner_html()
    page.screenshot(path=str(SHOTS / "business.png"), full_page=True)

    # the order's journey, found by order number from the search box
    page.fill("header input[name=q]", "#1003")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/dashboard/journey?q=*")
    timeline = page.locator("#timeline").inner_text()
    assert "post_sales_order" in timeline and "exception #" in timeline and "resolved: retry" in timeline
    assert "POST /v1/orders" in timeline  # the gateway span of the same transaction
    print(
        "SPANS",
        [
            (s.name, s.trace_id[:8], s.parent_id)
            for s in hub.observability.tracing.store.by_correlation("corr-1003")
        ],
    )
    page.screenshot(path=str(SHOTS / "journey.png"), full_page=True)
    page.close()

    # a read-only operator sees the same views but cannot act
    ro = browser.new_page()
    ro.goto(lh.url + "/dashboard/login")
    ro.fill("#api_key", live["keys"]["reader"])
    ro.click("button[type=submit]")
    ro.wait_for_url("**/dashboard/ops")
    assert "read-only" in ro.locator(".who").inner_text()
    ro.close()

    # (kept in the same test: under xdist a second test could land on another worker with another hub)
    business_metrics_moved_and_live_updates_arrive(live, browser)


def business_metrics_moved_and_live_updates_arrive(live: dict[str, Any], browser: Any) -> None:
    lh: LiveHub = live["hub"]
    text = httpx.get(lh.url + "/metrics", timeout=10).text
    assert 'retailconnect_orders_captured_total{channel="shopify",tenant="acme"} 3.0' in text
    assert 'retailconnect_orders_capture_to_post_seconds_count{tier="1"} 3.0' in text
    assert (
        'retailconnect_connector_request_duration_seconds_count{method="POST",outcome="ok",system="netsuite"}'
        in text
        or "retailconnect_erp_circuit_state" in text
    )
    # live: a new order captured while the page is open appears without a reload
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(lh.url + "/dashboard/login")
    page.fill("#api_key", live["keys"]["reader"])
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/ops")
    page.goto(lh.url + "/dashboard/business")
    lh.call(
        lh.hub.capture_order(order(1004, "SKU-1", channel="pos"), tenant="acme", correlation_id="corr-1004")
    )
    expect(page.locator(".kpi-value").first).to_have_text("4", timeout=15000)  # pushed over SSE
    assert page.locator("#live-state.on").count() == 1
    page.close()


def _posted(hub: Any, wid: str) -> bool:
    import sqlalchemy as sa

    from retailconnect.flows.tables import flow_orders

    with hub.store.engine.connect() as c:
        return bool(
            c.execute(sa.select(flow_orders.c.posted).where(flow_orders.c.workflow_id == wid)).scalar()
        )
