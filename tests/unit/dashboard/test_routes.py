from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from retailconnect.dashboard import create_dashboard_router, observability_for
from retailconnect.dashboard.session import SessionSigner

XSS = "<script>alert('x')</script>"  # the same free text conftest seeds


def make_app(hub, consumers):
    obs = observability_for(hub)
    app = FastAPI()
    app.include_router(obs.metrics_router())
    app.include_router(
        create_dashboard_router(
            hub,
            obs,
            consumers=consumers,
            signer=SessionSigner("k" * 32),
            live_interval_s=0.05,
            live_max_s=0.3,
        )
    )
    return app, obs


async def login(c: httpx.AsyncClient, key: str) -> httpx.Response:
    return await c.post("/dashboard/login", data={"api_key": key, "next": "/dashboard/ops"})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
async def client(seeded):
    hub, consumers, keys, facts = seeded
    app, obs = make_app(hub, consumers)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as c:
        yield c, hub, keys, facts, obs


async def test_login_needs_an_ops_scoped_key(client) -> None:
    c, hub, keys, _, _ = client
    assert (await c.get("/dashboard/ops")).headers["location"].startswith("/dashboard/login")
    assert (await login(c, "rc_nope_nope")).status_code == 401
    r = await login(c, keys["orders"])
    assert r.status_code == 403 and "no ops scope" in r.text
    r = await login(c, keys["reader"])
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/ops"
    assert (
        "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    )
    page = await c.get("/dashboard/ops")
    assert page.status_code == 200 and "Exceptions to act on" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert any(e["action"] == "dashboard.login" for e in hub.audit.entries())
    # a tampered cookie is not a session
    c.cookies.set("rc_dashboard", c.cookies["rc_dashboard"][:-2] + "xx")
    assert (await c.get("/dashboard/ops")).status_code == 303


async def test_views_render_live_data_and_escape_free_text(client) -> None:
    c, _, keys, _facts, _ = client
    await login(c, keys["reader"])
    ops = (await c.get("/dashboard/ops")).text
    assert XSS not in ops and "&lt;script&gt;" in ops
    assert "Ada Lovelace" in ops and "Release the credit hold" in ops
    assert 'disabled title="needs ops:admin"' in ops  # read-only: buttons off
    integ = (await c.get("/dashboard/integration")).text
    assert "inventory-push-shopify" in integ and "should-not-show" not in integ  # payload redacted
    assert "netsuite" in integ and "b-open" in integ  # circuit state from erp_status()
    biz = (await c.get("/dashboard/business")).text
    assert "Orders today by channel" in biz and ">shopify<" in biz and ">pos<" in biz
    assert re.search(r'id="aging".*?Tier 1.*?<td class="bad">1</td>', biz, re.S)  # the 20-minute-old order


async def test_journey_timeline_by_order_number_and_correlation_id(client) -> None:
    c, _, keys, _, _ = client
    await login(c, keys["reader"])
    for q in ("#1001", "corr-order-1001", "1001"):
        r = await c.get("/dashboard/journey", params={"q": q})
        assert r.status_code == 200
        text = r.text
        assert "step post_to_erp: failed" in text, q
        assert "shopify orders/create received" in text
        assert "exception #" in text and "api POST /v1/channels/shopify" in text
        assert XSS not in text
    assert "Nothing found" in (await c.get("/dashboard/journey", params={"q": "no-such"})).text


async def test_actions_need_admin_and_csrf_and_are_audited(client) -> None:
    c, hub, keys, facts, _ = client
    eid = facts["exception_id"]
    await login(c, keys["reader"])
    html = (await c.get(f"/dashboard/exceptions/{eid}")).text
    r = await c.post(f"/dashboard/exceptions/{eid}/resolve", data={"action": "retry", "csrf": "x"})
    assert r.status_code == 403
    await c.post("/dashboard/logout")
    await login(c, keys["admin"])
    html = (await c.get(f"/dashboard/exceptions/{eid}")).text
    token = csrf_of(html)
    assert (
        await c.post(f"/dashboard/exceptions/{eid}/resolve", data={"action": "retry", "csrf": "bad"})
    ).status_code == 403
    r = await c.post(f"/dashboard/exceptions/{eid}/assign", data={"assignee": "maria", "csrf": token})
    assert r.status_code == 303
    r = await c.post(
        f"/dashboard/exceptions/{eid}/notes", data={"text": f"called the customer {XSS}", "csrf": token}
    )
    detail = (await c.get(f"/dashboard/exceptions/{eid}")).text
    assert "maria" in detail and "called the customer &lt;script&gt;" in detail and "Note added." in detail
    r = await c.post(
        f"/dashboard/exceptions/{eid}/resolve",
        data={"action": "retry", "csrf": token},
        headers={"referer": "http://hub/dashboard/ops"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/ops"
    rec = hub.exceptions.get(eid)
    assert rec.status == "resolved" and rec.resolution == "retry" and rec.resolved_by == "ops-admin"
    assert hub.retried == [facts["workflow_id"]]  # the plain queue: the dashboard resumes the flow
    actions = [e["action"] for e in hub.audit.entries(target=f"exception:{eid}")]
    assert {"exception.assigned", "exception.note", "exception.resolved.retry"} <= set(actions)
    # resolving twice is a clear conflict, not a crash
    r = await c.post(f"/dashboard/exceptions/{eid}/resolve", data={"action": "retry", "csrf": token})
    assert r.status_code == 303
    assert "already resolved" in (await c.get("/dashboard/ops")).text
    # dead letter replay
    r = await c.post("/dashboard/dead-letters/7/replay", data={"csrf": token})
    assert r.status_code == 303 and hub.bus.replayed == ["7"]
    assert any(e["action"] == "dlq.replayed" for e in hub.audit.entries())


async def test_routing_rules_evaluation(client) -> None:
    c, _, keys, _, _ = client
    await login(c, keys["reader"])
    r = await c.get("/dashboard/routing", params={"code": "vendor_rejected", "system": "netsuite"})
    assert "team <strong>erp-team</strong> (rule 2)" in r.text
    r = await c.get("/dashboard/routing", params={"code": "unknown_sku", "system": "shopify"})
    assert "team <strong>integration</strong> (no rule matched)" in r.text


async def test_live_panels_stream_over_sse(client) -> None:
    c, _, keys, _, _ = client
    await login(c, keys["reader"])
    async with c.stream("GET", "/dashboard/live/ops") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        buf = ""
        async for chunk in r.aiter_text():
            buf += chunk
            if "event: panel" in buf and buf.endswith("\n\n"):
                break
    assert '"target": "live_ops"' in buf and "Exceptions to act on" in buf
    assert (await c.get("/dashboard/live/nope")).status_code == 404


async def test_metrics_endpoint_reads_the_hub(client) -> None:
    c, _, _, _, _obs = client
    text = (await c.get("/metrics")).text
    assert 'retailconnect_bus_consumer_lag_events{group="inventory-push-shopify"} 4.0' in text
    assert 'retailconnect_bus_dead_letters_events{group="inventory-push-shopify"} 1.0' in text
    assert 'retailconnect_erp_circuit_state{state="open",system="netsuite"} 1.0' in text
    assert 'retailconnect_orders_captured_total{channel="shopify",tenant="acme"} 1.0' in text
    assert 'retailconnect_orders_posted_total{erp="erp",tier="1"} 1.0' in text
    assert 'retailconnect_orders_over_sla_orders{tier="1"} 1.0' in text
    assert 'retailconnect_exceptions_open_items{team="finance"} 1.0' in text
    assert 'retailconnect_flows_workflows{status="error"} 1.0' in text


async def test_a_tenant_scoped_operator_sees_only_its_tenant(seeded) -> None:
    hub, consumers, _, facts = seeded
    other = consumers.add("ops-globex", tenant="globex", scopes=["ops:admin"])
    app, _ = make_app(hub, consumers)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as c:
        await login(c, other)
        ops = (await c.get("/dashboard/ops")).text
        assert "order:acme:shopify:1001" not in ops and "Ada Lovelace" not in ops
        assert (await c.get(f"/dashboard/exceptions/{facts['exception_id']}")).status_code == 404
        assert "Nothing found" in (await c.get("/dashboard/journey", params={"q": "#1001"})).text


async def test_a_bundle_only_attached_still_gets_the_business_facts(seeded) -> None:
    from retailconnect.observability import Observability

    hub, consumers, _, _ = seeded
    obs = Observability.from_topology(hub.topology)
    obs.attach(hub)  # what an app may do by hand; the dashboard router completes the wiring
    app = FastAPI()
    app.include_router(obs.metrics_router())
    app.include_router(create_dashboard_router(hub, obs, consumers=consumers))
    assert hub.observability is obs
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as c:
        text = (await c.get("/metrics")).text
    assert 'retailconnect_orders_captured_total{channel="pos",tenant="acme"} 1.0' in text


async def test_failed_sign_ins_are_throttled(seeded) -> None:
    hub, consumers, keys, _ = seeded
    app = FastAPI()
    app.include_router(create_dashboard_router(hub, consumers=consumers, login_attempts_per_minute=3))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as c:
        codes = [(await login(c, "rc_bad_key")).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        assert (await login(c, keys["admin"])).status_code == 429  # even a good key waits
