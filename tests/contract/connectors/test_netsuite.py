"""NetSuite connector against its simulator over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from retailconnect.canonical import CustomerContact, Money, Order, OrderLine, OrderTotals
from retailconnect.connectors.netsuite import NetSuiteAuth, NetSuiteClient
from retailconnect.errors import AuthError
from retailconnect.resilience import RetryPolicy
from retailconnect.simulators._kit import free_port
from retailconnect.simulators.netsuite import NetSuiteSimulator

ROOT = Path(__file__).parents[3]


def usd(a: str) -> Money:
    return Money.of(a, "USD")


def order(number: str, skus: tuple[str, ...] = ("SKU-1", "SKU-2")) -> Order:
    lines = [OrderLine(sku=s, title=s, quantity=1, unit_price=usd("10.00"), discount_total=usd("0"),
                       tax_total=usd("0"), line_total=usd("10.00")) for s in skus]  # fmt: skip
    total = usd(str(10 * len(skus)))
    return Order(number=number, channel="shopify", currency="USD", placed_at=datetime(2026, 11, 1, tzinfo=UTC),
                 customer=CustomerContact(email="a@x.com"), lines=lines,
                 totals=OrderTotals(subtotal=total, discount_total=usd("0"), shipping_total=usd("0"),
                                    tax_total=usd("0"), grand_total=total))  # fmt: skip


@pytest.fixture(scope="module")
def sim() -> Iterator[NetSuiteSimulator]:
    s = NetSuiteSimulator({"items": [{"sku": f"SKU-{i}", "price": "10.00"} for i in range(1, 61)],
                           "customers": [{"email": "a@x.com", "firstName": "A", "lastName": "B"}],
                           "concurrency_limit": 4})  # fmt: skip
    s.start()
    yield s
    s.stop()


@pytest.fixture
def fresh(sim: NetSuiteSimulator) -> NetSuiteSimulator:
    httpx.post(sim.url + "/_sim/reset")
    httpx.post(sim.url + "/_sim/settings", json={"concurrency_limit": 4})
    return sim


def client(sim: NetSuiteSimulator, **kw: Any) -> NetSuiteClient:
    s = sim.settings
    auth = NetSuiteAuth(
        s["account_id"], s["consumer_key"], s["consumer_secret"], s["token_id"], s["token_secret"]
    )
    kw.setdefault("retry", RetryPolicy(attempts=6, base_s=0.05, cap_s=0.3))
    return NetSuiteClient(s["account_id"], sim.url, auth, **kw)


async def test_retry_after_timeout_leaves_exactly_one_sales_order(fresh: NetSuiteSimulator) -> None:
    # The first PUT is committed by the simulator, but its answer comes after the client's timeout.
    httpx.post(fresh.url + "/_sim/faults",
               json={"hang_after_commit": {"method": "PUT", "path_contains": "salesOrder", "count": 1, "seconds": 1.0}})  # fmt: skip
    c = client(fresh, timeout=httpx.Timeout(0.4, connect=2.0), concurrency_limit=4)
    cid = await c.lookup_customer("a@x.com")
    assert cid
    res = await c.post_sales_order(order("1001"), external_id="shopify-1001", customer_id=cid)
    await c.aclose()
    sos = httpx.get(fresh.url + "/_sim/state/sales_orders").json()
    assert len(sos) == 1, sos
    [so] = sos
    assert so["externalId"] == "shopify-1001" and so["id"] == res.internal_id
    assert so["created_count"] == 1 and so["updated_count"] == 1  # the retry updated, did not create
    assert [ln["sku"] for ln in so["lines"]] == ["SKU-1", "SKU-2"]  # lines replaced, not appended twice
    deadline = time.monotonic() + 3
    while fresh.in_flight and time.monotonic() < deadline:  # let the hung first attempt finish
        await asyncio.sleep(0.05)
    puts = [r for r in fresh.log.items("/services/rest/record/v1/salesOrder", method="PUT")]
    assert len(puts) == 2
    assert res.created  # no sales order existed before this call


async def test_never_exceeds_concurrency_limit_under_50_parallel_calls(fresh: NetSuiteSimulator) -> None:
    httpx.post(fresh.url + "/_sim/faults", json={"latency_ms": 40})
    c = client(fresh, concurrency_limit=4)
    items = await asyncio.gather(*(c.lookup_item(f"SKU-{i}") for i in range(1, 51)))
    await c.aclose()
    assert all(it is not None for it in items)
    summary = httpx.get(fresh.url + "/_sim/requests").json()
    assert summary["count"] == 50
    assert summary["rejected_concurrency"] == 0
    assert summary["max_in_flight"] <= 4 and summary["max_in_flight_governed"] <= 4
    assert summary["max_in_flight_governed"] == 4  # the limit was actually used, calls overlapped


async def test_simulator_answers_429_when_a_client_exceeds_the_limit_and_client_recovers(
    fresh: NetSuiteSimulator,
) -> None:
    httpx.post(fresh.url + "/_sim/faults", json={"latency_ms": 40})
    c = client(fresh, concurrency_limit=10, retry=RetryPolicy(attempts=20, base_s=0.05, cap_s=0.4))
    items = await asyncio.gather(*(c.lookup_item(f"SKU-{i}") for i in range(1, 31)))
    await c.aclose()
    assert all(it is not None for it in items)  # 429s were retried with backoff
    summary = httpx.get(fresh.url + "/_sim/requests").json()
    assert summary["rejected_concurrency"] > 0 and summary["by_status"].get("429", 0) > 0
    assert summary["max_in_flight_governed"] <= 4


async def test_bad_signature_is_refused_with_netsuite_401(fresh: NetSuiteSimulator) -> None:
    s = fresh.settings
    bad = NetSuiteAuth(s["account_id"], s["consumer_key"], "wrong-secret", s["token_id"], s["token_secret"])
    c = NetSuiteClient(s["account_id"], fresh.url, bad, concurrency_limit=2)
    with pytest.raises(AuthError) as ei:
        await c.lookup_item("SKU-1")
    await c.aclose()
    assert ei.value.context["netsuite_code"] == "INVALID_LOGIN"
    assert fresh.auth_failures[-1] == "signature mismatch"
    raw = httpx.get(fresh.url + "/services/rest/record/v1/customer/1")
    assert raw.status_code == 401 and raw.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


def test_cli_map_netsuite_order_both_ways(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from retailconnect.cli.map import register

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    runner = CliRunner()
    fix = ROOT / "tests" / "fixtures" / "netsuite" / "sales_order.json"
    out = runner.invoke(app, ["map", "netsuite", "order", str(fix)])
    assert out.exit_code == 0, out.output
    canonical = json.loads(out.stdout)
    assert canonical["number"] == "#1001" and canonical["totals"]["grand_total"] == {
        "amount": "59.40",
        "currency": "USD",
    }
    path = tmp_path / "order.json"
    path.write_text(json.dumps(canonical))
    back = runner.invoke(app, ["map", "--to", "netsuite", "order", str(path)])
    assert back.exit_code == 0, back.output
    body = json.loads(back.stdout)
    assert body["otherRefNum"] == "#1001" and body["item"]["items"][0]["quantity"] == 2
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"id": "1", "tranDate": "2026-01-01", "currency": {"refName": "USD"}, "item": {"links": []}}
        )
    )
    err = runner.invoke(app, ["map", "netsuite", "order", str(bad)])
    assert err.exit_code == 2 and "$.item.items" in err.output


def test_cli_runs_both_simulators() -> None:
    exe = str(Path(sys.executable).parent / "retailconnect")
    procs = []
    try:
        ports = {}
        for system in ("netsuite", "wms"):
            port = free_port()
            ports[system] = port
            procs.append(subprocess.Popen([exe, "sim", system, "--port", str(port), "--set", "concurrency_limit=3"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))  # fmt: skip
        deadline = time.monotonic() + 20
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline and len(seen) < 2:
            for system, port in ports.items():
                if system in seen:
                    continue
                try:
                    seen[system] = httpx.get(f"http://127.0.0.1:{port}/_sim/requests", timeout=0.5).json()
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        assert set(seen) == {"netsuite", "wms"}
        assert seen["netsuite"]["concurrency_limit"] == 3
    finally:
        for p in procs:
            p.terminate()
            p.wait(5)
