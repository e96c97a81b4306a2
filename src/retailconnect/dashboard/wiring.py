"""Wire observability to a running hub: one call for ``retailconnect serve`` and the demo.

    obs = observability_for(hub)
    app = create_app(hub, extra_routers=[obs.metrics_router(), create_dashboard_router(hub, obs)],
                     extra_middleware=[obs.middleware()])

``observability_for`` builds the bundle from the topology (SLA rules, alert webhook, OTLP endpoint from the
standard ``OTEL_EXPORTER_OTLP_*`` variables), attaches the hub as the snapshot source, and adds the
store-backed business facts: orders captured/posted (capture-to-post histogram) and the pending orders
whose age the SLA rules watch, read from the flows' order table, so they are right whichever process
captured or posted the order. It lives here, not in ``observability``, because it reads ``flows`` tables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from retailconnect.flows.context import WorkflowContext
from retailconnect.flows.tables import flow_orders
from retailconnect.observability import HubMetrics, HubSnapshot, Observability

from .views import pending_orders_from_store

__all__ = ["OrderWatcher", "WorkflowContext", "instrument_clients", "observability_for", "wire"]


def _aware(v: datetime) -> datetime:
    return v if v.tzinfo else v.replace(tzinfo=UTC)


class OrderWatcher:
    """On each snapshot: count newly captured and newly posted orders from ``flow_orders`` into the event
    metrics, and set the snapshot's pending orders (for aging)."""

    def __init__(
        self,
        store: Any,
        metrics: HubMetrics,
        *,
        tier_of: Callable[[Any], int | str] = lambda row: 1,
        erp_name: str = "erp",
        lookback: timedelta = timedelta(hours=24),
        max_tracked: int = 100_000,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.tier_of = tier_of
        self.erp_name = erp_name
        self.max_tracked = max_tracked
        self._watermark = datetime.now(UTC) - lookback
        self._seen: dict[str, bool] = {}  # workflow id -> posted seen

    def __call__(self, snap: HubSnapshot) -> None:
        t = flow_orders
        since = self._watermark - timedelta(seconds=5)  # clock skew between writers
        with self.store.engine.connect() as c:
            rows = c.execute(
                sa.select(
                    t.c.workflow_id, t.c.tenant, t.c.channel, t.c.created_at, t.c.updated_at, t.c.posted
                )
                .where(t.c.updated_at >= since)
                .order_by(t.c.updated_at)
                .limit(20_000)
            ).all()
        for r in rows:
            tier = self.tier_of(r)
            if r.workflow_id not in self._seen:
                self.metrics.order_captured(
                    r.workflow_id,
                    channel=r.channel,
                    tenant=r.tenant,
                    tier=tier,
                    captured_at=_aware(r.created_at),
                )
                self._seen[r.workflow_id] = False
            if r.posted and not self._seen[r.workflow_id]:
                self.metrics.order_posted(r.workflow_id, erp=self.erp_name, posted_at=_aware(r.updated_at))
                self._seen[r.workflow_id] = True
            self._watermark = max(self._watermark, _aware(r.updated_at))
        if len(self._seen) > self.max_tracked:
            for k in list(self._seen)[: len(self._seen) - self.max_tracked]:
                del self._seen[k]
        snap.pending_orders = pending_orders_from_store(self.store, tier=1)

    __name__ = "orders"


def observability_for(hub: Any, **kw: Any) -> Observability:
    """The observability bundle for ``hub``, wired (also set as ``hub.observability``).

    If the runtime already made one (``hub.observability``, e.g. to hand ``metrics.on_inventory_pushed``
    to the inventory sync), that one is wired and returned; calling this twice is harmless."""
    existing = getattr(hub, "observability", None)
    topo = getattr(hub, "topology", None)
    if isinstance(existing, Observability):
        obs = existing
    else:
        obs = Observability.from_topology(topo, **kw) if topo is not None else Observability(**kw)
    return wire(hub, obs)


def wire(hub: Any, obs: Observability) -> Observability:
    """Idempotent: ``hub`` as the snapshot source with the store-backed order facts, the hub's connector
    clients reporting to ``obs``, ``hub.observability`` set. ``create_dashboard_router`` calls it too, so an app that
    built its bundle with ``Observability.from_topology`` + ``attach`` still gets the business metrics."""
    if obs.hub is not hub or not any(isinstance(f, OrderWatcher) for f in obs.enrichers):
        topo = getattr(hub, "topology", None)
        erp = topo.erp_name() if topo is not None and hasattr(topo, "erp_name") else None
        others = [f for f in obs.enrichers if not isinstance(f, OrderWatcher)] if obs.hub is hub else []
        obs.attach(hub, enrich=[*others, OrderWatcher(hub.store, obs.metrics, erp_name=erp or "erp")])
    instrument_clients(hub, obs)
    hub.observability = obs
    return obs


def instrument_clients(hub: Any, obs: Observability) -> list[str]:
    """Have the hub's connector clients report their vendor calls (latency, errors, a client span,
    ``traceparent`` out) to ``obs``. ``runtime.Hub`` builds every client with an instrumented transport
    (``Hub._client_for``); this only points those at ``obs`` when it is not the hub's own bundle. Nothing
    inside the clients is touched. Returns the systems reporting to ``obs``."""
    use = getattr(hub, "use_observability", None)
    if use is None:  # not a runtime.Hub (a test double): no clients of ours to instrument
        return []
    return list(use(obs))
