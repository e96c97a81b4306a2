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
