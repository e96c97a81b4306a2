"""deploy/grafana/retailconnect.json is a valid dashboard over metrics the hub really exports."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from retailconnect.observability.metrics import HubMetrics
from retailconnect.observability.state import BreakerState, ConsumerGroupState, HubSnapshot

DASH = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "retailconnect.json"


def exported_sample_names() -> set[str]:
    m = HubMetrics()
    now = datetime.now(UTC)
    m.api_request("/v1/orders", "POST", "pos", 500, 0.1)
    m.connector_call("netsuite", "POST", 503, 0.2)
    m.order_captured("o", channel="shopify", captured_at=now - timedelta(seconds=5))
    m.order_posted("o")
    m.inventory_pushed(now - timedelta(seconds=2), channel="shopify")
    m.settlement_failed(system="shopify_payments")
    m.partner_sla_breached(partner="wms", rule="ship_24h")
    m.webhook_signature_failed(system="shopify")
    m.drift_recorded(system="shopify", api_version="2025-01", kind="unexpected")
    m.alert_changed("r", True)
    m.update_snapshot(
        HubSnapshot(
            groups=[ConsumerGroupState("g", lag=1, dead_letters=1, ack_latency_p99_s=0.01)],
            breakers=[BreakerState("netsuite", "open", now)],
            flows={"success": 1},
            exceptions_open={"ops": 1},
        )
    )
    return {s.name for fam in m.registry.collect() for s in fam.samples}


def test_dashboard_json_is_well_formed() -> None:
    dash = json.loads(DASH.read_text())
    assert dash["uid"] == "retailconnect-hub" and dash["schemaVersion"] >= 36
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0
        if p["type"] != "row":
            assert p["targets"] and all(t["expr"] for t in p["targets"])
    assert {v["name"] for v in dash["templating"]["list"]} == {"datasource", "job"}


def test_every_queried_metric_is_exported() -> None:
    dash = json.loads(DASH.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    used = {n for e in exprs for n in re.findall(r"retailconnect_[a-z0-9_]+", e)}
    exported = exported_sample_names()
    missing = sorted(used - exported)
    assert not missing, missing
    # and the headline business metrics are on it
    for name in (
        "retailconnect_orders_over_sla_orders",
        "retailconnect_inventory_event_lag_seconds_bucket",
        "retailconnect_bus_consumer_lag_events",
        "retailconnect_erp_circuit_state",
        "retailconnect_webhooks_signature_failures_total",
    ):
        assert name in used
