"""Mutated published payloads never crash a mapper: they map, or fail with a MappingError naming a JSON path."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retailconnect.connectors._kit import MapContext
from retailconnect.connectors.shopify import (
    inventory_level_from_shopify,
    order_from_shopify,
    product_from_shopify,
    refund_from_shopify,
)
from retailconnect.errors import MappingError

FIX = Path(__file__).parents[4] / "tests" / "fixtures" / "shopify"
CASES: list[tuple[Callable[[Any, MapContext], Any], str]] = [
    (order_from_shopify, "order_webhook_orders_create_2022-04.json"),
    (order_from_shopify, "order_webhook_real_hkd_discounts_no_sku.json"),
    (refund_from_shopify, "refund_rest_509562969.json"),
    (product_from_shopify, "product_webhook_products_update.json"),
    (inventory_level_from_shopify, "inventory_level_webhook_inventory_levels_update.json"),
]
JUNK = st.sampled_from(
    [
        None,
        "",
        "abc",
        1.5,
        -3,
        0,
        True,
        [],
        {},
        [1],
        {"a": 1},
        "1e400",
        "NaN",
        "12.345",
        10**30,
        "2025-13-45T00:00:00Z",
        "zz",
    ]
)


def paths(o: Any, p: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if p:
        yield p
    if isinstance(o, dict):
        for k, v in o.items():
            yield from paths(v, (*p, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from paths(v, (*p, i))


@pytest.mark.parametrize(("mapper", "name"), CASES, ids=[c[1] for c in CASES])
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_mutations_map_or_fail_with_a_path(
    mapper: Callable[[Any, MapContext], Any], name: str, data: st.DataObject
) -> None:
    payload = json.loads((FIX / name).read_text())
    all_paths = list(paths(payload))
    mutated = copy.deepcopy(payload)
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(all_paths))
        node = mutated
        try:
            for k in target[:-1]:
                node = node[k]
            node[target[-1]] = data.draw(JUNK)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        mapper(mutated, MapContext())
    except MappingError as exc:
        assert str(exc.context.get("path", "")).startswith("$"), exc.context
