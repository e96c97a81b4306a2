from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from retailconnect.observability.metrics import HubMetrics
from retailconnect.observability.sla import SlaEvaluator
from retailconnect.observability.state import BreakerState, ConsumerGroupState, HubSnapshot
from retailconnect.simulators._kit import start_in_thread


@dataclass(frozen=True)
class Rule:
    name: str
    metric: str
    threshold: float
    tier: int | None = None
    for_s: float = 0.0
    severity: str = "warning"


class Receiver:
    """A tiny alert receiver on a real loopback port; ``fail`` makes it answer 503."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail = False

        async def alert(request: Request) -> JSONResponse:
            if self.fail:
                return JSONResponse({"error": "down"}, status_code=503)
            self.received.append(await request.json())
            return JSONResponse({"ok": True})

        self.app = Starlette(routes=[Route("/alerts", alert, methods=["POST"])])


@pytest.fixture
def receiver():
    r = Receiver()
    handle = start_in_thread(r.app)
    r.url = f"{handle.url}/alerts"
    yield r
    handle.stop()


async def test_order_aging_rule_fires_once_and_resolves(receiver) -> None:
    metrics = HubMetrics()
    ev = SlaEvaluator(
        [Rule("tier1-aging", "order_aging_s", 900, tier=1, severity="critical")],
        metrics,
        webhook_url=receiver.url,
        hub_name="test-hub",
    )
    now = datetime.now(UTC)
    metrics.order_captured("o1", channel="shopify", tier=1, captured_at=now - timedelta(minutes=16))
    metrics.order_captured("o3", channel="shopify", tier=3, captured_at=now - timedelta(minutes=40))
    try:
        fired = await ev.evaluate_once(now)
        assert [n.status for n in fired] == ["firing"]
        assert await ev.evaluate_once(now + timedelta(seconds=10)) == []  # de-duplicated
        assert metrics.counter_value("retailconnect_sla_alerts_firing", {"rule": "tier1-aging"}) == 1
        metrics.order_posted("o1", erp="netsuite")
        resolved = await ev.evaluate_once(now + timedelta(seconds=20))
        assert [n.status for n in resolved] == ["resolved"]
    finally:
        await ev.stop()
    assert [(a["status"], a["rule"], a["severity"]) for a in receiver.received] == [
        ("firing", "tier1-aging", "critical"),
        ("resolved", "tier1-aging", "critical"),
    ]
    assert receiver.received[0]["value"] >= 960 and receiver.received[0]["threshold"] == 900
    assert receiver.received[0]["fingerprint"] == receiver.received[1]["fingerprint"]
    assert receiver.received[1]["endsAt"] is not None
    assert metrics.counter_value("retailconnect_sla_alerts_firing", {"rule": "tier1-aging"}) == 0


async def test_hold_time_dead_letters_circuit_and_webhook_retry(receiver) -> None:
    metrics = HubMetrics()
    snap = HubSnapshot()

    ev = SlaEvaluator(
        [
            Rule("dlq", "dead_letters", 0),
            Rule("erp-open", "erp_circuit_open_s", 300, for_s=0),
            Rule("lag", "inventory_lag_p99_s", 60, for_s=30),
        ],
        metrics,
        snapshot=lambda: snap,
        webhook_url=receiver.url,
    )
    t0 = datetime.now(UTC)
    snap.groups = [ConsumerGroupState("wms", dead_letters=1)]
    snap.breakers = [BreakerState("netsuite", "open", t0 - timedelta(minutes=6))]
    metrics.inventory_pushed(t0 - timedelta(seconds=120), channel="shopify", pushed_at=t0)
    receiver.fail = True
    try:
        first = await ev.evaluate_once(t0)
        assert sorted(n.rule for n in first) == ["dlq", "erp-open"]  # lag must hold 30 s first
        assert receiver.received == [] and len(ev.outbox) == 2  # receiver down: kept for later
        receiver.fail = False
        later = await ev.evaluate_once(t0 + timedelta(seconds=31))
        assert [n.rule for n in later] == ["lag"]
        assert [a["rule"] for a in receiver.received] == ["dlq", "erp-open", "lag"]
        snap.groups = []
        snap.breakers = [BreakerState("netsuite", "closed")]
        cleared = await ev.evaluate_once(t0 + timedelta(seconds=40))
        assert sorted((n.rule, n.status) for n in cleared) == [("dlq", "resolved"), ("erp-open", "resolved")]
    finally:
        await ev.stop()
    assert ev.outbox == []
    assert [s.rule.name for s in ev.active()] == ["lag"]


async def test_background_loop_evaluates(receiver) -> None:
    import asyncio

    metrics = HubMetrics()
    ev = SlaEvaluator(
        [Rule("sig", "webhook_signature_failures", 2)], metrics, webhook_url=receiver.url, interval_s=0.05
    )
    for _ in range(3):
        metrics.webhook_signature_failed(system="shopify")
    ev.start()
    try:
        for _ in range(100):
            if receiver.received:
                break
            await asyncio.sleep(0.02)
    finally:
        await ev.stop()
    assert receiver.received[0]["rule"] == "sig" and receiver.received[0]["value"] == 3
