from __future__ import annotations

from datetime import UTC, datetime, timedelta

from retailconnect.observability.metrics import HubMetrics, percentile
from retailconnect.observability.state import BreakerState, ConsumerGroupState, HubSnapshot


def test_orders_flowing_move_business_metrics() -> None:
    m = HubMetrics()
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    m.order_captured("o1", channel="shopify", tenant="acme", tier=1, captured_at=t0)
    m.order_captured("o1", channel="shopify", tenant="acme", tier=1, captured_at=t0)  # duplicate delivery
    m.order_captured("o2", channel="pos", tenant="acme", tier=3, captured_at=t0)
    assert m.counter_value("retailconnect_orders_captured_total", {"channel": "shopify"}) == 1
    assert m.counter_value("retailconnect_orders_captured_total") == 2
    assert m.counter_value("retailconnect_orders_pending_orders") == 2

    seconds = m.order_posted("o1", erp="netsuite", posted_at=t0 + timedelta(seconds=42))
    assert seconds == 42
    assert m.counter_value("retailconnect_orders_posted_total", {"erp": "netsuite", "tier": "1"}) == 1
    assert m.counter_value("retailconnect_orders_capture_to_post_seconds_count", {"tier": "1"}) == 1
    assert m.counter_value("retailconnect_orders_capture_to_post_seconds_sum", {"tier": "1"}) == 42
    assert m.counter_value("retailconnect_orders_pending_orders") == 1


def test_order_aging_counts_orders_over_their_tier_sla() -> None:
    m = HubMetrics(order_sla_seconds={1: 900, 3: 14400})
    now = datetime.now(UTC)
    m.order_captured("old-t1", channel="shopify", tier=1, captured_at=now - timedelta(minutes=20))
    m.order_captured("new-t1", channel="shopify", tier=1, captured_at=now - timedelta(minutes=1))
    m.order_captured("old-t3", channel="shopify", tier=3, captured_at=now - timedelta(minutes=20))
    aging = m.order_aging(now)
    assert aging["1"]["pending"] == 2 and aging["1"]["over_sla"] == 1
    assert aging["3"]["over_sla"] == 0
    assert m.counter_value("retailconnect_orders_over_sla_orders", {"tier": "1"}) == 1
    assert m.counter_value("retailconnect_orders_oldest_pending_age_seconds", {"tier": "1"}) >= 1199


def test_inventory_lag_histogram_and_p99() -> None:
    m = HubMetrics()
    now = datetime.now(UTC)
    for i in range(100):
        m.inventory_pushed(now - timedelta(seconds=1 + (i == 99) * 90), channel="shopify", pushed_at=now)
    assert m.counter_value("retailconnect_inventory_event_lag_seconds_count", {"channel": "shopify"}) == 100
    assert m.inventory_lag_p99() == 1.0  # 99th of 100 samples
    m.inventory_pushed(now - timedelta(seconds=91), channel="shopify", pushed_at=now)
    assert m.inventory_lag_p99() == 91.0
    assert m.counter_value("retailconnect_inventory_event_lag_p99_seconds") == 91.0


def test_connector_calls_classify_errors_and_feed_stats() -> None:
    m = HubMetrics()
    m.connector_call("netsuite", "POST", 200, 0.1)
    m.connector_call("netsuite", "POST", 429, 0.05)
    m.connector_call("netsuite", "POST", 503, 0.2)
    m.connector_call("netsuite", "GET", None, 3.0)
    m.connector_call("netsuite", "GET", 404, 0.02)  # a lookup miss: counted, not an error
    assert m.counter_value("retailconnect_connector_errors_total", {"system": "netsuite", "kind": "429"}) == 1
    assert m.counter_value("retailconnect_connector_errors_total", {"system": "netsuite", "kind": "5xx"}) == 1
    assert m.counter_value("retailconnect_connector_errors_total", {"kind": "transport"}) == 1
    stats = m.connector_stats("netsuite")
    assert stats.count == 5 and stats.errors == 3 and stats.error_rate == 0.6
    assert (
        m.counter_value("retailconnect_connector_request_duration_seconds_count", {"outcome": "not_found"})
        == 1
    )


def test_state_metrics_come_from_the_snapshot() -> None:
    m = HubMetrics()
    opened = datetime.now(UTC) - timedelta(minutes=6)
    m.update_snapshot(
        HubSnapshot(
            groups=[ConsumerGroupState("wms", lag=7, dead_letters=2), ConsumerGroupState("shopify", lag=1)],
            breakers=[BreakerState("netsuite", "open", opened, queue_depth=4, current_rate=2.5)],
            exceptions_open={"finance": 3},
        )
    )
    text = m.render().decode()
    assert 'retailconnect_bus_consumer_lag_events{group="wms"} 7.0' in text
    assert 'retailconnect_bus_dead_letters_events{group="wms"} 2.0' in text
    assert 'retailconnect_erp_circuit_state{state="open",system="netsuite"} 1.0' in text
    assert 'retailconnect_erp_queue_depth_requests{system="netsuite"} 4.0' in text
    assert m.counter_value("retailconnect_erp_circuit_open_seconds", {"system": "netsuite"}) >= 359
    assert 'retailconnect_exceptions_open_items{team="finance"} 3.0' in text


def test_other_counters_and_separate_registries() -> None:
    a, b = HubMetrics(), HubMetrics()
    a.webhook_signature_failed(system="shopify")
    a.settlement_failed(system="shopify_payments", reason="amount_mismatch")
    a.partner_sla_breached(partner="wms", rule="ship_within_24h")
    a.api_request("/v1/orders", "POST", "pos-eu", 503, 0.01)
    assert a.counter_value("retailconnect_webhooks_signature_failures_total") == 1
    assert a.counter_value("retailconnect_settlements_failed_total") == 1
    assert a.counter_value("retailconnect_partners_sla_breaches_total") == 1
    assert a.counter_value("retailconnect_api_errors_total", {"route": "/v1/orders", "status": "503"}) == 1
    assert b.counter_value("retailconnect_webhooks_signature_failures_total") == 0


def test_percentile_nearest_rank() -> None:
    assert percentile([], 99) is None
    assert percentile([3, 1, 2], 50) == 2
    assert percentile(range(1, 101), 95) == 95
