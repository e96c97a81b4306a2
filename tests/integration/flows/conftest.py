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


class SimProcess:
    """The NetSuite simulator in its own process, for tests that read request *timing* from its log: in
    this process it would share the GIL with the hub, and a request that arrived on time but was handled
    late (the hub holding the interpreter) would count in the wrong second."""

    def __init__(self, *settings: str) -> None:
        import shutil
        import subprocess
        import time

        import httpx

        from retailconnect.simulators._kit import free_port

        port = free_port()
        cli = str(Path(sys.executable).with_name("retailconnect"))
        cmd = [cli, "sim", "netsuite", "--port", str(port)]
        for kv in settings:
            cmd += ["--set", kv]
        if shutil.which("nice"):  # the measuring instrument goes first where the OS allows it
            cmd = ["nice", "-n", "-10", *cmd]  # (refused: nice warns and runs it at normal priority)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(self.url + "/_sim/requests", timeout=1)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def ns_process() -> Iterator[SimProcess]:
    sim = SimProcess("concurrency_limit=10")
    try:
        yield sim
    finally:
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
