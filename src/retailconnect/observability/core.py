"""The observability bundle a hub owns: metrics registry, tracer provider, drift recorder, SLA evaluator,
and the snapshot gathered from the hub's bus, ERP guards, flows and exception queue.

Wiring (``retailconnect serve`` / demo)::

    obs = Observability.from_topology(hub.topology)     # or Observability() in tests
    obs.attach(hub)                                       # snapshot source for metrics/SLA/dashboard
    app = create_app(hub, extra_routers=[obs.metrics_router(), create_dashboard_router(hub, obs)],
                     extra_middleware=[obs.middleware()])
    await obs.start()  ...  await obs.stop()              # the SLA evaluator loop
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import time
from collections import Counter as _Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Response
from opentelemetry.sdk.trace.export import SpanExporter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.middleware import Middleware

from .drift import DriftRecorder
from .http_hooks import InstrumentedTransport, MetricsMiddleware
from .logging import get_logger
from .metrics import DEFAULT_ORDER_SLA_SECONDS, HubMetrics
from .sla import RuleLike, SlaEvaluator
from .state import BreakerState, HubSnapshot, as_breaker, as_group
from .tracing import Tracing

__all__ = ["Observability", "snapshot_from_hub"]

log = get_logger("retailconnect.observability")


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _guards(hub: Any) -> dict[str, Any]:
    status = getattr(hub, "erp_status", None)
    if callable(status):
        return dict(status())
    for name in ("erp_guards", "guards"):
        g = getattr(hub, name, None)
        if isinstance(g, dict):
            return g
    g = getattr(hub, "erp_guard", None)
    if g is not None:
        return {getattr(g, "system", "erp"): g}
    return {}


async def snapshot_from_hub(hub: Any, *, open_since: dict[str, datetime] | None = None) -> HubSnapshot:
    """Gather a snapshot from a ``runtime.Hub`` (duck-typed). A source that fails is noted in ``errors``."""
    snap = HubSnapshot(taken_at=datetime.now(UTC))
    bus = getattr(hub, "bus", None)
    if bus is not None and hasattr(bus, "stats"):
        try:
            st = await _maybe(bus.stats())
            groups = getattr(st, "groups", None) or (st.get("groups") if isinstance(st, dict) else {}) or {}
            per_group_dead: _Counter[str] = _Counter()
            if hasattr(bus, "list_dead"):
                for d in await bus.list_dead(limit=1000):
                    per_group_dead[str(getattr(d, "group", "?"))] += 1
            for name, raw in groups.items():
                g = as_group(name, raw)
                if hasattr(bus, "list_dead"):
                    g = dataclasses.replace(g, dead_letters=per_group_dead.pop(g.group, 0))
                snap.groups.append(g)
            for name, n in per_group_dead.items():
                snap.groups.append(as_group(name, {"dead_letters": n}))
            snap.bus_latency_ms = dict(getattr(st, "latency_ms", None) or {})
            snap.published = int(getattr(st, "published", 0) or 0)
        except Exception as exc:
            snap.errors.append(f"bus: {type(exc).__name__}")
    now = snap.taken_at
    for system, guard in _guards(hub).items():
        try:
            raw = guard.snapshot() if hasattr(guard, "snapshot") else guard
            b = as_breaker(system, raw)
            if open_since is not None:
                if b.state == "closed":
                    open_since.pop(b.system, None)
                else:
                    since = b.opened_at or open_since.setdefault(b.system, now)
                    b = BreakerState(b.system, b.state, since, b.queue_depth, b.current_rate, b.rate_limit)
            snap.breakers.append(b)
        except Exception as exc:
            snap.errors.append(f"erp_guard {system}: {type(exc).__name__}")
    if hasattr(hub, "list_flows"):
        try:
            flows = await hub.list_flows(limit=1000)
            snap.flows = dict(_Counter(str(f.get("status", "unknown")).lower() for f in flows))
            # work waiting on an ERP's rate-limited queue (erp-<system>) is that guard's queue depth
            waiting = _Counter(
                str(f.get("queue"))[4:]
                for f in flows
                if str(f.get("status", "")).upper() == "ENQUEUED"
                and str(f.get("queue") or "").startswith("erp-")
            )
            snap.breakers = [
                dataclasses.replace(b, queue_depth=waiting.get(b.system, 0)) if not b.queue_depth else b
                for b in snap.breakers
            ]
        except Exception as exc:
            snap.errors.append(f"flows: {type(exc).__name__}")
    exq = getattr(hub, "exceptions", None)
    if exq is not None and hasattr(exq, "list"):
        try:
            items = await _maybe(exq.list(status="open"))
            snap.exceptions_open = dict(_Counter(str(_field(i, "team") or "unassigned") for i in items or []))
        except Exception as exc:
            snap.errors.append(f"exceptions: {type(exc).__name__}")
    return snap


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


class Observability:
    def __init__(
        self,
        *,
        service_name: str = "retailconnect",
        sla_rules: Sequence[RuleLike] = (),
        alert_webhook_url: str | None = None,
        evaluate_every_s: float = 10.0,
        order_sla_seconds: dict[str, float] | None = None,
        otlp_endpoint: str | None = None,
        span_exporters: Sequence[SpanExporter] = (),
        span_capacity: int = 5000,
        hub_name: str = "retailconnect",
        min_refresh_s: float = 0.5,
    ) -> None:
        tiers = dict(DEFAULT_ORDER_SLA_SECONDS)
        for r in sla_rules:
            if r.metric == "order_aging_s" and r.tier is not None:
                tiers[str(r.tier)] = float(r.threshold)
        tiers.update(order_sla_seconds or {})
        self.metrics = HubMetrics(order_sla_seconds=tiers)
        self.tracing = Tracing(
            service_name, otlp_endpoint=otlp_endpoint, exporters=span_exporters, store_capacity=span_capacity
        )
        self.drift = DriftRecorder(self.metrics)
        self._hub: Any = None
        self._enrich: list[Callable[[HubSnapshot], Any]] = []
        self._open_since: dict[str, datetime] = {}
        self._refresh_lock = asyncio.Lock()
        self._last_refresh = 0.0
        self.min_refresh_s = min_refresh_s
        self.sla = SlaEvaluator(
            sla_rules,
            self.metrics,
            snapshot=self.refresh,
            webhook_url=alert_webhook_url,
            interval_s=evaluate_every_s,
            hub_name=hub_name,
        )

    @classmethod
    def from_topology(cls, topology: Any, **kw: Any) -> Observability:
        """From ``config.Topology``: SLA rules, alert webhook, OTLP endpoint from
        ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` (+ ``/v1/traces``)."""
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if not endpoint and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            endpoint = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
        alerts = getattr(topology, "alerts", None)
        return cls(
            service_name=os.environ.get("OTEL_SERVICE_NAME", "retailconnect"),
            sla_rules=list(getattr(topology, "slas", []) or []),
            alert_webhook_url=getattr(alerts, "webhook_url", None),
            evaluate_every_s=float(getattr(alerts, "evaluate_every_s", 10.0) or 10.0),
            otlp_endpoint=endpoint,
            hub_name=str(getattr(topology, "name", "retailconnect")),
            **kw,
        )

    # ---- wiring -----------------------------------------------------------------------------------
    def attach(self, hub: Any, *, enrich: Sequence[Callable[[HubSnapshot], Any]] = ()) -> None:
        """Use ``hub`` as the snapshot source (bus stats, ERP guards, flows, exception queue).

        ``enrich`` functions (sync, run in a thread; or async) add facts from layers above this one, e.g.
        the pending orders read from the flows' table (``dashboard.wiring`` does that)."""
        self._hub = hub
        self._enrich = list(enrich)

    @property
    def enrichers(self) -> list[Callable[[HubSnapshot], Any]]:
        return list(self._enrich)

    @property
    def hub(self) -> Any:
        """The hub attached as the snapshot source (None until ``attach``)."""
        return self._hub

    async def refresh(self) -> HubSnapshot:
        """Gather a fresh snapshot (at most one gathering at a time; callers share the result)."""
        if self._hub is None:
            return self.metrics.snapshot
        async with self._refresh_lock:
            if time.monotonic() - self._last_refresh < self.min_refresh_s:
                return self.metrics.snapshot
            snap = await snapshot_from_hub(self._hub, open_since=self._open_since)
            for fn in self._enrich:
                try:
                    if inspect.iscoroutinefunction(fn):
                        await fn(snap)
                    else:
                        await asyncio.to_thread(fn, snap)
                except Exception as exc:
                    snap.errors.append(f"{getattr(fn, '__name__', 'enrich')}: {type(exc).__name__}")
            self.metrics.update_snapshot(snap)
            self._last_refresh = time.monotonic()
            return snap

    def middleware(self) -> Middleware:
        """For ``create_app(..., extra_middleware=[obs.middleware()])`` (outermost: sees every answer)."""
        return Middleware(
            MetricsMiddleware,
            metrics=self.metrics,
            tracing=self.tracing,
            on_startup=self.start,
            on_shutdown=self.stop,
        )

    def transport(
        self,
        system: str,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        context: Callable[[], Mapping[str, str | None]] | None = None,
    ) -> InstrumentedTransport:
        """The httpx transport a connector client for ``system`` should be built with. ``context`` tells,
        inside a durable workflow, its ``workflow_id`` and ``correlation_id`` (the request's context is
        gone there)."""
        return InstrumentedTransport(
            inner, system=system, metrics=self.metrics, tracing=self.tracing, context=context
        )

    def metrics_router(self, *, refresh: Callable[[], Any] | None = None) -> APIRouter:
        router = APIRouter()
        obs = self

        @router.get("/metrics", include_in_schema=False)
        async def metrics_endpoint() -> Response:
            try:
                await (refresh() if refresh is not None else obs.refresh())
            except Exception as exc:  # a scrape still answers with what we have
                log.warning("metrics.refresh_failed", error=type(exc).__name__)
            return Response(obs.metrics.render(), media_type=CONTENT_TYPE_LATEST)

        return router

    async def start(self) -> None:
        """Start the SLA evaluator loop (the middleware calls this at app startup)."""
        if self.sla.rules:
            self.sla.start()

    async def stop(self) -> None:
        await self.sla.stop()
        self.tracing.provider.force_flush()
