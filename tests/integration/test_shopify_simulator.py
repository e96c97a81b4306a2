"""The Shopify simulator's own wire behaviour (what a real Shopify would answer), over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from retailconnect.simulators.shopify import ShopifySimulator, create_app

Q_SHOP = "{ shop { name currencyCode } }"


@pytest.fixture
def sim() -> Iterator[ShopifySimulator]:
    s = ShopifySimulator({"restore_rate": 50, "maximum": 100, "access_token": "shpat_test"})
    s.start()
    yield s
    s.stop()


def gql(
    sim: ShopifySimulator, query: str, variables: dict | None = None, token: str = "shpat_test"
) -> httpx.Response:
    return httpx.post(
        f"{sim.url}/admin/api/2025-01/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
    )


def test_bad_token_gets_shopify_401(sim: ShopifySimulator) -> None:
    r = gql(sim, Q_SHOP, token="nope")
    assert r.status_code == 401
    assert r.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_cost_extension_and_throttled_shape(sim: ShopifySimulator) -> None:
    ok = gql(sim, Q_SHOP).json()
    cost = ok["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 and cost["actualQueryCost"] == 1
    assert cost["throttleStatus"]["maximumAvailable"] == 100 and cost["throttleStatus"]["restoreRate"] == 50
    # mutations cost what they request (10 each): 100 points in one document empties the bucket
    tags = " ".join(
        f'm{i}: tagsAdd(id: "gid://shopify/Order/1", tags: ["x"]) {{ userErrors {{ message }} }}'
        for i in range(10)
    )
    answers = [gql(sim, f"mutation {{ {tags} }}").json() for _ in range(2)]
    throttled = [a for a in answers if "errors" in a and a["errors"][0].get("extensions")]
    assert throttled, answers
    err = throttled[0]["errors"][0]
    assert err["message"] == "Throttled" and err["extensions"]["code"] == "THROTTLED"
    assert throttled[0]["extensions"]["cost"]["requestedQueryCost"] == 100
    assert throttled[0]["extensions"]["cost"]["actualQueryCost"] is None


def test_unused_requested_cost_is_refunded() -> None:
    """Shopify checks the requested cost before running a query and refunds what the answer did not use:
    a connection asked for 40 nodes that returns 2 costs 2 + 2 x 1, not 2 + 40."""
    s = ShopifySimulator({"restore_rate": 1, "maximum": 100, "access_token": "shpat_test"})
    s.start()
    try:
        q = "query($n: Int!) { locations(first: $n) { edges { node { id name } } } }"
        first = gql(s, q, {"n": 40}).json()["extensions"]["cost"]
        n_locations = len(
            gql(s, "{ locations(first: 50) { edges { node { id } } } }").json()["data"]["locations"]["edges"]
        )
        assert first["requestedQueryCost"] == 42
        assert first["actualQueryCost"] == 2 + n_locations
        assert first["throttleStatus"]["currentlyAvailable"] >= 100 - first["actualQueryCost"] - 1
        # the bucket must still hold the requested cost (50) before a query runs, though it only pays 2 + 7
        mid = "{ productVariants(first: 48) { edges { node { id } } } }"
        answers = [gql(s, mid).json() for _ in range(10)]
        ran = [a for a in answers if "errors" not in a]
        assert {a["extensions"]["cost"]["actualQueryCost"] for a in ran} == {9}
        assert len(ran) >= 4  # without the refund the second one would be throttled
        refused = [a for a in answers if "errors" in a]
        assert refused and refused[0]["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert refused[0]["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 50
    finally:
        s.stop()


def test_max_cost_and_unknown_field(sim: ShopifySimulator) -> None:
    r = gql(sim, "{ productVariants(first: 250) { edges { node { id product { id } } } } }").json()
    assert r["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    r = gql(sim, "{ shop { plan } }").json()
    assert "Cannot query field 'plan' on type 'Shop'" in r["errors"][0]["message"]


def test_more_than_250_inputs_is_refused() -> None:
    s = ShopifySimulator({"restore_rate": 100000, "maximum": 100000, "access_token": "shpat_test"})
    s.start()
    try:
        q = "mutation($i: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $i) { userErrors { message code } } }"
        qs = [
            {
                "inventoryItemId": "gid://shopify/InventoryItem/1",
                "locationId": "gid://shopify/Location/1",
                "quantity": 1,
            }
        ] * 251
        r = gql(
            s,
            q,
            {
                "i": {
                    "name": "available",
                    "reason": "correction",
                    "ignoreCompareQuantity": True,
                    "quantities": qs,
                }
            },
        ).json()
        assert r["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
        r = gql(s, q, {"i": {"name": "available", "reason": "correction", "quantities": qs[:1]}}).json()
        codes = {e["code"] for e in r["data"]["inventorySetQuantities"]["userErrors"]}
        assert "INVALID_INVENTORY_ITEM" in codes
    finally:
        s.stop()


def test_admin_catalog_orders_reset(sim: ShopifySimulator) -> None:
    r = httpx.post(
        sim.url + "/_sim/catalog",
        json={
            "products": [
                {
                    "title": "Mug",
                    "variants": [{"sku": "MUG-1", "price": "9.50", "inventory": {"Main Warehouse": 4}}],
                }
            ]
        },
    )
    assert "MUG-1" in r.json()["created_skus"]
    inv = httpx.get(sim.url + "/_sim/state/inventory").json()["levels"]
    assert {(lv["sku"], lv["location"], lv["available"]) for lv in inv} == {("MUG-1", "Main Warehouse", 4)}
    o = httpx.post(
        sim.url + "/_sim/orders",
        json={
            "lines": [
                {"sku": "MUG-1", "quantity": 2},
                {"sku": "", "title": "Engraving", "price": "5.00", "quantity": 1},
            ],
            "tax_rate": "0.1",
            "shipping": "4.99",
        },
    ).json()
    assert (
        o["line_items"][1]["sku"] == "" and o["total_price"] == "31.89"
    )  # 19.00 + 5.00 + 4.99 shipping + 10 % tax (2.40 + 0.50)
    assert [x["name"] for x in httpx.get(sim.url + "/_sim/state/orders").json()["orders"]] == [o["name"]]
    assert httpx.get(f"{sim.url}/_sim/orders/{o['id']}").json()["id"] == o["id"]
    httpx.post(sim.url + "/_sim/reset").raise_for_status()
    assert httpx.get(sim.url + "/_sim/state/orders").json()["orders"] == []
    assert httpx.get(sim.url + "/_sim/requests").json()["summary"]["count"] == 0


def test_create_app_for_the_cli() -> None:
    app = create_app({"restore_rate": 200})
    assert app.state.sim.bucket.restore_rate == 200
