"""The NetSuite simulator's own rules, driven with raw HTTP (signed by its own RFC 5849 code)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from retailconnect.simulators.netsuite import NetSuiteSimulator
from retailconnect.simulators.netsuite.tba import base_string, pct, sign


def signed(
    sim: NetSuiteSimulator, method: str, url: str, *, nonce: str | None = None, ts: int | None = None
) -> dict[str, str]:
    s = sim.settings
    u = httpx.URL(url)
    oauth = {
        "oauth_consumer_key": s["consumer_key"],
        "oauth_token": s["token_id"],
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": str(ts or int(time.time())),
        "oauth_nonce": nonce or uuid.uuid4().hex,
        "oauth_version": "1.0",
    }
    base_uri = f"{u.scheme}://{u.host}{u.raw_path.decode().split('?')[0]}"
    oauth["oauth_signature"] = sign(
        base_string(method, base_uri, u.query.decode(), oauth), s["consumer_secret"], s["token_secret"]
    )
    header = "OAuth " + ", ".join(
        [f'realm="{s["account_id"]}"'] + [f'{k}="{pct(v)}"' for k, v in oauth.items()]
    )
    return {"Authorization": header}


@pytest.fixture
def sim() -> NetSuiteSimulator:
    return NetSuiteSimulator(
        {"items": [{"sku": "SKU-1", "price": "10.00"}], "customers": [{"email": "a@x.com"}]}
    )


async def call(sim: NetSuiteSimulator, method: str, path: str, **kw: Any) -> httpx.Response:
    url = "http://testserver" + path
    headers = {**signed(sim, method, url, nonce=kw.pop("nonce", None)), **kw.pop("headers", {})}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as c:
        return await c.request(method, url, headers=headers, **kw)


def so_body(item_id: str, customer_id: str) -> dict[str, Any]:
    return {
        "entity": {"id": customer_id},
        "item": {"items": [{"item": {"id": item_id}, "quantity": 1, "rate": 10}]},
    }


def ids(sim: NetSuiteSimulator) -> tuple[str, str]:
    return sim.state.item_rows()[0]["id"], sim.state.customer_rows()[0]["id"]


async def test_reused_nonce_is_refused(sim: NetSuiteSimulator) -> None:
    path = "/services/rest/system/v1/governanceLimits"
    assert (await call(sim, "GET", path, nonce="same")).status_code == 200
    r = await call(sim, "GET", path, nonce="same")
    assert r.status_code == 401 and r.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    assert sim.auth_failures == ["nonce already used"]


async def test_upsert_without_replace_appends_lines_which_is_why_the_connector_sends_replace(
    sim: NetSuiteSimulator,
) -> None:
    item, cust = ids(sim)
    assert (
        await call(sim, "PUT", "/services/rest/record/v1/salesOrder/eid:A-1", json=so_body(item, cust))
    ).status_code == 204
    assert (
        await call(sim, "PUT", "/services/rest/record/v1/salesOrder/eid:A-1", json=so_body(item, cust))
    ).status_code == 204
    [so] = sim.state.sales_orders_view()
    assert len(so["lines"]) == 2 and so["created_count"] == 1 and so["updated_count"] == 1
    await call(
        sim, "PUT", "/services/rest/record/v1/salesOrder/eid:A-1?replace=item", json=so_body(item, cust)
    )
    [so] = sim.state.sales_orders_view()
    assert len(so["lines"]) == 1


async def test_invalid_external_id_and_unknown_query_are_netsuite_400s(sim: NetSuiteSimulator) -> None:
    item, cust = ids(sim)
    r = await call(sim, "PUT", "/services/rest/record/v1/salesOrder/eid:a:b", json=so_body(item, cust))
    assert r.status_code == 400 and r.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
    q = (await call(sim, "POST", "/services/rest/query/v1/suiteql", json={"q": "SELECT * FROM transaction ORDER BY id"},
             headers={"Prefer": "transient"}))  # fmt: skip
    assert q.status_code == 400 and q.json()["status"] == 400 and q.json()["title"] == "Bad Request"


async def test_location_header_and_get_by_external_id(sim: NetSuiteSimulator) -> None:
    item, cust = ids(sim)
    r = await call(sim, "PUT", "/services/rest/record/v1/salesOrder/eid:B-2", json=so_body(item, cust))
    rid = r.headers["Location"].rsplit("/", 1)[-1]
    got = (await call(sim, "GET", "/services/rest/record/v1/salesOrder/eid:B-2")).json()
    assert (
        got["id"] == rid and got["externalId"] == "B-2" and "items" not in got["item"]
    )  # sublist not expanded
    full = (
        await call(sim, "GET", "/services/rest/record/v1/salesOrder/eid:B-2?expandSubResources=true")
    ).json()
    assert full["item"]["items"][0]["item"] == {"id": item, "refName": "SKU-1"}
    assert (await call(sim, "GET", "/services/rest/record/v1/salesOrder/eid:nope")).status_code == 404


async def test_per_second_cap_answers_429_with_netsuite_body() -> None:
    sim = NetSuiteSimulator({"rate_limit_rps": 3})
    statuses = [(await call(sim, "GET", "/services/rest/system/v1/governanceLimits")) for _ in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    assert statuses[-1].json()["o:errorDetails"][0]["o:errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert sim.summary()["rejected_rate"] == 2


async def test_sales_order_for_a_customer_created_by_upsert(sim: NetSuiteSimulator) -> None:
    """A customer created through PUT eid: carries no creditHoldOverride; its orders still post."""
    r = await call(sim, "PUT", "/services/rest/record/v1/customer/eid:cust-1", json={"email": "new@x.com"})
    assert r.status_code == 204, r.text
    cust = await call(sim, "GET", "/services/rest/record/v1/customer/eid:cust-1")
    item_id, _ = ids(sim)
    r = await call(
        sim, "POST", "/services/rest/record/v1/salesOrder", json=so_body(item_id, cust.json()["id"])
    )
    assert r.status_code == 204, r.text


async def test_state_view_with_fields_answers_only_those(sim: NetSuiteSimulator) -> None:
    item, cust = ids(sim)
    path = "/services/rest/record/v1/salesOrder/eid:F-1"
    assert (await call(sim, "PUT", path, json=so_body(item, cust))).status_code == 204
    slim = (await call(sim, "GET", "/_sim/state/salesOrder?fields=id,externalId,created_count")).json()
    assert slim == [{"id": slim[0]["id"], "externalId": "F-1", "created_count": 1}]
    full = (await call(sim, "GET", "/_sim/state/salesOrder")).json()
    assert full[0]["item"]["items"] and full[0]["externalId"] == "F-1"


def test_rate_limit_is_a_bucket_bunched_arrivals_under_the_rate_pass_a_sustained_excess_does_not() -> None:
    sim = NetSuiteSimulator({"rate_limit_rps": 40})
    t, refused = 0.0, 0
    for i in range(108):  # 36/s for 3 s, with a 0.25 s stall that delivers 9 requests at once
        at = t + i / 36
        if 1.0 <= at < 1.25:
            at = 1.25
        refused += not sim.take_token(40.0, at)
    assert refused == 0
    over = [sim.take_token(40.0, 10.0 + i / 60) for i in range(240)]  # 60/s for 4 s: 40 + 4 x 40 pass
    assert over.count(False) >= 30
