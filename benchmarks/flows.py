"""Durable flows benchmark: order_to_cash throughput and an ERP-protecting burst.

    python benchmarks/flows.py [--quick] [--json PATH]

- ``sqlite.flows_per_s`` / ``postgres.flows_per_s``: order_to_cash workflows completed per second (capture
  -> customer -> tax -> reservation -> sales order posted -> binding -> order.accepted), one worker, against
  the NetSuite simulator with no added latency and a generous ERP limit.
- ``burst``: 5,000 orders (1,000 with --quick) captured at once against an ERP limited to 50 requests/s.
  ``max_erp_rps`` is the highest request count the simulator saw in any 1 s window; ``theoretical_drain_s``
  is the ERP requests the burst made divided by the limit (one per order: the sales-order PUT by external
  id, customers and items coming from the warmed cache; ``requests_per_order`` and ``theoretical_basis``
  say it for each run); ``lost`` orders never posted, ``duplicates`` sales orders created more than once.
  The hub uses the product's default headroom (90 % of the limit), so drain can be at best 1.11x.
  Targets: max_erp_rps <= erp_limit_rps, lost = duplicates = 0, drain within 15 %.
- ``hub_cpu_ms_per_order``: the hub process's CPU time over the measured part, per order;
  ``hub_cpu_share``: that CPU time over the wall time (1.0 = one core busy: the run was CPU-bound).
- ``burst_pg<N>`` (``--only burst_pg``, ``--burst-workers N[,M...]``, default 2): the same burst on
  PostgreSQL (a fresh database per run), the benchmark process as the gateway (captures, runs no flow)
  and N ``retailconnect worker --config FILE`` processes sharing the DBOS queues and the account-wide
  governor through the database; N = 0: one process runs everything. Same keys as ``burst`` (the same
  function computes them; lost/duplicates read from the simulator), plus ``worker_cpu_share`` (per
  worker), ``flows_cpu_ms_per_order``, ``workflows_in_error``/``workflow_errors`` and DBOS's own
  ``workflow_run_s_avg``/``_p90`` (dequeued -> done): the ERP queue runs ``queue_concurrency`` workflows
  at once across all workers, so drain can be no faster than that many / workflow run time.
  ``--burst-pg-concurrency`` sets the ERP policy's concurrency (20 as in ``burst``).

The simulator runs in its own process, at raised priority where permitted (its clock measures the rate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "integration" / "flows"))

from _harness import make_order, topology  # noqa: E402

from retailconnect.runtime import Hub  # noqa: E402

PG_URL = os.environ.get("RETAILCONNECT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _post(url: str, path: str, body: Any) -> None:
    httpx.post(url + path, json=body, timeout=30).raise_for_status()


_HTTP = httpx.Client(timeout=60)


def _sales_orders(url: str) -> list[dict[str, Any]]:
    return _HTTP.get(url + "/_sim/state/sales_orders").json()


async def _capture_all(hub: Hub, n: int, start: int, customers: int, parallel: int = 32) -> list[str]:
    sem = asyncio.Semaphore(parallel)

    async def one(i: int) -> str:
        async with sem:
            res = await hub.capture_order(
                make_order(start + i, email=f"c{i % customers}@example.com"), tenant="acme"
            )
            return res.workflow_id

    return await asyncio.gather(*[one(i) for i in range(n)])


async def _wait_posted(ns_url: str, n: int, timeout: float, stall_s: float | None = None) -> float:
    # polled from a thread: the hub's event loop (where the ERP client lives) must not block on it;
    # with stall_s, gives up once no order has been posted for that long (failed workflows never post)
    t0 = last_t = time.monotonic()
    last = -1
    while True:
        posted = len(await asyncio.to_thread(_sales_orders, ns_url))
        now = time.monotonic()
        if posted >= n or now - t0 > timeout:
            return now
        if posted != last:
            last, last_t = posted, now
        elif stall_s is not None and now - last_t > stall_s:
            return last_t
        await asyncio.sleep(0.5)


class _SimProcess:
    """The NetSuite simulator in its own process (in-process it would share the GIL with the hub)."""

    def __init__(self, rate_limit: float | None) -> None:
        from retailconnect.simulators._kit import free_port

        port = free_port()
        cli = str(Path(sys.executable).with_name("retailconnect"))
        cmd = [cli, "sim", "netsuite", "--port", str(port), "--set", "concurrency_limit=50"]
        if rate_limit:
            cmd += ["--set", f"rate_limit_rps={int(rate_limit)}"]
        # The simulator's clock is the measuring instrument (max_erp_rps, its 429s): on a small shared
        # machine a starved simulator handles requests that arrived spread out in one late bunch and
        # counts them in the same second. It runs at raised priority when the OS allows it.
        if shutil.which("nice"):  # refused: nice warns and runs it at normal priority
            cmd = ["nice", "-n", "-10", *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(self.url + "/_sim/requests", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def summary(self) -> dict[str, Any]:
        return httpx.get(self.url + "/_sim/requests", timeout=30).json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _sim(rate_limit: float | None) -> _SimProcess:
    sim = _SimProcess(rate_limit)
    _post(sim.url, "/_sim/items", [{"sku": "SKU-1", "price": "10.00"}])
    _post(sim.url, "/_sim/customers", [{"email": f"c{i}@example.com"} for i in range(20)])
    return sim


async def _throughput(store_url: str, dbos_url: str | None, n: int) -> dict[str, Any]:
    sim = _sim(None)
    topo = topology(store_url, netsuite_url=sim.url, rps=100_000, concurrency=50, dbos_url=dbos_url)
    hub = await Hub.start(topo, executor_id="bench")
    try:
        await _capture_all(hub, 20, 900_000, 20)  # warm-up: caches, connections
        await _wait_posted(sim.url, 20, 60)
        t0, cpu0 = time.monotonic(), time.process_time()
        ids = await _capture_all(hub, n, 1, 20)
        done = await _wait_posted(sim.url, n + 20, 600)
        elapsed, cpu = done - t0, time.process_time() - cpu0
        posted = len(_sales_orders(sim.url)) - 20
        return {"orders": n, "posted": posted, "elapsed_s": round(elapsed, 2),
                "flows_per_s": round(posted / elapsed, 1), "workflows": len(set(ids)),
                "hub_cpu_ms_per_order": round(1000 * cpu / max(1, posted), 1)}  # fmt: skip
    finally:
        await hub.stop()
        sim.stop()


def _burst_figures(
    sim: Any, n: int, warm: int, limit: float, before: int, capture_s: float, drain: float, cpu: float
) -> dict[str, Any]:
    """The burst keys both burst variants report, read from the simulator's own log and records: the ERP
    requests counted during the burst set the theoretical drain; lost/duplicates from its sales orders
    (``warm`` orders were posted before the burst)."""
    by_eid: dict[str, int] = {}
    for so in _sales_orders(sim.url):
        by_eid[so["externalId"]] = by_eid.get(so["externalId"], 0) + int(so.get("created_count", 1))
    summary = sim.summary()
    requests = summary["count"] - before
    return {
        "orders": n,
        "erp_limit_rps": limit,
        "max_erp_rps": summary["max_rps"],
        "erp_requests": requests,
        "rejected_by_erp": summary.get("rejected_rate", 0),
        "capture_s": round(capture_s, 2),
        "drain_s": round(drain, 2),
        "requests_per_order": round(requests / n, 3),
        "theoretical_drain_s": round(requests / limit, 2),
        "theoretical_basis": f"{requests} ERP requests counted by the simulator during the burst"
        f" ({requests / n:.2f} per order) / {limit:g} req/s",
        "drain_over_theoretical": round(drain / (requests / limit), 3) if requests else None,
        "hub_cpu_ms_per_order": round(1000 * cpu / n, 1),
        "hub_cpu_share": round(cpu / drain, 2),
        "lost": max(0, n + warm - len(by_eid)),
        "duplicates": sum(1 for c in by_eid.values() if c > 1),
    }


async def _burst(store_url: str, n: int, limit: float) -> dict[str, Any]:
    sim = _sim(limit)
    topo = topology(store_url, netsuite_url=sim.url, rps=limit, headroom=0.9, concurrency=20)
    hub = await Hub.start(topo, executor_id="bench-burst")
    try:
        await _capture_all(hub, 5, 800_000, 20)  # warm caches so the burst measures steady state
        await _wait_posted(sim.url, 5, 60)
        before = sim.summary()["count"]
        t0, cpu0 = time.monotonic(), time.process_time()
        await _capture_all(hub, n, 1, 20)
        capture_s = time.monotonic() - t0
        done = await _wait_posted(sim.url, n + 5, 20 * n / limit + 120)
        drain, cpu = done - t0, time.process_time() - cpu0
        return _burst_figures(sim, n, 5, limit, before, capture_s, drain, cpu)
    finally:
        await hub.stop()
        sim.stop()


def _pg_database() -> tuple[str, Any]:
    import sqlalchemy as sa

    name = f"rc_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(
                sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            )
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return f"{PG_URL.rsplit('/', 1)[0]}/{name}", drop


def _proc_cpu_s(pid: int) -> float:
    """CPU time (user + system) of a live child process, read from /proc (0.0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _spawn_worker(cfg: Path, index: int, log: Path) -> subprocess.Popen[bytes]:
    """``retailconnect worker --config FILE``, as an operator scales the hub (one more process per call)."""
    cli = str(Path(sys.executable).with_name("retailconnect"))
    env = {**os.environ, "RETAILCONNECT_WORKER_INDEX": f"bench-{index}", "COLUMNS": "200"}
    out = log.open("ab")
    return subprocess.Popen([cli, "worker", "--config", str(cfg)], stdout=out, stderr=out, env=env)


def _workflow_seconds(url: str) -> dict[str, float]:
    """From DBOS's own table: how long the burst's order workflows ran (dequeued -> done), and waited."""
    import sqlalchemy as sa

    eng = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with eng.connect() as c:
            row = c.execute(
                sa.text(
                    "SELECT avg(updated_at - started_at_epoch_ms), percentile_cont(0.9) WITHIN GROUP"
                    " (ORDER BY updated_at - started_at_epoch_ms), avg(started_at_epoch_ms - created_at)"
                    " FROM dbos.workflow_status WHERE workflow_uuid LIKE 'order:%'"
                    " AND started_at_epoch_ms IS NOT NULL"
                )
            ).one()
        return {"workflow_run_s_avg": round(float(row[0] or 0) / 1000, 3),
                "workflow_run_s_p90": round(float(row[1] or 0) / 1000, 3),
                "workflow_queued_s_avg": round(float(row[2] or 0) / 1000, 2)}  # fmt: skip
    except Exception as exc:  # an instrument, not the measurement: never fail the run on it
        return {"workflow_timing_error": repr(exc)[:200]}
    finally:
        eng.dispose()


async def _burst_pg(
    n: int, limit: float, workers: int, workdir: Path, concurrency: int = 20
) -> dict[str, Any]:
    """The burst on PostgreSQL. ``workers`` = 0: one process runs everything (role ``all``), as ``burst``
    does on SQLite. ``workers`` >= 1: the benchmark process is the gateway (captures, runs no flow) and
    ``workers`` processes started with ``retailconnect worker --config`` share the DBOS queues and the
    account-wide governor through the database."""
    from retailconnect.cli.demo.harness import write_topology

    url, drop = _pg_database()
    try:
        sim = _sim(limit)
    except BaseException:
        drop()
        raise
    procs: list[subprocess.Popen[bytes]] = []
    hub = None
    result: dict[str, Any] = {}
    try:
        topo = topology(
            url, netsuite_url=sim.url, rps=limit, headroom=0.9, concurrency=concurrency, dbos_url=url
        )
        # a worker process cannot start simulators of its own; the burst never calls the channel (orders
        # are captured directly), so the channel's simulator system is left out, as in the e2e worker tests
        systems = {k: v for k, v in topo.systems.items() if k != "shopify"}
        topo = topo.model_copy(update={"systems": systems})
        if workers:
            cfg = write_topology(topo, workdir / f"burst-pg{workers}.yaml")
            logs = [workdir / f"burst-pg{workers}-w{i}.log" for i in range(workers)]
            procs = [_spawn_worker(cfg, i + 1, logs[i]) for i in range(workers)]
            deadline = time.monotonic() + 120
            banners = [f"worker {p.pid} running" for p in procs]
            while not all(lg.exists() and b in lg.read_text() for lg, b in zip(logs, banners, strict=True)):
                dead = [p.returncode for p in procs if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"workers did not start (exit codes {dead}): {logs[0].read_text()}")
                await asyncio.sleep(0.2)
            hub = await Hub.start(topo, role="gateway", executor_id="bench-gateway")
        else:
            hub = await Hub.start(topo, executor_id="bench-burst-pg")
        warm = 20 * max(1, workers)  # every worker process has its own lookup cache: warm each
        await _capture_all(hub, warm, 800_000, 20)
        await _wait_posted(sim.url, warm, 120)
        before = sim.summary()["count"]
        t0, cpu0 = time.monotonic(), time.process_time()
        wcpu0 = [_proc_cpu_s(p.pid) for p in procs]
        # fewer captures at once than the SQLite burst: every process holds its own PostgreSQL pools and
        # the server's max_connections (100 by default) is shared by the gateway and all the workers
        await _capture_all(hub, n, 1, 20, parallel=8)
        capture_s = time.monotonic() - t0
        done = await _wait_posted(sim.url, n + warm, 20 * n / limit + 120, stall_s=30)
        drain, cpu = done - t0, time.process_time() - cpu0
        failed = await hub.services.engine.workflows(status="ERROR", prefix="order:", limit=None)
        wcpu = [round(_proc_cpu_s(p.pid) - c, 2) for p, c in zip(procs, wcpu0, strict=True)]
        flows_cpu = sum(wcpu) if workers else cpu
        result = {
            # hub_cpu_*: the benchmark process (gateway, or everything when workers = 0)
            **_burst_figures(sim, n, warm, limit, before, capture_s, drain, cpu),
            "worker_processes": workers,
            # the processes running flows: CPU per order, and per worker over the wall time
            "flows_cpu_ms_per_order": round(1000 * flows_cpu / n, 1),
            "worker_cpu_share": [round(c / drain, 2) for c in wcpu],
            "workflows_in_error": len(failed),
            "workflow_errors": sorted({(w.error or "")[-240:] for w in failed})[:3],
            "erp_policy_concurrency": concurrency,
        }
    finally:
        if hub is not None:
            await hub.stop()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        sim.stop()
        if result:  # read once the processes have let their connections go (max_connections)
            result.update(_workflow_seconds(url))
        drop()
    return result


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", dest="json_path")
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument(
        "--only", choices=["sqlite", "postgres", "burst", "burst_pg"], help="run one part (profiling)"
    )
    ap.add_argument(
        "--burst-workers",
        default="2",
        help="worker processes for the burst on PostgreSQL (burst_pg<N>); a comma list runs several"
        " (e.g. 0,1,2; 0 = one process runs everything)",
    )
    ap.add_argument(
        "--burst-pg-concurrency",
        type=int,
        default=20,
        help="the ERP policy's concurrency in the PostgreSQL burst (20, as the SQLite burst)",
    )
    args = ap.parse_args()
    pg_workers = [int(w) for w in args.burst_workers.split(",") if w.strip()]
    n_tp = 200 if args.quick else 1000
    n_burst = 1000 if args.quick else 5000
    out: dict[str, Any] = {"quick": args.quick}
    with tempfile.TemporaryDirectory() as d:
        if args.only in (None, "sqlite"):
            out["sqlite"] = await _throughput(f"sqlite:///{d}/tp.db", None, n_tp)
            print("sqlite", out["sqlite"], flush=True)
        if not args.skip_postgres and args.only in (None, "postgres"):
            url, drop = _pg_database()
            try:
                out["postgres"] = await _throughput(url, url, n_tp)
            finally:
                drop()
            print("postgres", out["postgres"], flush=True)
        if args.only in (None, "burst"):
            out["burst"] = await _burst(f"sqlite:///{d}/burst.db", n_burst, 50.0)
            print("burst", out["burst"], flush=True)
        if not args.skip_postgres and args.only in (None, "burst_pg"):
            for w in pg_workers:
                key = f"burst_pg{w}"
                out[key] = await _burst_pg(n_burst, 50.0, w, Path(d), args.burst_pg_concurrency)
                print(key, out[key], flush=True)
    for key in [k for k in out if k == "burst" or k.startswith("burst_pg")]:
        b = out[key]
        out["targets_met" if key == "burst" else f"targets_met_{key}"] = {
            "max_erp_rps<=limit": b["max_erp_rps"] <= b["erp_limit_rps"],
            "lost==0": b["lost"] == 0,
            "duplicates==0": b["duplicates"] == 0,
            "drain<=1.15x": (b["drain_over_theoretical"] or 99) <= 1.15,
        }
    text = json.dumps(out, indent=2)
    print(text)
    if args.json_path:
        Path(args.json_path).write_text(text + "\n")


if __name__ == "__main__":
    asyncio.run(main())
