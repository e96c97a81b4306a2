"""Event-bus benchmark: publish-to-consume throughput and end-to-end latency per backend, with raw
nats-py JetStream publish+consume as the ceiling.

    python benchmarks/bus.py [--quick] [--json PATH] [--backends sqlite,postgres,nats]

100k events of ~1 KB (20k with --quick) are published in batches of 1,000 while one subscription
(no-op handler, one key per 100 events) consumes them; eps = events / (first publish -> last ack);
latency = publish -> ack per event. A second SQLite run paces publishing at 2,000 events/s and reports
its p99 (the interactive-load target). Needs PostgreSQL and NATS as in tests/conftest.py.

Checked, not assumed: the handler counts per-key order violations (``out_of_order``, must be 0); after
the SQLite run a fresh connection counts the events in the file (``rows_in_file``) and those past the
group's committed cursors (``unacked_in_file``, must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from retailconnect.bus import open_bus
from retailconnect.bus.api import EventBus
from retailconnect.canonical.event import CloudEvent, make_event
from retailconnect.store import Store

PG_URL = os.environ.get("RETAILCONNECT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("RETAILCONNECT_TEST_NATS_URL", "nats://127.0.0.1:4222")
PAYLOAD = "x" * 900  # + envelope fields ~ 1 KB per event


def make_events(n: int) -> list[CloudEvent]:
    return [
        make_event(
            "inventory.movement", source="bench", subject=f"SKU-{i // 100}", data={"n": i, "pad": PAYLOAD}
        )
        for i in range(n)
    ]


async def run_bus(bus: EventBus, n: int, *, rate: float | None = None, chunk: int = 1000) -> dict[str, float]:
    events = make_events(n)
    done = asyncio.Event()
    count = 0
    last: dict[str | None, int] = {}
    out_of_order = 0

    async def handler(e: CloudEvent) -> None:
        nonlocal count, out_of_order
        count += 1
        k = e.data["n"]  # type: ignore[index]
        if last.get(e.subject, -1) > k:
            out_of_order += 1
        last[e.subject] = k
        if count >= n:
            done.set()

    await bus.start()
    sub = bus.subscribe("inventory.>", f"bench{uuid.uuid4().hex[:6]}", handler, batch=1000, concurrency=32)
    await asyncio.sleep(0.3)
    bus.latency.reset()
    t0 = time.perf_counter()
    if rate is None:
        for i in range(0, n, chunk):
            await bus.publish_many(events[i : i + chunk])
    else:
        step = 20
        interval = step / rate
        nxt = time.perf_counter()
        for i in range(0, n, step):
            await bus.publish_many(events[i : i + step])
            nxt += interval
            await asyncio.sleep(max(0.0, nxt - time.perf_counter()))
    t_pub = time.perf_counter() - t0
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - t0
    await sub.stop()
    lat = bus.latency.percentiles()
    return {
        "events": n,
        "handled": count,
        "out_of_order": out_of_order,  # per-key order violations seen by the handler (must be 0)
        "eps": round(n / elapsed, 1),
        "publish_eps": round(n / t_pub, 1),
        "p50_ms": lat.get("p50", 0.0),
        "p99_ms": lat.get("p99", 0.0),
    }


async def bench_sqlite(n: int, paced_n: int) -> tuple[dict[str, float], dict[str, float]]:
    with tempfile.TemporaryDirectory() as d:
        store = Store.open(f"sqlite:///{Path(d) / 'bench.db'}")
        bus = open_bus("sqlite", store=store)
        res = await run_bus(bus, n)
        await bus.close()
        store.close()
        # What a fresh connection finds in the file: every event, and the group's cursors past them.
        check = sa.create_engine(f"sqlite:///{Path(d) / 'bench.db'}")
        with check.connect() as c:
            res["rows_in_file"] = c.execute(sa.text("SELECT count(*) FROM bus_events")).scalar_one()
            res["unacked_in_file"] = c.execute(
                sa.text(
                    "SELECT count(*) FROM bus_events e JOIN bus_cursors c ON c.part = e.part "
                    'WHERE e."offset" > c."offset"'
                )
            ).scalar_one()
        check.dispose()
    with tempfile.TemporaryDirectory() as d:
        store = Store.open(f"sqlite:///{Path(d) / 'bench.db'}")
        bus = open_bus("sqlite", store=store)
        paced = await run_bus(bus, paced_n, rate=2000)
        await bus.close()
        store.close()
    return res, paced


async def bench_postgres(n: int) -> dict[str, float]:
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        store = Store.open(f"{base}?options=-csearch_path%3D{schema}")
        bus = open_bus("postgres", store=store)
        res = await run_bus(bus, n)
        await bus.close()
        store.close()
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return res


async def bench_nats(n: int) -> dict[str, float]:
    bus = open_bus("nats", url=NATS_URL, prefix=f"bench{uuid.uuid4().hex[:6]}")
    try:
        return await run_bus(bus, n)
    finally:
        await bus.delete_streams()  # type: ignore[attr-defined]
        await bus.close()


async def bench_raw_nats(n: int) -> dict[str, float]:
    """The ceiling: nats-py JetStream, 1,000 publishes in flight, pull consume in batches of 500 with
    async acks, consuming while publishing."""
    import nats
    from nats.errors import TimeoutError as NatsTimeout

    nc = await nats.connect(NATS_URL)
    js = nc.jetstream(publish_async_max_pending=2000)
    name = f"RAW{uuid.uuid4().hex[:6].upper()}"
    subj = f"raw.{name.lower()}"
    await js.add_stream(name=name, subjects=[f"{subj}.>"])
    bodies = [json.dumps(e.to_json_dict()).encode() for e in make_events(n)]
    lat: list[float] = []
    got = 0
    try:
        psub = await js.pull_subscribe(f"{subj}.>", durable="raw", stream=name)

        async def consume() -> None:
            nonlocal got
            while got < n:
                try:
                    msgs = await psub.fetch(500, timeout=1)
                except (NatsTimeout, TimeoutError):
                    continue
                now = time.time()
                for m in msgs:
                    await m.ack()
                    lat.append(now - m.metadata.timestamp.timestamp())
                got += len(msgs)

        t0 = time.perf_counter()
        cons = asyncio.create_task(consume())
        for i in range(0, n, 1000):
            futs = [
                await js.publish_async(
                    f"{subj}.inventory.movement", b, headers={"Nats-Msg-Id": f"{name}-{i + j}"}
                )
                for j, b in enumerate(bodies[i : i + 1000])
            ]
            await asyncio.gather(*futs)
        await asyncio.wait_for(cons, 600)
        elapsed = time.perf_counter() - t0
    finally:
        await js.delete_stream(name)
        await nc.close()
    lat.sort()
    return {
        "events": n,
        "eps": round(n / elapsed, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 3),
        "p99_ms": round(lat[int(0.99 * (len(lat) - 1))] * 1000, 3),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    n = 20_000 if args.quick else 100_000
    paced_n = 6_000 if args.quick else 20_000
    backends = args.backends.split(",")
    out: dict[str, Any] = {"events": n, "event_bytes": len(json.dumps(make_events(1)[0].to_json_dict()))}
    if "sqlite" in backends:
        out["sqlite"], out["sqlite_2000eps"] = await bench_sqlite(n, paced_n)
    if "postgres" in backends:
        out["postgres"] = await bench_postgres(n)
    if "nats" in backends:
        out["nats"] = await bench_nats(n)
        out["raw_nats"] = await bench_raw_nats(n)
        out["nats_vs_raw"] = round(out["nats"]["eps"] / out["raw_nats"]["eps"], 3)
    return out


def flat(res: dict[str, Any]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for name in ("sqlite", "postgres", "nats", "raw_nats", "sqlite_2000eps"):
        if name in res:
            keys[f"{name}.eps"] = res[name]["eps"]
            keys[f"{name}.p50_ms"] = res[name]["p50_ms"]
            keys[f"{name}.p99_ms"] = res[name]["p99_ms"]
    if "nats_vs_raw" in res:
        keys["nats_vs_raw"] = res["nats_vs_raw"]
    return keys


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20k events instead of 100k")
    ap.add_argument("--json", dest="json_path", help="write the figures as JSON to this path")
    ap.add_argument("--backends", default="sqlite,postgres,nats")
    args = ap.parse_args()
    res = asyncio.run(main(args))
    table = Table(title=f"event bus: {res['events']:,} events of ~{res['event_bytes']} bytes")
    table.add_column("run")
    for col in ("events/s", "publish/s", "p50 ms", "p99 ms"):
        table.add_column(col, justify="right")
    for name in ("sqlite", "sqlite_2000eps", "postgres", "nats", "raw_nats"):
        if name in res:
            r = res[name]
            table.add_row(
                name if name != "sqlite_2000eps" else "sqlite paced 2,000/s",
                f"{r['eps']:,.0f}",
                f"{r.get('publish_eps', 0):,.0f}" if "publish_eps" in r else "-",
                f"{r['p50_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
            )
    console = Console()
    console.print(table)
    if "nats_vs_raw" in res:
        console.print(f"nats_vs_raw = {res['nats_vs_raw']:.2f}")
    doc = {**flat(res), "detail": res}
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(doc, indent=2) + "\n")
    sys.exit(0)


if __name__ == "__main__":
    cli()
