"""kill -9 a worker in the middle of order_to_cash: after a restart (SQLite), or with a second worker
taking over (PostgreSQL), every order is in the ERP exactly once (read from the NetSuite simulator)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "flows"))

from _harness import make_order, ns_eid, sales_orders, sim_post

from retailconnect.config import Topology
from retailconnect.runtime import Hub
from retailconnect.simulators.netsuite import NetSuiteSimulator

ROOT = Path(__file__).parents[2]


def _topology_dict(store_url: str, dbos_url: str | None, ns_url: str, bus: str) -> dict[str, Any]:
    return {
        "tenants": {"acme": {"name": "ACME"}},
        "systems": {
            "netsuite": {
                "kind": "netsuite",
                "mode": "simulator",
                "account_id": "1234567",
                "base_url": ns_url,
            },
        },
        "policies": {
            "erp": {"netsuite": {"concurrency": 4, "rps": 40, "circuit": {"failure_threshold": 50}}}
        },
        "engines": {"store_url": store_url, "dbos_url": dbos_url, "bus": {"backend": bus}},
    }


def _worker(cfg: Path, executor_id: str, log: Path, dead_after: float = 3.0) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "retailconnect.runtime",
            "--config",
            str(cfg),
            "--executor-id",
            executor_id,
            "--dead-after",
            str(dead_after),
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=str(ROOT),
    )


async def _until(pred: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s")
        await asyncio.sleep(0.1)


async def _until_async(pred: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s")
        await asyncio.sleep(0.1)


async def _finished_elsewhere(hub: Hub, wf: str, victim_id: str, takeover: bool) -> bool:
    info = await hub.services.engine.status(wf)
    if info is None or info.status != "SUCCESS":
        return False
    return not takeover or info.executor_id != victim_id


async def _run_scenario(
    tmp_path: Path, store_url: str, dbos_url: str | None, bus: str, workers: list[str], n: int
) -> None:
    ns = NetSuiteSimulator({"concurrency_limit": 10})
    ns.start()
    procs: list[subprocess.Popen[bytes]] = []
    hub = None
    try:
        sim_post(ns.url, "/_sim/items", [{"sku": "SKU-1", "price": "10.00"}])
        sim_post(ns.url, "/_sim/customers", [{"email": "c1@example.com"}])
        # a slow ERP: each workflow holds its worker for seconds in the ERP call, so the kill below finds
        # the victim holding workflows (checked, not hoped for)
        sim_post(ns.url, "/_sim/faults", {"latency_ms": 5000})
        topo_d = _topology_dict(store_url, dbos_url, ns.url, bus)
        cfg = tmp_path / "topology.yaml"
        cfg.write_text(yaml.safe_dump(topo_d))
        # the gateway side: enqueues the orders, runs none of them
        hub = await Hub.start(Topology.model_validate(topo_d), role="gateway", executor_id="gateway")
        log = tmp_path / "workers.log"
        # the victim starts alone, so it is the one that takes the orders (a queue runs several workflows
        # per ERP slot: a worker started first could otherwise take them all and leave the victim none)
        procs = [_worker(cfg, workers[0], log)]
        ids = []
        for i in range(n):
            res = await hub.capture_order(make_order(7000 + i, email="c1@example.com"), tenant="acme")
            assert res.status == "accepted"
            ids.append(res.workflow_id)
        # kill -9 the first worker once it is running workflows (PENDING under its executor id in DBOS)
        victim_id = workers[0]

        async def held_by_victim() -> list[str]:
            running = await hub.services.engine.workflows(status="PENDING", prefix="order:", limit=None)
            return [w.workflow_id for w in running if w.executor_id == victim_id]

        deadline = time.monotonic() + 60
        while not await held_by_victim():
            assert time.monotonic() < deadline, "the victim never ran a workflow"
            await asyncio.sleep(0.05)
        if len(workers) > 1:  # now the survivor: both run when the victim dies
            procs.append(_worker(cfg, workers[1], log))
            await _until(lambda: f"worker {workers[1]} running" in log.read_text(), 60)
        victim = procs[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        # what the dead worker held at the kill: still PENDING under its id, nobody has recovered it yet
        held = await held_by_victim()
        assert held, "the victim held no workflow at the kill: the test would prove nothing"
        assert len(sales_orders(ns.url)) < n
        if len(workers) == 1:
            procs.append(_worker(cfg, workers[0], log))  # restart under the same executor id
        sim_post(ns.url, "/_sim/faults", {"latency_ms": 0})
        await _until(lambda: len(sales_orders(ns.url)) == n, 90)
        await asyncio.sleep(1.5)  # anything still replaying would show up as a second record now
        sos = sales_orders(ns.url)
        assert sorted(so["externalId"] for so in sos) == sorted(ns_eid(w) for w in ids)
        assert all(so["created_count"] == 1 for so in sos), sos
        if len(workers) > 1:
            # the survivor took over what the victim held (the restart case recovers its own at launch)
            assert f"recovered workflows of dead executors ['{victim_id}']" in log.read_text()
        for wf in held:  # every workflow the victim held finished, run by a live worker
            await _until_async(lambda wf=wf: _finished_elsewhere(hub, wf, victim_id, len(workers) > 1), 60)
        for wf in ids:
            info = await hub.services.engine.status(wf)
            assert info is not None and info.status in ("SUCCESS", "PENDING", "ENQUEUED"), info
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        if hub is not None:
            await hub.stop()
        ns.stop()


async def test_kill9_worker_then_restart_sqlite(tmp_path: Path) -> None:
    await _run_scenario(tmp_path, f"sqlite:///{tmp_path / 'rc.db'}", None, "sqlite", ["worker-1"], n=8)


@pytest.fixture
def pg_database(pg_url: str):
    import sqlalchemy as sa

    name = f"rc_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        pg_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = pg_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(
                sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            )
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


async def test_two_workers_postgres_one_killed(tmp_path: Path, pg_database: str) -> None:
    await _run_scenario(tmp_path, pg_database, pg_database, "postgres", ["worker-a", "worker-b"], n=12)
