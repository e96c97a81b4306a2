"""The WMS simulator's REST rules (in-process, no webhooks)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from retailconnect.simulators.wms import WmsSimulator

FIX = Path(__file__).parents[3] / "fixtures" / "wms"
AUTH = {"Authorization": "Bearer sim-wms-key"}


@pytest.fixture
def sim() -> WmsSimulator:
    return WmsSimulator({"ship_delay_s": None})


def client(sim: WmsSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://wms.test", headers=AUTH
    )


async def test_idempotent_create_and_reuse_with_other_body(sim: WmsSimulator) -> None:
    body = json.loads((FIX / "fulfillment_request.json").read_text())
    async with client(sim) as c:
        r1 = await c.post(
            "/v1/fulfillment-requests", json=body, headers={"Idempotency-Key": body["external_id"]}
        )
        r2 = await c.post(
            "/v1/fulfillment-requests", json=body, headers={"Idempotency-Key": body["external_id"]}
        )
        assert (r1.status_code, r2.status_code) == (201, 200) and r1.json()["id"] == r2.json()["id"]
        other = {**body, "lines": body["lines"][:1]}
        r3 = await c.post("/v1/fulfillment-requests", json=other)
        assert r3.status_code == 422 and r3.json()["code"] == "idempotency_key_reused"
        assert r3.headers["content-type"].startswith("application/problem+json")
        mismatch = await c.post("/v1/fulfillment-requests", json=body, headers={"Idempotency-Key": "other"})
        assert mismatch.status_code == 422
    assert len(sim.fulfillments) == 1


async def test_ship_now_then_cancel_conflicts_and_unknown_is_404(sim: WmsSimulator) -> None:
    body = json.loads((FIX / "fulfillment_request.json").read_text())
    async with client(sim) as c:
        fid = (await c.post("/v1/fulfillment-requests", json=body)).json()["id"]
        shipped = await c.post(f"/_sim/fulfillment-requests/{fid}/ship")
        assert shipped.status_code == 200 and shipped.json()["data"]["tracking_number"].startswith("1Z")
        assert (await c.delete(f"/v1/fulfillment-requests/ext:{body['external_id']}")).status_code == 409
        assert (await c.delete("/v1/fulfillment-requests/ext:nope")).status_code == 404
        assert (await c.get(f"/v1/fulfillment-requests/{fid}")).json()["status"] == "shipped"


async def test_wrong_key_and_fault_injection(sim: WmsSimulator) -> None:
    body = json.loads((FIX / "fulfillment_request.json").read_text())
    async with client(sim) as c:
        bad = await c.post("/v1/fulfillment-requests", json=body, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        await c.post("/_sim/faults", json={"error_rate": 1.0, "error_status": 503})
        assert (await c.post("/v1/fulfillment-requests", json=body)).status_code == 503
        await c.delete("/_sim/faults")
        assert (await c.post("/v1/fulfillment-requests", json=body)).status_code == 201


async def test_inspection_uses_the_outcome_table_and_overrides(sim: WmsSimulator) -> None:
    sim.settings["return_outcomes"] = {
        "MUG-WHITE": {"condition": "defective", "disposition": "return_to_vendor"}
    }
    ret = {"external_id": "r1", "order_number": "#1", "lines": [{"sku": "MUG-WHITE", "quantity": 1},
                                                                 {"sku": "TEE", "quantity": 2}]}  # fmt: skip
    async with client(sim) as c:
        rid = (await c.post("/v1/returns", json=ret)).json()["id"]
        ev = (
            await c.post(
                f"/_sim/returns/{rid}/inspect", json={"lines": [{"sku": "TEE", "condition": "opened"}]}
            )
        ).json()
        assert [(ln["sku"], ln["condition"], ln["disposition"]) for ln in ev["data"]["lines"]] == [
            ("MUG-WHITE", "defective", "return_to_vendor"),
            ("TEE", "opened", "restock"),
        ]
        assert (await c.post(f"/_sim/returns/{rid}/inspect")).status_code == 409
