"""Order state, keyed by the order's workflow id, where out-of-order events fold in.

Whatever arrives first (``orders/create``, ``orders/paid``, ``orders/updated``, a reconciliation pull)
creates the row; later arrivals keep the newest version of the order (by ``updated_at``) and add their
fact (paid, cancelled, edited, dispatched) to ``pending``. The capture flow takes the pending facts in
the same transaction that marks the order posted, and a fact arriving after the posting sees
``posted`` in its own transaction: whichever side comes second starts the follow-up workflow, whose id is
deterministic, so none is lost or doubled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from retailconnect.canonical import Order

from ..tables import flow_orders

__all__ = ["OrderRow", "add_fact", "get_order_row", "mark_posted", "record_order", "update_order_row"]


@dataclass(frozen=True)
class OrderRow:
    workflow_id: str
    tenant: str
    channel: str
    external_id: str
    order_number: str | None
    order_json: dict[str, Any] | None
    status: str
    erp_id: str | None
    posted: bool
    cancelled: bool
    paid: bool
    pending: list[dict[str, Any]]
    correlation_id: str | None

    def order(self) -> Order | None:
        return None if self.order_json is None else Order.model_validate(self.order_json)


def _aware(v: datetime | None) -> datetime | None:
    if v is None:
        return None
    return v if v.tzinfo else v.replace(tzinfo=UTC)


def _row(r: Any) -> OrderRow:
    return OrderRow(
        workflow_id=r.workflow_id,
        tenant=r.tenant,
        channel=r.channel,
        external_id=r.external_id,
        order_number=r.order_number,
        order_json=r.order_json,
        status=r.status,
        erp_id=r.erp_id,
        posted=bool(r.posted),
        cancelled=bool(r.cancelled),
        paid=bool(r.paid),
        pending=list(r.pending or []),
        correlation_id=r.correlation_id,
    )


def _lock(c: sa.Connection, wf: str) -> Any:
    """Read the row, holding its lock to the end of the transaction (SQLite: take the write lock first,
    so two writers never both read and then fail to upgrade)."""
    q = sa.select(flow_orders).where(flow_orders.c.workflow_id == wf)
    if c.dialect.name == "postgresql":
        q = q.with_for_update()
    else:
        c.execute(
            flow_orders.update()
            .where(flow_orders.c.workflow_id == wf)
            .values(updated_at=flow_orders.c.updated_at)
        )
    return c.execute(q).first()


def record_order(
    store: Any,
    workflow_id: str,
    *,
    tenant: str,
    channel: str,
    external_id: str,
    order: Order | None,
    correlation_id: str | None,
    fact: dict[str, Any] | None = None,
) -> tuple[bool, bool, OrderRow]:
    """Fold one arrival in. Returns (created, changed, row): ``changed`` when the order version is newer
    than the one kept, or the fact is new."""
    now = datetime.now(UTC)
    order_json = order.model_dump(mode="json") if order is not None else None
    new_row = dict(
        workflow_id=workflow_id,
        tenant=tenant,
        channel=channel,
        external_id=external_id,
        order_number=order.number if order else None,
        order_id=str(order.id) if order else None,
        order_json=order_json,
        order_updated_at=order.updated_at if order else None,
        status="received",
        posted=False,
        cancelled=bool(fact and fact.get("type") == "cancelled"),
        paid=bool(fact and fact.get("type") == "paid"),
        pending=[fact] if fact else [],
        correlation_id=correlation_id,
        created_at=now,
        updated_at=now,
    )
    first = _insert_new(store, new_row)
    if first is not None:
        return True, True, first
    for attempt in range(3):
        try:
            with store.begin() as c:
                r = _lock(c, workflow_id)
                if r is None:
                    c.execute(flow_orders.insert().values(**new_row))
                    row = _lock(c, workflow_id)
                    return True, True, _row(row)
                changed = False
                values: dict[str, Any] = {}
                kept = _aware(r.order_updated_at)
                if order is not None and (r.order_json is None or kept is None or order.updated_at > kept):
                    values.update(
                        order_json=order_json,
                        order_updated_at=order.updated_at,
                        order_number=order.number,
                        order_id=r.order_id or str(order.id),
                    )
                    # kept either way; "changed" only when the ERP would see a difference
                    changed = r.order_json is None or _erp_view(r.order_json) != _erp_view(order_json or {})
                if fact is not None:
                    pending = list(r.pending or [])
                    if fact not in pending and not _fact_done(r, fact):
                        pending.append(fact)
                        values["pending"] = pending
                        changed = True
                    if fact.get("type") == "cancelled":
                        values["cancelled"] = True
                    if fact.get("type") == "paid":
                        values["paid"] = True
                if values:
                    values["updated_at"] = now
                    c.execute(
                        flow_orders.update().where(flow_orders.c.workflow_id == workflow_id).values(**values)
                    )
                row = _lock(c, workflow_id)
                return False, changed, _row(row)
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _insert_new(store: Any, values: dict[str, Any]) -> OrderRow | None:
    """The common case, a first arrival: one ``INSERT ... ON CONFLICT DO NOTHING RETURNING``; None when
    the order is already known (the caller folds the arrival in under the row's lock)."""
    dialect = store.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(flow_orders)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(flow_orders)
    else:  # pragma: no cover - the store runs on SQLite or PostgreSQL
        return None
    stmt = stmt.values(**values).on_conflict_do_nothing(index_elements=["workflow_id"])
    with store.begin() as c:
        r = c.execute(stmt.returning(*flow_orders.c)).first()
    return None if r is None else _row(r)


#: order fields an ERP sales order does not carry: a newer version differing only in these (Shopify's
#: orders/updated after a fulfilment, a tag, a payment status that arrives as its own fact) is kept but
#: is not an edit to send to the ERP (the canonical id is minted per delivery by the channel mappers; the
#: row keeps the first)
_NOT_FOR_ERP = frozenset(
    {"id", "updated_at", "status", "financial_status", "fulfillment_status", "cancelled_at", "tags", "extra",
     "totals_mismatch"}
)  # fmt: skip


def _erp_view(order_json: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order_json.items() if k not in _NOT_FOR_ERP}


def _fact_done(r: Any, fact: dict[str, Any]) -> bool:
    t = fact.get("type")
    return (t == "cancelled" and bool(r.cancelled) and r.status == "cancelled") or (
        t == "paid" and r.status in ("paid", "closed")
    )


def add_fact(store: Any, workflow_id: str, fact: dict[str, Any]) -> OrderRow | None:
    """Record a fact for an order; returns the row (``posted`` says whether to act now), None if unknown."""
    with store.begin() as c:
        r = _lock(c, workflow_id)
        if r is None:
            return None
        pending = list(r.pending or [])
        values: dict[str, Any] = {"updated_at": datetime.now(UTC)}
        if fact not in pending:
            pending.append(fact)
            values["pending"] = pending
        if fact.get("type") == "cancelled":
            values["cancelled"] = True
        if fact.get("type") == "paid":
            values["paid"] = True
        c.execute(flow_orders.update().where(flow_orders.c.workflow_id == workflow_id).values(**values))
        return _row(_lock(c, workflow_id))


def mark_posted(
    store: Any, workflow_id: str, erp_id: str | None, *, bind: Callable[[sa.Connection], None] | None = None
) -> OrderRow:
    """Posted to the ERP: set the flag and take the facts that waited for it, in one transaction (with
    ``bind(conn)``, the binding to the ERP record too). One ``UPDATE ... RETURNING``: it takes the row's
    lock, so a fact recorded by :func:`add_fact` is either in the returned ``pending`` or sees ``posted``."""
    with store.begin() as c:
        if bind is not None:
            bind(c)
        r = c.execute(
            flow_orders.update()
            .where(flow_orders.c.workflow_id == workflow_id)
            .values(posted=True, erp_id=erp_id, status="accepted", updated_at=datetime.now(UTC))
            .returning(*flow_orders.c)
        ).first()
        if r is None:
            raise KeyError(workflow_id)
        return _row(r)


def get_order_row(store: Any, workflow_id: str) -> OrderRow | None:
    with store.connect() as c:
        r = c.execute(sa.select(flow_orders).where(flow_orders.c.workflow_id == workflow_id)).first()
    return None if r is None else _row(r)


def update_order_row(store: Any, workflow_id: str, **values: Any) -> None:
    values["updated_at"] = datetime.now(UTC)
    with store.begin() as c:
        c.execute(flow_orders.update().where(flow_orders.c.workflow_id == workflow_id).values(**values))
