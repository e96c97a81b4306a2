"""Prometheus metrics for the hub, on a registry owned by the hub (never the global default, so several
hubs can live in one test process).

Names follow ``retailconnect_<area>_<name>_<unit>``. Two kinds of metric live here:

* event metrics, recorded by the layer where the event happens through small methods
  (``order_captured``, ``order_posted``, ``inventory_pushed``, ``settlement_failed``,
  ``webhook_signature_failed``, ``partner_sla_breached``, ``api_request``, ``connector_call``...);
* state metrics (consumer lag, dead letters, ERP circuit state, order aging, open exceptions), read from
  the latest :class:`HubSnapshot` by a custom collector at scrape time.

The object also keeps small in-process rolling windows (last hour by minute, last few minutes of
latencies) that the dashboard draws from and the SLA rules evaluate (inventory lag p99).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .state import HubSnapshot, PendingOrder

__all__ = ["DEFAULT_ORDER_SLA_SECONDS", "HubMetrics", "LatencyStats", "percentile"]

DEFAULT_ORDER_SLA_SECONDS: dict[str, float] = {"1": 900.0, "2": 3600.0, "3": 14400.0}

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LAG_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
_POSTING_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0)


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    data = sorted(values)
    if not data:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(data)))
    return data[min(rank, len(data)) - 1]


@dataclass(frozen=True)
class LatencyStats:
    count: int
    errors: int
    p50: float | None
    p95: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0


class _Window:
    """Recent (timestamp, value, ok) samples per key, bounded in age and count."""

    def __init__(self, horizon_s: float, maxlen: int = 5000) -> None:
        self.horizon_s = horizon_s
        self._data: dict[str, deque[tuple[float, float, bool]]] = defaultdict(lambda: deque(maxlen=maxlen))
        self._lock = threading.Lock()

    def add(self, key: str, value: float, ok: bool = True, at: float | None = None) -> None:
        with self._lock:
            self._data[key].append((at if at is not None else time.time(), value, ok))

    def samples(
        self, key: str | None = None, within_s: float | None = None
    ) -> list[tuple[float, float, bool]]:
        cutoff = time.time() - (within_s or self.horizon_s)
        with self._lock:
            keys = [key] if key is not None else list(self._data)
            return [s for k in keys for s in self._data.get(k, ()) if s[0] >= cutoff]

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._data)


class _PerMinute:
    """Counts per key per UTC minute for the last ``minutes`` minutes (sparklines)."""

    def __init__(self, minutes: int = 60) -> None:
        self.minutes = minutes
        self._data: dict[str, dict[int, float]] = defaultdict(dict)
        self._lock = threading.Lock()

    def add(self, key: str, amount: float = 1.0, at: float | None = None) -> None:
        minute = int((at if at is not None else time.time()) // 60)
        with self._lock:
            row = self._data[key]
            row[minute] = row.get(minute, 0.0) + amount
            for old in [m for m in row if m <= minute - self.minutes]:
                del row[old]

    def series(self, key: str | None = None) -> list[float]:
        now = int(time.time() // 60)
        with self._lock:
            rows = [self._data[key]] if key is not None else list(self._data.values())
            return [sum(r.get(m, 0.0) for r in rows) for m in range(now - self.minutes + 1, now + 1)]

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._data)


class HubMetrics:
    """Every metric the hub exports, on ``self.registry``."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        order_sla_seconds: Mapping[str, float] | Mapping[int, float] | None = None,
        inventory_window_s: float = 300.0,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.order_sla_seconds = {
            str(k): float(v) for k, v in (order_sla_seconds or DEFAULT_ORDER_SLA_SECONDS).items()
        }
        r = self.registry
        self.api_latency = Histogram(
            "retailconnect_api_request_duration_seconds",
            "Gateway request latency by route template, method and API consumer.",
            ["route", "method", "consumer"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.api_requests = Counter(
            "retailconnect_api_requests_total",
            "Gateway requests by route template, method, consumer and status class.",
            ["route", "method", "consumer", "status"],
            registry=r,
        )
        self.api_errors = Counter(
            "retailconnect_api_errors_total",
            "Gateway responses with status >= 400 (and unhandled failures) by route and consumer.",
            ["route", "consumer", "status"],
            registry=r,
        )
        self.connector_latency = Histogram(
            "retailconnect_connector_request_duration_seconds",
            "Outbound vendor HTTP call latency by system, method and outcome.",
            ["system", "method", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.connector_errors = Counter(
            "retailconnect_connector_errors_total",
            "Outbound vendor calls that failed, by system and kind (5xx, 4xx, 429, transport).",
            ["system", "kind"],
            registry=r,
        )
        self.orders_captured = Counter(
            "retailconnect_orders_captured_total",
            "Orders accepted at capture, by channel and tenant.",
            ["channel", "tenant"],
            registry=r,
        )
        self.orders_posted = Counter(
            "retailconnect_orders_posted_total", "Orders posted to the ERP.", ["erp", "tier"], registry=r
        )
        self.orders_rejected = Counter(
            "retailconnect_orders_rejected_total",
            "Orders rejected at capture.",
            ["channel", "reason"],
            registry=r,
        )
        self.order_posting = Histogram(
            "retailconnect_orders_capture_to_post_seconds",
            "Time from order capture to the ERP sales order being posted, by SLA tier.",
            ["tier"],
            buckets=_POSTING_BUCKETS,
            registry=r,
        )
        self.inventory_lag = Histogram(
            "retailconnect_inventory_event_lag_seconds",
            "Time from a stock movement at the source to the channel being updated.",
            ["channel"],
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.inventory_pushes = Counter(
            "retailconnect_inventory_levels_pushed_total",
            "Inventory levels pushed to channels.",
            ["channel"],
            registry=r,
        )
        self.settlements_failed = Counter(
            "retailconnect_settlements_failed_total",
            "Settlement reconciliations that failed or found a mismatch.",
            ["system", "reason"],
            registry=r,
        )
        self.settlements_reconciled = Counter(
            "retailconnect_settlements_reconciled_total", "Settlements reconciled.", ["system"], registry=r
        )
        self.partner_sla_breaches = Counter(
            "retailconnect_partners_sla_breaches_total",
            "Partner (3PL, marketplace, ERP) SLA breaches, by partner and rule.",
            ["partner", "rule"],
            registry=r,
        )
        self.webhook_signature_failures = Counter(
            "retailconnect_webhooks_signature_failures_total",
            "Inbound webhooks refused because the signature did not verify.",
            ["system"],
            registry=r,
        )
        self.webhooks_received = Counter(
            "retailconnect_webhooks_received_total",
            "Verified inbound webhooks.",
            ["system", "topic"],
            registry=r,
        )
        self.contract_drift = Counter(
            "retailconnect_contracts_drift_fields_total",
            "Vendor payload fields seen that the wire model did not expect (unexpected) or expected and "
            "did not get (missing), by system and API version.",
            ["system", "api_version", "kind"],
            registry=r,
        )
        self.sla_alerts = Counter(
            "retailconnect_sla_alerts_total",
            "SLA alert notifications by rule and status.",
            ["rule", "status"],
            registry=r,
        )
        self._snapshot: HubSnapshot | None = None
        self._firing: dict[str, bool] = {}
        self._pending: dict[str, PendingOrder] = {}
        self._lock = threading.Lock()
        self.window_inventory = _Window(inventory_window_s)
        self.window_connectors = _Window(300.0)
        self.window_api = _Window(300.0)
        self.window_events = _Window(3600.0)  # timestamps of countable events (SLA windows)
        self.per_minute_orders = _PerMinute(60)
        self.per_minute_errors = _PerMinute(60)
        self.orders_today: dict[tuple[str, str], int] = defaultdict(int)  # (utc date, channel) -> count
        self.registry.register(_StateCollector(self))

    # ---- recording API (called by gateway, flows, connectors' transports) -------------------------

    def api_request(self, route: str, method: str, consumer: str, status: int, seconds: float) -> None:
        self.api_latency.labels(route, method, consumer).observe(seconds)
        self.api_requests.labels(route, method, consumer, f"{status // 100}xx").inc()
        if status >= 400:
            self.api_errors.labels(route, consumer, str(status)).inc()
            if status >= 500:
                self.per_minute_errors.add("api")
        self.window_api.add(route, seconds, status < 500)

    def connector_call(self, system: str, method: str, status: int | None, seconds: float) -> None:
        """One outbound vendor call; ``status`` None means a transport failure (timeout, reset)."""
        if status is None:
            outcome, kind = "transport_error", "transport"
        elif status == 429:
            outcome, kind = "rate_limited", "429"
        elif status >= 500:
            outcome, kind = "server_error", "5xx"
        elif status == 404 and method in ("GET", "HEAD"):
            outcome, kind = "not_found", ""  # a lookup that found nothing is an answer, not a failure
        elif status >= 400:
            outcome, kind = "client_error", "4xx"
        else:
            outcome, kind = "ok", ""
        self.connector_latency.labels(system, method, outcome).observe(seconds)
        if kind:
            self.connector_errors.labels(system, kind).inc()
            self.per_minute_errors.add(f"connector:{system}")
        self.window_connectors.add(system, seconds, not kind)

    def order_captured(
        self,
        order_key: str,
        *,
        channel: str,
        tenant: str = "default",
        tier: int | str = 3,
        captured_at: datetime | None = None,
    ) -> None:
        at = captured_at or datetime.now(UTC)
        with self._lock:
            if order_key in self._pending:
                return  # a duplicate delivery is not a second order
            self._pending[order_key] = PendingOrder(order_key, at, str(tier), channel)
            self.orders_today[(at.date().isoformat(), channel)] += 1
        self.orders_captured.labels(channel, tenant).inc()
        self.per_minute_orders.add(channel, at=at.timestamp())

    def order_posted(
        self, order_key: str, *, erp: str = "erp", posted_at: datetime | None = None
    ) -> float | None:
        """The ERP accepted the order; returns the capture-to-post seconds when the capture was seen here."""
        at = posted_at or datetime.now(UTC)
        with self._lock:
            pending = self._pending.pop(order_key, None)
        tier = pending.tier if pending else "unknown"
        self.orders_posted.labels(erp, tier).inc()
        if pending is None:
            return None
        seconds = max(0.0, (at - pending.captured_at).total_seconds())
        self.order_posting.labels(tier).observe(seconds)
        return seconds

    def order_rejected(self, *, channel: str, reason: str) -> None:
        self.orders_rejected.labels(channel, reason).inc()

    def order_abandoned(self, order_key: str) -> None:
        """Forget a pending order (cancelled before posting)."""
        with self._lock:
            self._pending.pop(order_key, None)

    def inventory_pushed(
        self, movement_time: datetime, *, channel: str, pushed_at: datetime | None = None, count: int = 1
    ) -> float:
        """A channel was updated for a movement that happened at the source at ``movement_time``."""
        at = pushed_at or datetime.now(UTC)
        lag = max(0.0, (at - movement_time).total_seconds())
        self.inventory_lag.labels(channel).observe(lag)
        self.inventory_pushes.labels(channel).inc(count)
        self.window_inventory.add(channel, lag, True, at=at.timestamp())
        return lag

    def on_inventory_pushed(self, channel: str, levels: Sequence[object], lags: Sequence[float]) -> None:
        """Adapter for ``flows.inventory_sync`` ``on_pushed(channel, levels, lags)``."""
        now = time.time()
        for lag in lags:
            self.inventory_lag.labels(channel).observe(lag)
            self.window_inventory.add(channel, lag, True, at=now)
        self.inventory_pushes.labels(channel).inc(len(levels))

    def settlement_failed(self, *, system: str, reason: str = "mismatch") -> None:
        self.settlements_failed.labels(system, reason).inc()
        self.window_events.add("settlement_failed", 1.0)

    def settlement_reconciled(self, *, system: str) -> None:
        self.settlements_reconciled.labels(system).inc()

    def partner_sla_breached(self, *, partner: str, rule: str) -> None:
        self.partner_sla_breaches.labels(partner, rule).inc()

    def webhook_signature_failed(self, *, system: str) -> None:
        self.webhook_signature_failures.labels(system).inc()
        self.window_events.add("webhook_signature_failed", 1.0)

    def webhook_received(self, *, system: str, topic: str) -> None:
        self.webhooks_received.labels(system, topic).inc()

    def drift_recorded(self, *, system: str, api_version: str, kind: str, fields: int = 1) -> None:
        self.contract_drift.labels(system, api_version or "unknown", kind).inc(fields)

    def alert_changed(self, rule: str, firing: bool) -> None:
        self._firing[rule] = firing
        self.sla_alerts.labels(rule, "firing" if firing else "resolved").inc()

    # ---- state ------------------------------------------------------------------------------------

    def update_snapshot(self, snapshot: HubSnapshot) -> None:
        self._snapshot = snapshot

    @property
    def snapshot(self) -> HubSnapshot:
        return self._snapshot or HubSnapshot()

    def pending_orders(self) -> list[PendingOrder]:
        snap = self._snapshot
        if snap is not None and snap.pending_orders is not None:
            return list(snap.pending_orders)
        with self._lock:
            return list(self._pending.values())

    def sla_for_tier(self, tier: int | str) -> float:
        fallback = max(self.order_sla_seconds.values(), default=14400.0)
        return self.order_sla_seconds.get(str(tier), fallback)

    def order_aging(self, now: datetime | None = None) -> dict[str, dict[str, float]]:
        """Per tier: pending count, count over the tier's SLA, oldest age (seconds)."""
        now = now or datetime.now(UTC)
        out: dict[str, dict[str, float]] = {}
        for p in self.pending_orders():
            age = (now - p.captured_at).total_seconds()
            row = out.setdefault(p.tier, {"pending": 0, "over_sla": 0, "oldest_s": 0.0})
            row["pending"] += 1
            row["oldest_s"] = max(row["oldest_s"], age)
            if age > self.sla_for_tier(p.tier):
                row["over_sla"] += 1
        return out

    def inventory_lag_p99(self, within_s: float | None = None) -> float | None:
        return percentile((s[1] for s in self.window_inventory.samples(within_s=within_s)), 99)

    def connector_stats(self, system: str, within_s: float = 300.0) -> LatencyStats:
        samples = self.window_connectors.samples(system, within_s)
        values = [s[1] for s in samples]
        return LatencyStats(
            count=len(samples),
            errors=sum(1 for s in samples if not s[2]),
            p50=percentile(values, 50),
            p95=percentile(values, 95),
        )

    def orders_today_by_channel(self, today: str | None = None) -> dict[str, int]:
        today = today or datetime.now(UTC).date().isoformat()
        with self._lock:
            return {ch: n for (d, ch), n in self.orders_today.items() if d == today}

    def counter_value(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """Sum of a sample over matching labels (tests and the dashboard read exported values this way)."""
        total = 0.0
        for family in self.registry.collect():
            for s in family.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in (labels or {}).items()):
                    total += s.value
        return total

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Reads the latest snapshot and the pending-order tracker at scrape time."""

    def __init__(self, metrics: HubMetrics) -> None:
        self.m = metrics

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        snap = self.m.snapshot
        now = datetime.now(UTC)
        lag = GaugeMetricFamily(
            "retailconnect_bus_consumer_lag_events",
            "Events not yet acknowledged, per consumer group.",
            labels=["group"],
        )
        pending = GaugeMetricFamily(
            "retailconnect_bus_consumer_pending_events",
            "Events delivered, not yet acknowledged.",
            labels=["group"],
        )
        dead = GaugeMetricFamily(
            "retailconnect_bus_dead_letters_events",
            "Events parked as dead letters, per consumer group.",
            labels=["group"],
        )
        ack = GaugeMetricFamily(
            "retailconnect_bus_publish_to_ack_p99_seconds",
            "Publish-to-ack latency p99 per group.",
            labels=["group"],
        )
        for g in snap.groups:
            lag.add_metric([g.group], g.lag)
            pending.add_metric([g.group], g.pending)
            dead.add_metric([g.group], g.dead_letters)
            if g.ack_latency_p99_s is not None:
                ack.add_metric([g.group], g.ack_latency_p99_s)
        for q in ("p50", "p99"):
            if q in snap.bus_latency_ms:
                ack.add_metric([f"all:{q}"], snap.bus_latency_ms[q] / 1000.0)
        depth = GaugeMetricFamily(
            "retailconnect_bus_queue_depth_events", "Events held per stream/topic.", labels=["stream"]
        )
        for stream, n in sorted(snap.streams.items()):
            depth.add_metric([stream], n)
        yield from (lag, pending, dead, ack, depth)

        circuit = GaugeMetricFamily(
            "retailconnect_erp_circuit_state",
            "ERP guard circuit state (1 for the current state).",
            labels=["system", "state"],
        )
        open_s = GaugeMetricFamily(
            "retailconnect_erp_circuit_open_seconds", "How long the circuit has been open.", labels=["system"]
        )
        qdepth = GaugeMetricFamily(
            "retailconnect_erp_queue_depth_requests", "ERP guard buffered requests.", labels=["system"]
        )
        rate = GaugeMetricFamily(
            "retailconnect_erp_request_rate_per_second", "ERP guard current request rate.", labels=["system"]
        )
        for b in snap.breakers:
            for st in ("closed", "open", "half_open"):
                circuit.add_metric([b.system, st], 1.0 if b.state == st else 0.0)
            open_s.add_metric([b.system], b.open_for_seconds(now))
            qdepth.add_metric([b.system], b.queue_depth)
            rate.add_metric([b.system], b.current_rate)
        yield from (circuit, open_s, qdepth, rate)

        aging = self.m.order_aging(now)
        p = GaugeMetricFamily(
            "retailconnect_orders_pending_orders", "Orders captured, not yet posted.", labels=["tier"]
        )
        over = GaugeMetricFamily(
            "retailconnect_orders_over_sla_orders",
            "Pending orders older than their tier's SLA.",
            labels=["tier"],
        )
        oldest = GaugeMetricFamily(
            "retailconnect_orders_oldest_pending_age_seconds",
            "Age of the oldest pending order.",
            labels=["tier"],
        )
        for tier in sorted(set(aging) | set(self.m.order_sla_seconds)):
            row = aging.get(tier, {"pending": 0, "over_sla": 0, "oldest_s": 0.0})
            p.add_metric([tier], row["pending"])
            over.add_metric([tier], row["over_sla"])
            oldest.add_metric([tier], row["oldest_s"])
        yield from (p, over, oldest)

        p99 = self.m.inventory_lag_p99()
        inv = GaugeMetricFamily(
            "retailconnect_inventory_event_lag_p99_seconds", "Inventory event lag p99 over the recent window."
        )
        inv.add_metric([], p99 if p99 is not None else 0.0)
        yield inv

        flows = GaugeMetricFamily("retailconnect_flows_workflows", "Workflows by status.", labels=["status"])
        for status, n in sorted(snap.flows.items()):
            flows.add_metric([status], n)
        exc = GaugeMetricFamily(
            "retailconnect_exceptions_open_items", "Open exception-queue items by team.", labels=["team"]
        )
        for team, n in sorted(snap.exceptions_open.items()):
            exc.add_metric([team], n)
        firing = GaugeMetricFamily(
            "retailconnect_sla_alerts_firing", "SLA rules currently firing.", labels=["rule"]
        )
        for rule, on in sorted(self.m._firing.items()):
            firing.add_metric([rule], 1.0 if on else 0.0)
        yield from (flows, exc, firing)
