"""What each dashboard view shows, gathered from the hub (duck-typed ``runtime.Hub``), its store and the
observability bundle. Pure data: templates render it (escaped)."""

from __future__ import annotations

import inspect
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from retailconnect.flows.tables import flow_orders
from retailconnect.observability import Observability
from retailconnect.observability.redaction import redact
from retailconnect.observability.state import PendingOrder
from retailconnect.store.exception_queue import route_team

__all__ = [
    "business_view",
    "integration_view",
    "operations_view",
    "pending_orders_from_store",
    "resolve_exception",
    "routing_check",
]


async def _maybe(v: Any) -> Any:
    return await v if inspect.isawaitable(v) else v


def _age(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return ""
    s = max(0, int((now - (dt if dt.tzinfo else dt.replace(tzinfo=UTC))).total_seconds()))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d"


def _rec(x: Any) -> dict[str, Any]:
    if isinstance(x, dict):
        return x
    if hasattr(x, "as_dict"):
        return dict(x.as_dict())
    if hasattr(x, "to_dict"):
        return dict(x.to_dict())
    return dict(getattr(x, "__dict__", {}))


def _tenant_of(workflow_id: str) -> str | None:
    """Workflow ids are ``<kind>:<tenant>:...`` (``order:acme:shopify:1001``)."""
    parts = workflow_id.split(":")
    return parts[1] if len(parts) >= 3 else None


def pending_orders_from_store(store: Any, *, tier: int | str = 1, limit: int = 5000) -> list[PendingOrder]:
    """Orders captured and not yet posted to the ERP (nor cancelled or rejected), oldest first."""
    t = flow_orders
    with store.engine.connect() as c:
        rows = c.execute(
            sa.select(t.c.workflow_id, t.c.created_at, t.c.channel)
            .where(
                t.c.posted.is_(False), t.c.cancelled.is_(False), t.c.status.not_in(["rejected", "cancelled"])
            )
            .order_by(t.c.created_at)
            .limit(limit)
        ).all()
    return [
        PendingOrder(
            r.workflow_id,
            r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC),
            str(tier),
            r.channel,
        )
        for r in rows
    ]


def _orders_today(store: Any, now: datetime) -> tuple[dict[str, int], list[float]]:
    """(orders today by channel, orders per hour over the last 24 h) from the flows' order table."""
    t = flow_orders
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = now - timedelta(hours=24)
    with store.engine.connect() as c:
        by_channel = {
            str(ch): int(n)
            for ch, n in c.execute(
                sa.select(t.c.channel, sa.func.count())
                .where(t.c.created_at >= midnight)
                .group_by(t.c.channel)
            )
        }
        stamps = c.execute(sa.select(t.c.created_at).where(t.c.created_at >= since)).scalars().all()
    hours = [0.0] * 24
    for ts in stamps:
        ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        idx = 23 - int((now - ts).total_seconds() // 3600)
        if 0 <= idx < 24:
            hours[idx] += 1
    return by_channel, hours


async def resolve_exception(hub: Any, exc_id: int, action: str, *, actor: str, note: str | None) -> Any:
    """Record the decision and act on the parked workflow (retry from the failed step, skip it, cancel).

    Uses ``hub.resolve_exception`` when the runtime provides it; otherwise the exception queue records the
    decision and the flow is resumed (retry/skip) or cancelled here."""
    fn = getattr(hub, "resolve_exception", None)
    if fn is not None:
        return await _maybe(fn(exc_id, action=action, actor=actor, note=note))
    resolver = hub.exceptions.resolve
    if inspect.iscoroutinefunction(resolver):  # the flows' queue acts on the parked flow itself
        return await resolver(exc_id, action, actor=actor, note=note)
    rec = resolver(exc_id, action, actor=actor, note=note)
    wid = getattr(rec, "workflow_id", None)
    if wid:
        try:
            if action in ("retry", "skip"):
                await hub.retry_flow(wid)
            elif action == "cancel":
                await hub.cancel_flow(wid)
        except Exception as exc:
            reopen = getattr(hub.exceptions, "reopen", None)
            if reopen is not None:
                await _maybe(reopen(exc_id, actor, f"{action} failed: {type(exc).__name__}: {exc}"))
            raise
    return rec


def routing_check(
    rules: list[Any], *, code: str, error_class: str, system: str, tenant: str
) -> dict[str, Any]:
    """Which routing rule (first match, as the exception queue applies them) sends such an exception where."""
    facts = {
        "code": code or None,
        "error_class": error_class or None,
        "system": system or None,
        "tenant": tenant or None,
    }
    for i, r in enumerate(rules):
        if all(getattr(r, k, None) in (None, v) for k, v in facts.items()):
            index: int | None = i
            break
    else:
        index = None
    team = route_team(
        rules, code=code, error_class=error_class, system=facts["system"], tenant=facts["tenant"]
    )
    return {"team": team, "rule_index": index}


async def operations_view(hub: Any, obs: Observability, session: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    snap = obs.metrics.snapshot
    flows: list[dict[str, Any]] = []
    try:
        flows = [_rec(f) for f in await hub.list_flows(limit=200)]
        flows = [f for f in flows if session.sees_tenant(_tenant_of(str(f.get("workflow_id") or "")))]
    except Exception as exc:
        snap.errors.append(f"flows: {type(exc).__name__}")
    status_counts = Counter(str(f.get("status", "unknown")).lower() for f in flows)
    failing = [
        f
        for f in flows
        if str(f.get("status", "")).lower()
        in ("error", "failed", "max_recovery_attempts_exceeded", "retries_exceeded")
    ]
    exceptions: list[dict[str, Any]] = []
    try:
        items = await _maybe(hub.exceptions.list(status="open"))
        for i in items or []:
            d = _rec(i)
            if not session.sees_tenant(d.get("tenant")):
                continue
            created = getattr(i, "created_at", None) or d.get("created_at")
            if isinstance(created, str):
                created = datetime.fromisoformat(created)
            d["age"] = _age(created, now)
            exceptions.append(d)
    except Exception as exc:
        snap.errors.append(f"exceptions: {type(exc).__name__}")
    rules = list(getattr(getattr(hub, "topology", None), "exception_routing", []) or [])
    return {
        "now": now,
        "snap": snap,
        "status_counts": dict(status_counts),
        "flows": flows[:25],
        "failing": failing[:25],
        "exceptions": exceptions,
        "alerts": obs.sla.active(),
        "sla_rules": list(obs.sla.states.values()),
        "alert_history": list(reversed(obs.sla.history[-10:])),
        "rules": rules,
        "aging": obs.metrics.order_aging(now),
        "errors_per_min": obs.metrics.per_minute_errors.series(),
    }


async def integration_view(hub: Any, obs: Observability) -> dict[str, Any]:
    m = obs.metrics
    snap = m.snapshot
    topo_systems = dict(getattr(getattr(hub, "topology", None), "systems", {}) or {})
    breakers = {b.system: b for b in snap.breakers}
    systems = sorted(set(m.window_connectors.keys()) | set(topo_systems) | set(breakers))
    now = datetime.now(UTC)
    connectors = []
    for name in systems:
        st = m.connector_stats(name)
        b = breakers.get(name)
        connectors.append(
            {
                "system": name,
                "kind": getattr(topo_systems.get(name), "kind", ""),
                "stats": st,
                "spark": m.per_minute_errors.series(f"connector:{name}")[-30:],
                "breaker": b,
                "open_for": _age(b.opened_at, now) if b and b.state != "closed" else "",
            }
        )
    dead: list[dict[str, Any]] = []
    try:
        for d in await hub.bus.list_dead(limit=50):
            dd = _rec(d)
            event = dd.get("event") or {}
            dead.append(
                {
                    "id": str(dd.get("id")),
                    "group": dd.get("group"),
                    "type": dd.get("type") or event.get("type"),
                    "subject": dd.get("subject") or event.get("subject"),
                    "attempts": dd.get("attempts"),
                    "last_error": dd.get("last_error"),
                    "dead_at": dd.get("dead_at"),
                    "payload": json.dumps(redact(event), indent=2, sort_keys=True, default=str),
                }
            )
    except Exception as exc:
        snap.errors.append(f"dead letters: {type(exc).__name__}")
    return {
        "snap": snap,
        "connectors": connectors,
        "groups": snap.groups,
        "dead": dead,
        "drift": obs.drift.entries(),
        "drift_summary": obs.drift.summary(),
        "traces": obs.tracing.store.recent_roots(15),
    }


async def business_view(hub: Any, obs: Observability) -> dict[str, Any]:
    m = obs.metrics
    now = datetime.now(UTC)
    by_channel: dict[str, int] = {}
    hours: list[float] = []
    try:
        by_channel, hours = _orders_today(hub.store, now)
    except Exception:
        by_channel = m.orders_today_by_channel()
    inv = m.window_inventory.samples()
    lags = sorted(s[1] for s in inv)
    from retailconnect.observability.metrics import percentile

    return {
        "orders_by_channel": by_channel,
        "orders_total": sum(by_channel.values()),
        "orders_hours": hours,
        "orders_per_min": m.per_minute_orders.series(),
        "aging": m.order_aging(now),
        "sla_seconds": m.order_sla_seconds,
        "inv_p50": percentile(lags, 50),
        "inv_p99": percentile(lags, 99),
        "inv_count": len(lags),
        "settlements_failed": m.counter_value("retailconnect_settlements_failed_total"),
        "settlements_ok": m.counter_value("retailconnect_settlements_reconciled_total"),
        "partner_breaches": m.counter_value("retailconnect_partners_sla_breaches_total"),
        "signature_failures": m.counter_value("retailconnect_webhooks_signature_failures_total"),
        "posted": m.counter_value("retailconnect_orders_posted_total"),
    }
