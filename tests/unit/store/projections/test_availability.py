from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from retailconnect.canonical import InventoryLevel, MovementKind, StockMovement
from retailconnect.store import Store
from retailconnect.store.projections import AvailabilityProjection


@pytest.fixture(params=["sqlite", "postgres"])
def proj(request: pytest.FixtureRequest) -> Iterator[AvailabilityProjection]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_schema_url")
    s = Store.open(url)
    yield AvailabilityProjection(s, safety_stock=1, stale_after_s=60, stale_buffer=2)
    s.close()


def mv(sku: str, qty: int = 0, kind: MovementKind = MovementKind.RECEIPT, **kw: object) -> StockMovement:
    return StockMovement(sku=sku, location="main", kind=kind, quantity=qty, **kw)  # type: ignore[arg-type]


def test_movements_apply_once_and_compute_available(proj: AvailabilityProjection) -> None:
    receipt = mv("A", 10)
    changed = proj.apply_movements([receipt, mv("A", -3, MovementKind.PICK), mv("B", 5)])
    assert {lvl.sku: lvl.on_hand for lvl in changed} == {"A": 7, "B": 5}
    assert proj.apply_movements([receipt]) == []  # redelivered movement: no double count
    view = proj.get("A", "main")
    assert view is not None and (view.on_hand, view.available, view.stale) == (7, 6, False)


def test_cycle_count_sets_the_absolute_figure(proj: AvailabilityProjection) -> None:
    proj.apply_movements([mv("A", 10), mv("A", kind=MovementKind.CYCLE_COUNT, counted=4)])
    assert proj.get("A").on_hand == 4  # type: ignore[union-attr]


def test_reservations_hold_release_and_refuse_shortage(proj: AvailabilityProjection) -> None:
    proj.apply_movements([mv("A", 10)])
    assert proj.reserve("order:acme:shopify:1", [("A", 3), ("A", 2)]).ok
    assert proj.reserve("order:acme:shopify:1", [("A", 3)]).ok  # idempotent per order
    assert proj.get("A").available == 4  # type: ignore[union-attr]  # 10 - 5 - safety 1
    short = proj.reserve("order:acme:shopify:2", [("A", 9)])
    assert not short.ok and short.shortages == {"A": 5}
    assert proj.release("order:acme:shopify:1") == ["A"]
    assert proj.release("order:acme:shopify:1") == []
    assert proj.get("A").available == 9  # type: ignore[union-attr]


def test_stale_source_serves_last_figure_minus_buffer(proj: AvailabilityProjection) -> None:
    old = datetime.now(UTC) - timedelta(minutes=5)
    proj.set_levels([InventoryLevel(sku="S", location="main", on_hand=10, updated_at=old)])
    view = proj.get("S")
    assert view is not None and view.stale and view.available == 10 - 1 - 2
    proj.apply_movements([mv("S", 1)])
    fresh = proj.get("S")
    assert fresh is not None and not fresh.stale and fresh.available == 10


def test_a_cycle_count_that_arrives_late_keeps_the_movements_that_happened_after_it(
    proj: AvailabilityProjection,
) -> None:
    """Webhooks arrive out of order: a count taken at t0 can be delivered after picks and receipts made at
    t1..t3. The count sets the figure *as of t0*; what happened after it stays applied (and a movement made
    before the count, delivered after it, is already inside the count)."""
    t0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    at = [t0 + timedelta(seconds=s) for s in range(5)]
    count = mv("A", kind=MovementKind.CYCLE_COUNT, counted=100, occurred_at=at[1])
    proj.apply_movements([mv("A", -1, MovementKind.PICK, occurred_at=at[2])])
    proj.apply_movements([mv("A", 5, occurred_at=at[3])])
    proj.apply_movements([count])
    assert proj.get("A").on_hand == 104  # type: ignore[union-attr]  # 100 at t1, +5 -1 after
    proj.apply_movements([mv("A", -1, MovementKind.PICK, occurred_at=at[4])])
    proj.apply_movements([mv("A", 7, occurred_at=at[0])])  # before the count: already counted
    assert proj.get("A").on_hand == 103  # type: ignore[union-attr]
    older = mv("A", kind=MovementKind.CYCLE_COUNT, counted=50, occurred_at=at[0])
    proj.apply_movements([older])  # superseded by the later count
    assert proj.get("A").on_hand == 103  # type: ignore[union-attr]
    newer = mv("A", kind=MovementKind.CYCLE_COUNT, counted=80, occurred_at=at[3] + timedelta(milliseconds=1))
    proj.apply_movements([newer])  # only the pick at t4 happened after it
    assert proj.get("A").on_hand == 79  # type: ignore[union-attr]
