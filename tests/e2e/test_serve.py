"""``retailconnect serve`` and ``retailconnect worker`` as real processes on loopback.

The simulators run in the test process (``mode: simulator`` with a ``base_url``, so serve uses them and
their state survives a restart of the hub): an order webhook reaches the NetSuite simulator, SIGINT
stops serve and its worker with exit 0, and an order in flight at the SIGINT is finished by the next
start, posted exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from retailconnect.simulators._kit import free_port
from retailconnect.simulators.netsuite import NetSuiteSimulator
from retailconnect.simulators.shopify import ShopifySimulator
from retailconnect.simulators.wms import WmsSimulator

pytestmark = [pytest.mark.timeout(240), pytest.mark.xdist_group("e2e-serve")]

SECRETS = {
    "T_SHOPIFY_TOKEN": "shpat_test_token",
    "T_SHOPIFY_SECRET": "test-webhook-secret",
    "T_NS_CK": "ck",
    "T_NS_CS": "cs",
    "T_NS_TI": "ti",
    "T_NS_TS": "ts",
    "T_WMS_KEY": "wms-key",
    "T_WMS_SECRET": "wms-secret",
}


def _topology(tmp: Path, urls: dict[str, str]) -> str:
    return f"""\
version: 1
name: serve-test
tenants: {{acme: {{name: ACME}}}}
systems:
  shopify:
    kind: shopify
    mode: simulator
    base_url: {urls["shopify"]}
    tenant: acme
    shop_domain: serve-test.myshopify.com
    credentials: {{access_token: {{env: T_SHOPIFY_TOKEN}}, webhook_secret: {{env: T_SHOPIFY_SECRET}}}}
  netsuite:
    kind: netsuite
    mode: simulator
    base_url: {urls["netsuite"]}
    tenant: acme
    account_id: "1234567"
    subsidiary: "1"
    credentials:
      consumer_key: {{env: T_NS_CK}}
      consumer_secret: {{env: T_NS_CS}}
      token_id: {{env: T_NS_TI}}
      token_secret: {{env: T_NS_TS}}
  wms:
    kind: wms
    mode: simulator
    base_url: {urls["wms"]}
    tenant: acme
    warehouse_id: MAIN
    credentials: {{api_key: {{env: T_WMS_KEY}}, webhook_secret: {{env: T_WMS_SECRET}}}}
flows:
  - {{name: order_to_cash, source: shopify, targets: [netsuite, wms]}}
policies:
  erp:
    netsuite: {{concurrency: 2, rps: 20}}
engines:
  store_url: sqlite:///{tmp / "hub.db"}
  executor_id: serve-test
"""


@pytest.fixture
def sims() -> Iterator[dict[str, Any]]:
    shop = ShopifySimulator(
        {
            "access_token": SECRETS["T_SHOPIFY_TOKEN"],
            "webhook_secret": SECRETS["T_SHOPIFY_SECRET"],
            "shop_domain": "serve-test.myshopify.com",
        }
    )
    ns = NetSuiteSimulator(
        {"consumer_key": "ck", "consumer_secret": "cs", "token_id": "ti", "token_secret": "ts"}
    )
    wms = WmsSimulator({"api_key": "wms-key", "webhook_secret": "wms-secret", "warehouse": "MAIN"})
    for s in (shop, ns, wms):
        s.start(free_port())
    with httpx.Client() as http:
        http.post(f"{ns.url}/_sim/items", json=[{"sku": "TEE-BLK-M", "price": "19.99"}]).raise_for_status()
        http.post(f"{ns.url}/_sim/customers", json=[{"email": "buyer@example.com"}]).raise_for_status()
    yield {"shopify": shop, "netsuite": ns, "wms": wms}
    for s in (shop, ns, wms):
        s.stop()


def _env() -> dict[str, str]:
    return {**os.environ, **SECRETS}


class Proc:
    """A child process whose output goes to a file (a full pipe would block it)."""

    def __init__(self, cmd: list[str], log: Path) -> None:
        self.log = log
        self._fh = log.open("wb")
        self.p = subprocess.Popen(cmd, env=_env(), stdout=self._fh, stderr=subprocess.STDOUT)

    def poll(self) -> int | None:
        return self.p.poll()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout_s: float = 40.0) -> tuple[int, str]:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        try:
            code = self.p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
            code = -9
        self._fh.close()
        return code, self.output()


def _serve(config: Path, port: int, *extra: str) -> Proc:
    cmd = [
        sys.executable,
        "-m",
        "retailconnect.cli",
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
        *extra,
    ]
    return Proc(cmd, config.parent / f"serve-{time.monotonic_ns()}.log")


def _wait_healthy(proc: Proc, url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.output()[-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become healthy")


def _stop(proc: Proc) -> tuple[int, str]:
    return proc.stop()


def _subscribe(shop: ShopifySimulator, gateway: str) -> None:
    httpx.post(
        f"{shop.url}/_sim/webhooks",
        json={
            "topic": "orders/create",
            "address": f"{gateway}/v1/channels/shopify/serve-test.myshopify.com/webhooks",
        },
    ).raise_for_status()


def _place_order(shop: ShopifySimulator) -> dict[str, Any]:
    r = httpx.post(f"{shop.url}/_sim/orders", json={"lines": [{"sku": "TEE-BLK-M", "quantity": 2}]})
    r.raise_for_status()
    return dict(r.json())


def _wait_delivered(shop: ShopifySimulator, order_id: int, timeout_s: float = 20.0) -> float:
    """When Shopify's orders/create delivery for the order was answered 2xx by the gateway."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for d in httpx.get(f"{shop.url}/_sim/webhooks").json()["deliveries"]:
            if d["resource_id"] == order_id and d["delivered"]:
                return time.time()
        time.sleep(0.05)
    raise AssertionError("the gateway did not accept the order webhook")


def _sales_orders(ns: NetSuiteSimulator, number: str) -> list[dict[str, Any]]:
    rows = httpx.get(f"{ns.url}/_sim/state/salesOrder").json()
    return [r for r in rows if str(r.get("otherRefNum")) == number]


def _wait_posted(ns: NetSuiteSimulator, number: str, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _sales_orders(ns, number)
        if found:
            return found
        time.sleep(0.3)
    return []


def test_serve_with_a_worker_posts_an_order_and_stops_cleanly(tmp_path: Path, sims: dict[str, Any]) -> None:
    config = tmp_path / "topology.yaml"
    config.write_text(_topology(tmp_path, {k: s.url for k, s in sims.items()}))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _serve(config, port, "--workers", "2")
    try:
        _wait_healthy(proc, url)
        _subscribe(sims["shopify"], url)
        order = _place_order(sims["shopify"])
        found = _wait_posted(sims["netsuite"], order["name"])
        assert len(found) == 1, "the order did not reach the NetSuite simulator exactly once"
        assert found[0]["created_count"] == 1
    finally:
        code, out = _stop(proc)
    assert code == 0, out[-3000:]
    assert "hub stopped cleanly" in out


def test_an_order_in_flight_at_sigint_is_finished_by_the_next_start(
    tmp_path: Path, sims: dict[str, Any]
) -> None:
    config = tmp_path / "topology.yaml"
    config.write_text(_topology(tmp_path, {k: s.url for k, s in sims.items()}))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ns = sims["netsuite"]
    # NetSuite answers slowly, so the post is still in flight when serve is interrupted
    httpx.post(f"{ns.url}/_sim/faults", json={"latency_ms": 1500}).raise_for_status()
    proc = _serve(config, port)
    try:
        _wait_healthy(proc, url)
        _subscribe(sims["shopify"], url)
        order = _place_order(sims["shopify"])
        delivered_at = _wait_delivered(sims["shopify"], order["id"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [
            r for r in ns.log.items("/services/") if r.started >= delivered_at
        ]:
            time.sleep(0.05)  # the hub is working on this order with NetSuite (each call takes 1.5 s)
    finally:
        code, out = _stop(proc)
    assert code == 0, out[-3000:]
    httpx.delete(f"{ns.url}/_sim/faults").raise_for_status()
    proc = _serve(config, port)
    try:
        _wait_healthy(proc, url)
        found = _wait_posted(ns, order["name"])
    finally:
        code, out = _stop(proc)
    assert code == 0, out[-3000:]
    assert len(found) == 1, "the interrupted order was lost or posted twice\n" + out[-4000:]
    assert found[0]["created_count"] == 1


def test_worker_runs_and_stops_cleanly(tmp_path: Path, sims: dict[str, Any]) -> None:
    config = tmp_path / "topology.yaml"
    config.write_text(_topology(tmp_path, {k: s.url for k, s in sims.items()}))
    cmd = [sys.executable, "-m", "retailconnect.cli", "worker", "--config", str(config)]
    proc = Proc(cmd, tmp_path / "worker.log")
    deadline = time.monotonic() + 60
    while "running" not in proc.output() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.output()
        time.sleep(0.1)
    assert "running" in proc.output()
    code, out = proc.stop()
    assert code == 0, out[-3000:]


def test_worker_refuses_simulators_it_cannot_start(tmp_path: Path) -> None:
    config = tmp_path / "topology.yaml"
    text = _topology(tmp_path, {"shopify": "x", "netsuite": "x", "wms": "x"})
    config.write_text("\n".join(ln for ln in text.splitlines() if "base_url" not in ln) + "\n")
    r = subprocess.run(
        [sys.executable, "-m", "retailconnect.cli", "worker", "--config", str(config)],
        env=_env(), capture_output=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2
    assert b"simulators without base_url" in r.stderr
