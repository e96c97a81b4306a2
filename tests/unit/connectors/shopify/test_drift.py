"""Contract drift from a real Shopify payload: the mapper reports new and missing fields, still maps."""

import copy
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from retailconnect.connectors._kit import MapContext
from retailconnect.connectors.shopify import order_from_shopify

FIXTURE = (
    Path(__file__).resolve().parents[3] / "fixtures" / "shopify" / "order_webhook_orders_create_2022-04.json"
)


class Sink:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def record(
        self,
        *,
        system: str,
        api_version: str | None,
        model: str,
        unexpected: Iterable[str],
        missing: Iterable[str],
        example: Mapping[str, Any],
    ) -> None:
        self.records.append(
            {
                "system": system,
                "api_version": api_version,
                "model": model,
                "unexpected": list(unexpected),
                "missing": list(missing),
            }
        )


def test_published_sample_has_no_drift() -> None:
    sink = Sink()
    order_from_shopify(json.loads(FIXTURE.read_text()), MapContext(drift=sink))
    assert sink.records == []


def test_new_and_missing_fields_are_reported_and_the_order_still_maps() -> None:
    payload = copy.deepcopy(json.loads(FIXTURE.read_text()))
    payload["loyalty_points_earned"] = 120  # a field a future API version might add
    del payload["total_discounts"]
    sink = Sink()
    order = order_from_shopify(payload, MapContext(drift=sink, settings={"api_version": "2026-01"}))
    assert order.number
    assert sink.records == [
        {
            "system": "shopify",
            "api_version": "2026-01",
            "model": "Order",
            "unexpected": ["loyalty_points_earned"],
            "missing": ["total_discounts"],
        }
    ]
