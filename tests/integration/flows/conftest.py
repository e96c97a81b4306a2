from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _harness import sim_post, topology

from retailconnect.runtime import Hub
from retailconnect.simulators.netsuite import NetSuiteSimulator
from retailconnect.simulators.wms import WmsSimulator


@pytest.fixture
def ns() -> Iterator[NetSuiteSimulator]:
    sim = NetSuiteSimulator({"concurrency_limit": 10})
    sim.start()
    sim_post(sim.url, "/_sim/items", [{"sku": s, "price": "10.00"} for s in ("SKU-1", "SKU-2", "SKU-3")])
    sim_post(sim.url, "/_sim/customers", [{"email": f"c{i}@example.com"} for i in range(1, 6)])
    yield sim
    sim.stop()


@pytest.fixture
def wms() -> Iterator[WmsSimulator]:
    sim = WmsSimulator({"ship_delay_s": 3600})
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
async def make_hub(tmp_path: Path) -> AsyncIterator[Any]:
    """Start a hub (fresh SQLite store and DBOS file) against the given simulators; stopped afterwards."""
    hubs: list[Hub] = []

    async def _make(ns_url: str, wms_url: str | None = None, **kw: Any) -> Hub:
        topo = topology(f"sqlite:///{tmp_path / 'rc.db'}", netsuite_url=ns_url, wms_url=wms_url, **kw)
        hub = await Hub.start(topo, executor_id="test-worker")
        hubs.append(hub)
        return hub

    yield _make
    for h in hubs:
        await h.stop()
