"""Gateway benchmark: order capture through the full policy chain vs a bare FastAPI endpoint.

    python benchmarks/gateway.py [--quick] [--json PATH] [--hub bench|real] [--no-idempotency]

Each server runs in its own uvicorn process with the same settings (1 worker, uvloop, httptools, no access
log, startup heap frozen out of the GC; ``RC_NO_GC_FREEZE=1`` to compare); load comes from a separate
process: wrk (Debian
package, 1 thread, 16 connections) for the closed-loop maximum, in alternating bare/chain rounds so both
see the same background load (medians reported), then an open-loop Python generator at a fixed 500
orders/s against the chain, whose latencies count from the scheduled send time (no coordinated omission).

- chain: POST /v1/orders with an API key and a unique Idempotency-Key, ~2 KB canonical Order JSON with a
  new order number each time: correlation id, body limit, key check, idempotency claim + stored answer (2 SQLite writes), scope +
  rate limit (memory), strict validation, capture, audit entry (batched, hash-chained). ``--hub bench``
  captures with one durable SQLite insert per order (inbound archive), group-committed and awaited
  before answering; ``--hub real`` uses runtime.Hub (role "gateway") and its capture_order.
- bare: the same body parsed into the same Order model, nothing else.
Keys: chain.rps, chain.p99_ms, bare.rps, chain_vs_bare, fixed_500.p99_ms (chain at 500 orders/s);
chain/bare.cpu_ms_per_req (server process CPU per answered request, threads included, least disturbed
round) and cpu_ratio = bare/chain CPU per request (the rps ratio both would reach CPU-bound on a machine
of their own: on a shared machine rps moves with the neighbours' load, CPU per request much less), and
the load average at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def order_body() -> dict[str, Any]:
    def m(a: str) -> dict[str, str]:
        return {"amount": a, "currency": "USD"}

    address = {
        "first_name": "Ann", "last_name": "Example", "line1": "1 Market Street", "line2": "Suite 400",
        "city": "San Francisco", "region_code": "CA", "postal_code": "94105", "country_code": "US",
        "phone": "+1 415 555 0100",
    }  # fmt: skip
    lines = [
        {
            "id": f"L{i}",
            "sku": f"SKU-{i:04d}",
            "title": f"Organic cotton tee, size M, colour {i}",
            "quantity": 2,
            "unit_price": m("12.50"),
            "discount_total": m("0.00"),
            "tax_total": m("0.00"),
            "line_total": m("25.00"),
            "external_refs": {"shopify": f"{1000 + i}"},
        }
        for i in range(4)
    ]
    return {
        "number": "B-1001", "channel": "web", "currency": "USD", "placed_at": "2026-11-28T10:00:00Z",
        "customer": {"email": "ann@example.com", "first_name": "Ann", "last_name": "Example"},
        "billing_address": address, "shipping_address": address, "lines": lines,
        "shipping_lines": [{"code": "std", "title": "Standard", "price": m("5.00"), "discount_total": m("0.00"),
                            "tax_total": m("0.00")}],
        "totals": {"subtotal": m("100.00"), "discount_total": m("0.00"), "shipping_total": m("5.00"),
                   "tax_total": m("0.00"), "grand_total": m("105.00")},
        "tags": ["bench", "web"], "note": "Leave at the front desk, please.",
    }  # fmt: skip


# -- servers (run in their own process) ------------------------------------------------------------
# identical for chain and bare: one process, uvloop + httptools (uvicorn[standard]), no access log
UVICORN: dict[str, Any] = {
    "host": "127.0.0.1", "workers": 1, "loop": "uvloop", "http": "httptools", "log_level": "warning",
    "access_log": False,
}  # fmt: skip


def _runtime_tuning() -> None:
    """The same process settings for both servers: the startup heap (imports, app, schemas) frozen out
    of the cyclic GC (``gc.freeze``, as Python servers do after startup), so that a full collection
    does not walk it again and again; ``RC_NO_GC_FREEZE=1`` measures without."""
    import gc

    if os.environ.get("RC_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["RC_SWITCH_INTERVAL"]))
    if os.environ.get("RC_NO_GC_FREEZE") != "1":
        gc.collect()
        gc.freeze()


def serve(kind: str, port: int, db: str, hub_kind: str) -> None:
    import uvicorn

    if kind == "bare":
        from fastapi import FastAPI

        from retailconnect.canonical import Order

        globals()["Order"] = Order  # the handler's annotation is a string (future annotations)
        app = FastAPI()

        @app.post("/v1/orders", status_code=202)
        async def capture(order: Order) -> dict[str, Any]:
            return {"status": "accepted", "id": str(order.id)}

        _runtime_tuning()
        uvicorn.run(app, port=port, **UVICORN)
        return
    if hub_kind == "real":
        asyncio.run(_serve_real(port, db))
        return
    app = _chain_app(db)
    _runtime_tuning()
    uvicorn.run(app, port=port, **UVICORN)


async def _serve_real(port: int, db: str) -> None:
    """The chain over runtime.Hub (role "gateway": capture writes, workers run the flows elsewhere)."""
    import uvicorn

    from retailconnect.config import Topology
    from retailconnect.gateway import GatewaySettings, RateLimitSettings, create_app
    from retailconnect.runtime import Hub

    hub = await Hub.start(Topology.model_validate({"engines": {"store_url": db}}), role="gateway")
    settings = GatewaySettings(rate_limits=RateLimitSettings(default="1000000/minute"))
    app = create_app(hub, settings=settings)  # type: ignore[arg-type]
    _runtime_tuning()
    server = uvicorn.Server(uvicorn.Config(app, port=port, **UVICORN))
    try:
        await server.serve()
    finally:
        await hub.stop()


def _chain_app(db: str) -> Any:
    from dataclasses import dataclass
    from datetime import UTC, datetime
    from uuid import UUID

    from retailconnect.gateway import GatewaySettings, RateLimitSettings, create_app
    from retailconnect.gateway.batching import GroupCommitter
    from retailconnect.store import AuditLog, Bindings, PayloadArchive, Store
    from retailconnect.store.tables import inbound_archive

    settings = GatewaySettings(rate_limits=RateLimitSettings(default="1000000/minute"))

    @dataclass
    class Capture:
        status: str
        order_id: UUID | None
        workflow_id: str
        reasons: list[str]

    class BenchHub:
        topology = None

        def __init__(self, store: Store) -> None:
            self.store = store
            self.archive = PayloadArchive(store)
            self.audit = AuditLog(store)
            self.bindings = Bindings(store)
            self.committer = GroupCommitter.shared(store)  # the gateway's writer: one transaction stream

        @staticmethod
        def _insert_rows(conn: Any, rows: Any) -> list[None]:
            conn.execute(inbound_archive.insert(), list(rows))
            return [None] * len(rows)

        async def capture_order(self, order: Any, *, tenant: str, correlation_id: str | None = None,
                                source: str = "api") -> Capture:  # fmt: skip
            """One durable insert per order, group-committed: awaited before the 202 goes out."""
            row = {
                "received_at": datetime.now(UTC), "system": "api", "topic": "order", "delivery_id": str(order.id),
                "tenant": tenant, "correlation_id": correlation_id, "headers": {},
                "body": order.model_dump_json().encode(), "status": "received",
            }  # fmt: skip
            await self.committer.run_bulk(self._insert_rows, row)
            return Capture("accepted", order.id, f"order:{tenant}:{order.channel}:{order.number}", [])

    return create_app(BenchHub(Store.open(db)), settings=settings, start_background=False)


# -- load ------------------------------------------------------------------------------------------
LUA = """
counter = 0
request = function()
  counter = counter + 1
  local h = {}
  h["Content-Type"] = "application/json"
  h["X-API-Key"] = "%(key)s"
  %(idem)s
  -- a new order number per request (same length), so a real hub captures each one instead of
  -- answering duplicate; the same for chain and bare
  local b = body:gsub("B%%-1001", string.format("B-%%s%%09d", "%(run)s", counter))
  return wrk.format("POST", "/v1/orders", h, b)
end
body = [[%(body)s]]
"""


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and all its threads (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    url: str, key: str, body: str, seconds: int, conns: int, idem: bool, pid: int | None = None
) -> dict[str, float]:
    run = uuid.uuid4().hex  # keys must differ between runs (wrk's Lua random sequence repeats)
    idem_line = f'h["Idempotency-Key"] = "{run}-" .. counter' if idem else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % {"key": key, "body": body, "idem": idem_line, "run": run[:8]})
        script = f.name
    cpu0 = cpu_seconds(pid) if pid else None
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", script, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cpu1 = cpu_seconds(pid) if pid else None
    os.unlink(script)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    requests = int(total.group(1)) if total else 0
    got = {"rps": round(rps, 1), "p50_ms": ms("50"), "p99_ms": ms("99"),
           "non_2xx": int(non2xx.group(1)) if non2xx else 0, "requests": requests}  # fmt: skip
    if cpu0 is not None and cpu1 is not None and requests:
        # server CPU per answered request: on a shared machine this moves far less than rps does
        got["cpu_ms_per_req"] = round((cpu1 - cpu0) * 1000 / requests, 3)
    return got


async def fixed_rate(port: int, key: str, body: bytes, rate: float, seconds: float) -> dict[str, float]:
    """Open loop: request i is due at t0 + i/rate; latency = answer time - due time."""
    n = int(rate * seconds)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    lat: list[float] = []
    errors = 0
    tag = uuid.uuid4().hex[:8]

    async def one(i: int, due: float) -> None:
        nonlocal errors
        r, w = await pool.get()
        one_body = body.replace(b'"B-1001"', f'"B-{tag}{i:09d}"'.encode())  # a new order each time
        req = (
            f"POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-Key: {key}\r\n"
            f"Idempotency-Key: fx-{i}-{due}\r\nContent-Length: {len(one_body)}\r\n\r\n"
        ).encode() + one_body
        w.write(req)
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        await r.readexactly(length)
        lat.append(time.perf_counter() - due)
        if not head.startswith(b"HTTP/1.1 2"):
            errors += 1
        pool.put_nowait((r, w))

    t0 = time.perf_counter() + 0.2
    tasks = []
    for i in range(n):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    lat.sort()
    return {
        "rate": rate, "requests": n, "errors": errors,
        "p50_ms": round(lat[len(lat) // 2] * 1000, 2), "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2),
        "max_ms": round(lat[-1] * 1000, 2),
    }  # fmt: skip


def _median_run(runs: list[dict[str, float]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["rps"])
    mid = dict(ordered[len(ordered) // 2])
    mid["rps_all"] = [r["rps"] for r in runs]
    mid["p99_ms_all"] = [r["p99_ms"] for r in runs]
    cpu = [r["cpu_ms_per_req"] for r in runs if "cpu_ms_per_req" in r]
    if cpu:
        mid["cpu_ms_per_req"] = min(cpu)  # the least disturbed round
        mid["cpu_ms_per_req_all"] = cpu
    return mid


def start_server(kind: str, port: int, db: str, hub_kind: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [PY, __file__, "--serve", kind, "--port", str(port), "--db", db, "--hub", hub_kind]
    )
    import httpx

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main(args: argparse.Namespace) -> dict[str, Any]:
    from retailconnect.gateway import ConsumerStore
    from retailconnect.simulators._kit import free_port
    from retailconnect.store import Store

    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    seconds = 4 if args.quick else 8
    tmp = tempfile.mkdtemp(prefix="rc-gw-bench-")
    db = f"sqlite:///{tmp}/rc.db"
    store = Store.open(db)
    key = ConsumerStore(store).add("bench", tenant="default", scopes=["orders:write"])
    store.close()
    body = json.dumps(order_body())
    results: dict[str, Any] = {"body_bytes": len(body), "seconds": seconds, "hub": args.hub,
                               "idempotency_key": not args.no_idempotency}  # fmt: skip
    idem = not args.no_idempotency
    rounds = 3 if args.quick else 5
    try:
        bare_port, chain_port = free_port(), free_port()
        bare = start_server("bare", bare_port, db, args.hub)
        chain = start_server("chain", chain_port, db, args.hub)
        try:
            bare_url, chain_url = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{chain_port}"
            run_wrk(bare_url, key, body, 2, 16, False)  # warm up
            warm = run_wrk(chain_url, key, body, 2, 16, idem)
            # alternate short rounds so both see the same background load on a shared machine
            bare_runs, chain_runs = [], []
            for _ in range(rounds):
                bare_runs.append(run_wrk(bare_url, key, body, seconds, 16, False, bare.pid))
                chain_runs.append(run_wrk(chain_url, key, body, seconds, 16, idem, chain.pid))
            results["bare"] = _median_run(bare_runs)
            results["chain"] = _median_run(chain_runs)
            results["rounds"] = rounds
            for rate in sorted({500.0, *args.rate}):
                results[f"fixed_{rate:g}"] = asyncio.run(
                    fixed_rate(chain_port, key, body.encode(), rate, seconds * 2)
                )
        finally:
            stop(chain)
            stop(bare)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if args.hub == "bench":
        import sqlalchemy as sa

        store = Store.open(db)
        with store.connect() as c:
            rows = c.execute(sa.text("SELECT count(*) FROM inbound_archive")).scalar()
        store.close()
        fixed = sum(v["requests"] for k, v in results.items() if k.startswith("fixed_"))
        sent = warm["requests"] + sum(r["requests"] for r in chain_runs) + fixed
        # every answered request wrote one durable row (no idempotent replays were measured)
        results["chain"]["durable_rows_per_request"] = round(rows / max(1, sent), 3)
    shutil.rmtree(tmp, ignore_errors=True)
    results["chain_vs_bare"] = round(results["chain"]["rps"] / results["bare"]["rps"], 3)
    if "cpu_ms_per_req" in results["chain"] and "cpu_ms_per_req" in results["bare"]:
        # what chain_vs_bare would be with both servers CPU-bound on a machine of their own
        results["cpu_ratio"] = round(
            results["bare"]["cpu_ms_per_req"] / results["chain"]["cpu_ms_per_req"], 3
        )
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds of 4 s instead of 5 rounds of 8 s")
    ap.add_argument("--json", dest="json_path", help="write the figures as JSON to this path")
    ap.add_argument("--hub", choices=["bench", "real"], default="bench")
    ap.add_argument("--rate", type=float, action="append", default=[], help="extra fixed rates (orders/s)")
    ap.add_argument("--no-idempotency", action="store_true", help="send no Idempotency-Key")
    ap.add_argument("--serve", choices=["chain", "bare"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(a.serve, a.port, a.db, a.hub)
        sys.exit(0)
    out = main(a)
    print(json.dumps(out, indent=2))
    if a.json_path:
        Path(a.json_path).write_text(json.dumps(out, indent=2) + "\n")
