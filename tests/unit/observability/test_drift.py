from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from retailconnect.connectors._kit.drift import DriftChecked, check_drift, drift_context, model_drift
from retailconnect.observability.drift import DriftRecorder
from retailconnect.observability.metrics import HubMetrics
from retailconnect.observability.redaction import REDACTED


class LineItem(DriftChecked):
    sku: str
    quantity: int


class ShopifyOrder(DriftChecked):
    __drift_optional__ = frozenset({"note"})
    id: int
    currency: str | None = None  # expected, but validation survives without it
    note: str | None = None
    line_items: list[LineItem]


def test_wire_model_reports_unexpected_and_missing_fields_per_version() -> None:
    metrics = HubMetrics()
    rec = DriftRecorder(metrics)
    raw = {
        "id": 1,
        "line_items": [{"sku": "A", "quantity": 1, "fulfillable_quantity": 1}],
        "current_total_duties_set": {"x": 1},
        "access_token": "shpat_123",
    }
    raw["currency"] = "EUR"
    ShopifyOrder.model_validate(raw, context=drift_context(rec, "shopify", "2025-01"))
    got = {(e.model, e.field, e.kind) for e in rec.entries()}
    assert got == {
        ("ShopifyOrder", "current_total_duties_set", "unexpected"),
        ("ShopifyOrder", "access_token", "unexpected"),
        ("LineItem", "fulfillable_quantity", "unexpected"),
    }
    # a second version drops a field the model expects (recorded even when validation then fails)
    with pytest.raises(ValidationError):
        LineItem.model_validate({"sku": "A"}, context=drift_context(rec, "shopify", "2025-04"))
    ShopifyOrder.model_validate({"id": 2, "line_items": []}, context=drift_context(rec, "shopify", "2025-04"))
    missing = [e for e in rec.entries() if e.kind == "missing"]
    assert sorted((e.model, e.field) for e in missing) == [
        ("LineItem", "quantity"),
        ("ShopifyOrder", "currency"),
    ]
    assert (
        metrics.counter_value(
            "retailconnect_contracts_drift_fields_total",
            {"system": "shopify", "api_version": "2025-01", "kind": "unexpected"},
        )
        == 3
    )
    example = next(e.example for e in rec.entries() if e.field == "access_token")
    assert "shpat_123" not in example and REDACTED in example
    assert rec.summary()[("shopify", "2025-04")] == {"unexpected": 0, "missing": 2}


def test_repeats_count_without_new_entries_and_no_sink_is_silent() -> None:
    rec = DriftRecorder()
    for _ in range(3):
        check_drift(
            rec,
            system="netsuite",
            api_version=None,
            model_cls=LineItem,
            payload={"sku": "A", "quantity": 1, "custbody_x": 1},
        )
    [entry] = rec.entries()
    assert entry.count == 3 and entry.api_version == "unknown" and entry.field == "custbody_x"
    assert ShopifyOrder.model_validate({"id": 1, "currency": "EUR", "line_items": [], "extra": 1}).id == 1
    assert model_drift(LineItem, {"sku": "A"}) == ([], ["quantity"])


class Aliased(BaseModel):
    created: str | None = None

    model_config = {"populate_by_name": True}


def test_aliases_count_as_expected() -> None:
    class M(DriftChecked):
        created_at: str

        model_config = {"alias_generator": lambda n: n.replace("_at", "At")}

    assert model_drift(M, {"createdAt": "x"}) == ([], [])


def test_raw_dict_mappers_report_through_the_map_context() -> None:
    from retailconnect.connectors._kit import MapContext
    from retailconnect.connectors._kit.drift import check_keys

    rec = DriftRecorder()
    ctx = MapContext(drift=rec)
    got = check_keys(
        ctx.drift,
        system="shopify",
        api_version="2025-07",
        model="orders/create",
        payload={"id": 1, "name": "#1", "current_total_duties_set": None},
        expected={"id", "name", "currency"},
        known={"note"},
    )
    assert got == (["current_total_duties_set"], ["currency"])
    assert {(e.field, e.kind) for e in rec.entries()} == {
        ("current_total_duties_set", "unexpected"),
        ("currency", "missing"),
    }
    assert check_keys(None, system="x", api_version=None, model="m", payload={"a": 1}, expected={"a"}) == (
        [],
        [],
    )
