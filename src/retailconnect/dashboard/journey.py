"""One order's journey across systems, as a timeline: inbound payloads (archive), flow steps, events on
the backbone, audit entries, exceptions, cross-system bindings and the trace spans, found by order
number, external id, workflow id or correlation id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from retailconnect.bus.tables import events as bus_events
from retailconnect.flows.tables import flow_orders, flow_steps
from retailconnect.observability.redaction import redact
from retailconnect.observability.tracing import SpanStore
from retailconnect.store.exception_queue import exceptions_table
from retailconnect.store.tables import audit_log, bindings, inbound_archive

__all__ = ["Journey", "JourneyItem", "find_journey"]

_MAX_BODY = 6000


@dataclass(frozen=True)
class JourneyItem:
    at: datetime
    source: str  # channel | flow | event | audit | exception | trace
    system: str
    title: str
    status: str = "ok"  # ok | failed | running | info
    detail: str | None = None  # preformatted text (JSON), escaped by the template
    link: str | None = None


@dataclass
class Journey:
    query: str
    order: dict[str, Any] | None = None
    correlation_ids: list[str] = field(default_factory=list)
    workflow_ids: list[str] = field(default_factory=list)
    bindings: list[dict[str, Any]] = field(default_factory=list)
    items: list[JourneyItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.order or self.items)


def _aware(v: Any) -> datetime:
    if isinstance(v, int | float):
        return datetime.fromtimestamp(v, UTC)
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _pretty(value: Any) -> str:
    if isinstance(value, bytes):
        try:
            value = json.loads(value)
        except ValueError:
            text = value.decode("utf-8", "replace")
            return text[:_MAX_BODY]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value[:_MAX_BODY]
    text = json.dumps(redact(value), indent=2, sort_keys=True, default=str)
    return text if len(text) <= _MAX_BODY else text[:_MAX_BODY] + "\n... (truncated)"


def find_journey(store: Any, query: str, *, spans: SpanStore | None = None, limit: int = 300) -> Journey:
    q = query.strip()
    j = Journey(query=q)
    if not q:
        return j
    engine = store.engine
    with engine.connect() as c:
        row = None
        try:
            row = c.execute(
                sa.select(flow_orders)
                .where(
                    sa.or_(
                        flow_orders.c.order_number == q,
                        flow_orders.c.external_id == q,
                        flow_orders.c.workflow_id == q,
                        flow_orders.c.correlation_id == q,
                        flow_orders.c.order_id == q,
                        flow_orders.c.erp_id == q,
                    )
                )
                .order_by(flow_orders.c.created_at.desc())
                .limit(1)
            ).first()
        except sa.exc.SQLAlchemyError as exc:
            j.errors.append(f"orders: {type(exc).__name__}")
        cids: list[str] = []
        if row is not None:
            j.order = dict(row._mapping)
            j.order.pop("order_json", None)
            j.workflow_ids.append(row.workflow_id)
            if row.correlation_id:
                cids.append(row.correlation_id)
        else:
            cids.append(q)
            try:
                wids = c.execute(
                    sa.select(flow_steps.c.workflow_id)
                    .where(flow_steps.c.correlation_id == q)
                    .distinct()
                    .limit(5)
                ).scalars()
                j.workflow_ids.extend(w for w in wids if w)
            except sa.exc.SQLAlchemyError as exc:
                j.errors.append(f"steps: {type(exc).__name__}")
        # flow steps (and more correlation ids the steps carried)
        if j.workflow_ids:
            try:
                for s in c.execute(
                    sa.select(flow_steps)
                    .where(flow_steps.c.workflow_id.in_(j.workflow_ids))
                    .order_by(flow_steps.c.id)
                ):
                    if s.correlation_id and s.correlation_id not in cids:
                        cids.append(s.correlation_id)
                    status = {"ok": "ok", "failed": "failed", "running": "running"}.get(s.status, "info")
                    attempts = f" · {s.attempts} attempts" if s.attempts and s.attempts > 1 else ""
                    j.items.append(
                        JourneyItem(
                            at=_aware(s.started_at),
                            source="flow",
                            system="hub",
                            title=f"step {s.step}: {s.status}{attempts}",
                            status=status,
                            detail=s.error,
                        )
                    )
            except sa.exc.SQLAlchemyError as exc:
                j.errors.append(f"steps: {type(exc).__name__}")
        j.correlation_ids = cids
        # inbound payloads
        try:
            conds: list[sa.ColumnElement[bool]] = [inbound_archive.c.correlation_id.in_(cids)] if cids else []
            if j.order is not None:
                conds.append(inbound_archive.c.delivery_id == str(j.order["external_id"]))
            conds.append(inbound_archive.c.delivery_id == q)
            for a in c.execute(
                sa.select(inbound_archive).where(sa.or_(*conds)).order_by(inbound_archive.c.id).limit(50)
            ):
                j.items.append(
                    JourneyItem(
                        at=_aware(a.received_at),
                        source="channel",
                        system=a.system,
                        title=f"{a.system} {a.topic} received ({a.status})",
                        status="failed" if a.error else "ok",
                        detail=_pretty(a.body),
                    )
                )
        except sa.exc.SQLAlchemyError as exc:
            j.errors.append(f"archive: {type(exc).__name__}")
        # exceptions
        if j.workflow_ids:
            try:
                for e in c.execute(
                    sa.select(exceptions_table).where(exceptions_table.c.workflow_id.in_(j.workflow_ids))
                ):
                    j.items.append(
                        JourneyItem(
                            at=_aware(e.created_at),
                            source="exception",
                            system=str((e.context or {}).get("system", "hub"))
                            if isinstance(e.context, dict)
                            else "hub",
                            title=f"exception #{e.id} {e.code}: {e.message}",
                            status="failed" if e.status == "open" else "ok",
                            detail=f"team {e.team} · {e.status}"
                            + (f" · {e.resolution}" if e.resolution else ""),
                            link=f"/dashboard/exceptions/{e.id}",
                        )
                    )
                    if e.resolved_at is not None:
                        j.items.append(
                            JourneyItem(
                                at=_aware(e.resolved_at),
                                source="exception",
                                system="hub",
                                title=f"exception #{e.id} resolved: {e.resolution} by {e.resolved_by}",
                                status="ok",
                            )
                        )
            except sa.exc.SQLAlchemyError as exc:
                j.errors.append(f"exceptions: {type(exc).__name__}")
        # audit entries: by target, or mentioning a correlation id
        try:
            targets = [*j.workflow_ids]
            if j.order is not None and j.order.get("order_id"):
                targets.append(f"order:{j.order['order_id']}")
            aconds: list[sa.ColumnElement[bool]] = [audit_log.c.target.in_(targets)] if targets else []
            aconds += [audit_log.c.details.contains(cid) for cid in cids if len(cid) >= 8]
            if aconds:
                for r in c.execute(
                    sa.select(audit_log).where(sa.or_(*aconds)).order_by(audit_log.c.id).limit(100)
                ):
                    j.items.append(
                        JourneyItem(
                            at=_aware(r.at),
                            source="audit",
                            system="hub",
                            title=f"{r.action} by {r.actor}",
                            status="info",
                            detail=_pretty(r.details),
                        )
                    )
        except sa.exc.SQLAlchemyError as exc:
            j.errors.append(f"audit: {type(exc).__name__}")
        # events on the backbone (SQL backends)
        try:
            econds: list[sa.ColumnElement[bool]] = [
                bus_events.c.envelope.contains(f'"correlationid":"{cid}"') for cid in cids
            ]
            econds += [bus_events.c.envelope.contains(f'"correlationid": "{cid}"') for cid in cids]
            if j.order is not None and j.order.get("order_id"):
                econds.append(bus_events.c.subject == str(j.order["order_id"]))
            if econds:
                for ev in c.execute(
                    sa.select(bus_events).where(sa.or_(*econds)).order_by(bus_events.c.offset).limit(100)
                ):
                    j.items.append(
                        JourneyItem(
                            at=_aware(ev.published_at),
                            source="event",
                            system="bus",
                            title=f"event {ev.type}" + (f" ({ev.subject})" if ev.subject else ""),
                            status="info",
                            detail=_pretty(ev.envelope),
                        )
                    )
        except sa.exc.SQLAlchemyError:
            pass  # NATS backend: events are not in the store
        # bindings
        if j.order is not None and j.order.get("order_id"):
            try:
                j.bindings = [
                    dict(b._mapping)
                    for b in c.execute(
                        sa.select(bindings).where(bindings.c.canonical_id == str(j.order["order_id"]))
                    )
                ]
            except sa.exc.SQLAlchemyError as exc:
                j.errors.append(f"bindings: {type(exc).__name__}")
    if spans is not None:
        for cid in cids:
            for s in spans.by_correlation(cid):
                if s.kind in ("client", "server") or s.status == "error":
                    j.items.append(
                        JourneyItem(
                            at=s.start,
                            source="trace",
                            system=str(s.attributes.get("retailconnect.system", "gateway")),
                            title=f"{s.name} · {s.duration_ms:.0f} ms",
                            status="failed" if s.status == "error" else "ok",
                            detail=f"trace {s.trace_id}",
                        )
                    )
    j.items.sort(key=lambda i: i.at)
    del j.items[limit:]
    return j
