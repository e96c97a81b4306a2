"""The availability projection: on hand - reserved - safety stock, per SKU per location.

Stock movements from the WMS are applied once each (by movement id), in one transaction per batch, in the
order they occurred rather than the order they arrived: a cycle count delivered late keeps the picks and
receipts made after it (migration ``inventory_0002`` records each movement's delta and the count in force).
Order capture reserves stock; shipment consumes the reservation; cancellation releases it. When the
source has gone quiet for longer than ``stale_after_s`` (or is marked down), the availability served is
the last known figure minus a safety buffer, flagged ``stale``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from retailconnect.canonical import InventoryLevel, MovementKind, StockMovement

from ..db import Store
from .tables import applied_movements, inventory_levels, reservations

__all__ = ["AvailabilityProjection", "AvailabilityView", "Reservation"]


@dataclass(frozen=True)
class AvailabilityView:
    sku: str
    location: str | None
    available: int
    on_hand: int
    reserved: int
    safety_stock: int
    as_of: datetime | None
    stale: bool

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat() if self.as_of else None
        return d


@dataclass(frozen=True)
class Reservation:
    ok: bool
    shortages: dict[str, int]  # sku -> units missing


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class AvailabilityProjection:
    def __init__(
        self,
        store: Store,
        *,
        default_location: str = "main",
        safety_stock: int = 0,
        stale_after_s: float = 900.0,
        stale_buffer: int = 2,
    ) -> None:
        self.store = store
        self.default_location = default_location
        self.safety_stock = safety_stock
        self.stale_after_s = stale_after_s
        self.stale_buffer = stale_buffer
        self.source_down = False

    # -- movements ---------------------------------------------------------------------------------
    def apply_movements(self, movements: Sequence[StockMovement]) -> list[InventoryLevel]:
        """Apply each movement once; returns the new level of every (sku, location) that changed."""
        changed: dict[tuple[str, str], None] = {}
        with self.store.begin() as c:
            for mv in movements:
                if self._apply(c, mv):
                    changed[(mv.sku, mv.location)] = None
            return [lvl for key in changed if (lvl := self._level(c, *key)) is not None]

    def _apply(self, c: Connection, mv: StockMovement) -> bool:
        """Apply one movement in the order it *occurred*, whatever the order it arrived in (webhooks are
        not ordered): a cycle count sets the figure as of its ``occurred_at`` and keeps the movements
        already applied that occurred after it; a movement that occurred before the count in force is
        already inside that count; an older count than the one in force changes nothing."""
        mid = str(mv.id)
        seen = c.execute(
            sa.select(applied_movements.c.movement_id).where(applied_movements.c.movement_id == mid)
        ).first()
        if seen:
            return False
        at = mv.occurred_at.astimezone(UTC)
        is_count = mv.kind == MovementKind.CYCLE_COUNT
        c.execute(
            applied_movements.insert().values(
                movement_id=mid,
                applied_at=datetime.now(UTC),
                sku=mv.sku,
                location=mv.location,
                occurred_at=at,
                delta=None if is_count else mv.quantity,
            )
        )
        row = c.execute(
            sa.select(inventory_levels).where(
                inventory_levels.c.sku == mv.sku, inventory_levels.c.location == mv.location
            )
        ).first()
        now = datetime.now(UTC)
        if row is None:
            on_hand = mv.counted if is_count else max(0, mv.quantity)
            c.execute(
                inventory_levels.insert().values(
                    sku=mv.sku,
                    location=mv.location,
                    on_hand=on_hand or 0,
                    reserved=0,
                    safety_stock=self.safety_stock,
                    source_time=mv.occurred_at,
                    updated_at=now,
                    version=1,
                    counted_at=at if is_count else None,
                )
            )
            return True
        counted_at = _aware(row.counted_at)
        if counted_at is not None and at <= counted_at:
            return False  # already inside the count in force (or an older count)
        values: dict[str, Any] = {}
        if is_count:
            after = c.execute(
                sa.select(sa.func.coalesce(sa.func.sum(applied_movements.c.delta), 0)).where(
                    applied_movements.c.sku == mv.sku,
                    applied_movements.c.location == mv.location,
                    applied_movements.c.occurred_at > at,
                    applied_movements.c.delta.is_not(None),
                )
            ).scalar_one()
            values.update(on_hand=int(mv.counted or 0) + int(after), counted_at=at)
        else:
            values["on_hand"] = row.on_hand + mv.quantity
        src = _aware(row.source_time)
        c.execute(
            inventory_levels.update()
            .where(inventory_levels.c.sku == mv.sku, inventory_levels.c.location == mv.location)
            .values(
                **values,
                source_time=max(mv.occurred_at, src) if src else mv.occurred_at,
                updated_at=now,
                version=row.version + 1,
            )
        )
        return True

    def set_levels(self, levels: Iterable[InventoryLevel]) -> None:
        """Seed or overwrite absolute levels (initial load, a full count from the WMS)."""
        now = datetime.now(UTC)
        with self.store.begin() as c:
            for lvl in levels:
                c.execute(
                    inventory_levels.delete().where(
                        inventory_levels.c.sku == lvl.sku, inventory_levels.c.location == lvl.location
                    )
                )
                c.execute(
                    inventory_levels.insert().values(
                        sku=lvl.sku,
                        location=lvl.location,
                        on_hand=lvl.on_hand,
                        reserved=lvl.reserved,
                        safety_stock=lvl.safety_stock or self.safety_stock,
                        source_time=lvl.updated_at,
                        updated_at=now,
                        version=1,
                    )
                )

    def _level(self, c: Connection, sku: str, location: str) -> InventoryLevel | None:
        row = c.execute(
            sa.select(inventory_levels).where(
                inventory_levels.c.sku == sku, inventory_levels.c.location == location
            )
        ).first()
        if row is None:
            return None
        return InventoryLevel(
            sku=row.sku,
            location=row.location,
            on_hand=row.on_hand,
            reserved=max(0, row.reserved),
            safety_stock=row.safety_stock,
            updated_at=_aware(row.source_time) or _aware(row.updated_at),
        )

    # -- reservations ------------------------------------------------------------------------------
    def reserve(
        self,
        order_key: str,
        lines: Sequence[tuple[str, int]],
        location: str | None = None,
        *,
        allow_backorder: bool = False,
    ) -> Reservation:
        """Hold stock for an order (idempotent per order key). With ``allow_backorder`` the hold is
        taken even when short, and the shortages are reported."""
        loc = location or self.default_location
        wanted: dict[str, int] = {}
        for sku, qty in lines:
            wanted[sku] = wanted.get(sku, 0) + qty
        with self.store.begin() as c:
            held = c.execute(
                sa.select(reservations.c.sku).where(reservations.c.order_key == order_key)
            ).first()
            if held:
                return Reservation(True, {})
            shortages: dict[str, int] = {}
            for sku, qty in wanted.items():
                lvl = self._level(c, sku, loc)
                avail = (lvl.available or 0) if lvl else 0
                if avail < qty:
                    shortages[sku] = qty - avail
            if shortages and not allow_backorder:
                return Reservation(False, shortages)
            now = datetime.now(UTC)
            for sku, qty in wanted.items():
                c.execute(
                    reservations.insert().values(
                        order_key=order_key,
                        sku=sku,
                        location=loc,
                        quantity=qty,
                        status="held",
                        created_at=now,
                    )
                )
                self._bump_reserved(c, sku, loc, qty)
            return Reservation(True, shortages)

    def _bump_reserved(self, c: Connection, sku: str, loc: str, delta: int) -> None:
        res = c.execute(
            inventory_levels.update()
            .where(inventory_levels.c.sku == sku, inventory_levels.c.location == loc)
            .values(
                reserved=inventory_levels.c.reserved + delta,
                version=inventory_levels.c.version + 1,
                updated_at=datetime.now(UTC),
            )
        )
        if res.rowcount == 0 and delta > 0:
            c.execute(
                inventory_levels.insert().values(
                    sku=sku,
                    location=loc,
                    on_hand=0,
                    reserved=delta,
                    safety_stock=self.safety_stock,
                    source_time=None,
                    updated_at=datetime.now(UTC),
                    version=1,
                )
            )

    def _close(self, order_key: str, status: str) -> list[str]:
        with self.store.begin() as c:
            rows = c.execute(
                sa.select(reservations).where(
                    reservations.c.order_key == order_key, reservations.c.status == "held"
                )
            ).all()
            for r in rows:
                self._bump_reserved(c, r.sku, r.location, -r.quantity)
            c.execute(
                reservations.update()
                .where(reservations.c.order_key == order_key, reservations.c.status == "held")
                .values(status=status)
            )
            return [r.sku for r in rows]

    def release(self, order_key: str) -> list[str]:
        """Cancel an order's hold (before the ERP posting, or on cancellation). Idempotent."""
        return self._close(order_key, "released")

    def consume(self, order_key: str) -> list[str]:
        """The order shipped: the hold ends (the WMS pick movement lowers on hand). Idempotent."""
        return self._close(order_key, "consumed")

    # -- reads -------------------------------------------------------------------------------------
    def get(self, sku: str, location: str | None = None) -> AvailabilityView | None:
        q = sa.select(inventory_levels).where(inventory_levels.c.sku == sku)
        if location:
            q = q.where(inventory_levels.c.location == location)
        with self.store.connect() as c:
            rows = c.execute(q).all()
        if not rows:
            return None
        on_hand = sum(r.on_hand for r in rows)
        reserved = sum(max(0, r.reserved) for r in rows)
        safety = sum(r.safety_stock for r in rows)
        times = [t for r in rows if (t := _aware(r.source_time) or _aware(r.updated_at))]
        as_of = max(times) if times else None
        stale = self.source_down or (
            as_of is not None and (datetime.now(UTC) - as_of).total_seconds() > self.stale_after_s
        )
        available = max(0, on_hand - reserved - safety - (self.stale_buffer if stale else 0))
        return AvailabilityView(sku, location, available, on_hand, reserved, safety, as_of, stale)

    def level(self, sku: str, location: str) -> InventoryLevel | None:
        with self.store.connect() as c:
            return self._level(c, sku, location)
