"""NATS: two consumer processes share one group and keep per-key order between them (partitions
leased in a JetStream KV bucket); when one is killed (-9) the survivor takes over its partitions,
redelivers what the dead one had in hand from the ack floor, and finishes, keys still in order.

The machine's NATS server (skipped when it is down, unless RETAILCONNECT_REQUIRE_SERVICES=1); a unique
stream prefix per run. Each handled event is recorded as ``(key, seq, consumer)`` in a SQLite file
shared by the processes, in the order the handlers ran."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retailconnect.bus.backends.nats import NatsBus
from retailconnect.canonical.event import CloudEvent, make_event

GROUP = "shared"
PARTS = 16
KEYS = 50
LEASE = 1.5

CONSUMER = r"""
import asyncio, sqlite3, sys
from retailconnect.bus.backends.nats import NatsBus

async def main(url, prefix, db, name, lease):
    bus = NatsBus(url, prefix=prefix, partitions=16, lease_seconds=float(lease))
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")

    async def handler(e):
        await asyncio.sleep(0.004)
        conn.execute("INSERT INTO handled (k, seq, who) VALUES (?, ?, ?)", (e.subject, e.data["seq"], name))

    sub = bus.subscribe("order.*", "shared", handler, concurrency=64, batch=100)
    await sub.wait_ready()
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(*sys.argv[1:]))
"""


def _rows(db: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db, timeout=30) as c:
        return [(k, int(s), w) for k, s, w in c.execute("SELECT k, seq, who FROM handled ORDER BY id")]


def _spawn(url: str, prefix: str, db: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CONSUMER, url, prefix, str(db), name, str(LEASE)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
    )


async def _owners(bus: NatsBus) -> list[str | None]:
    """The live owner of each of the bus's partitions of GROUP (None: free or expired)."""
    from nats.js.errors import KeyNotFoundError

    out: list[str | None] = []
    for k in range(bus.partitions):
        try:
            e = await bus.kv.get(f"{GROUP}.p.{k}")
        except KeyNotFoundError:
            out.append(None)
            continue
        v = json.loads(e.value or b"{}")
        out.append(v["owner"] if v.get("owner") and v.get("until", 0) >= time.time() else None)
    return out


async def _wait(cond, what: str, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await cond():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def _check_order(rows: list[tuple[str, int, str]], *, duplicates: bool) -> None:
    """Per key, an event is never handled before the ones before it (``seq`` first seen in order);
    with ``duplicates`` False, also each exactly once."""
    seen: dict[str, int] = collections.defaultdict(lambda: -1)
    for k, s, _w in rows:
        if s <= seen[k]:
            assert duplicates, f"key {k}: seq {s} handled again (after {seen[k]})"
            continue
        assert s == seen[k] + 1, f"key {k}: seq {s} handled before seq {seen[k] + 1}"
        seen[k] = s


async def test_two_processes_share_a_group_in_key_order_and_survive_a_kill(
    nats_url: str, unique: str, tmp_path: Path
) -> None:
    prefix = f"rcp{unique}"
    db = tmp_path / "handled.db"
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.execute(
            "CREATE TABLE handled (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT, seq INTEGER, who TEXT)"
        )
    pub = NatsBus(nats_url, prefix=prefix, partitions=PARTS, lease_seconds=LEASE)
    await pub.start()  # stream, dead-letter stream and lease bucket, before the consumers race for them
    procs = {name: _spawn(nats_url, prefix, db, name) for name in ("a", "b")}
    try:
        for p in procs.values():
            assert p.stdout is not None
            assert (await asyncio.to_thread(p.stdout.readline)).strip() == b"ready"

        async def split() -> bool:
            owners = await _owners(pub)
            counts = collections.Counter(owners)
            return None not in counts and len(counts) == 2 and set(counts.values()) == {PARTS // 2}

        await _wait(split, "the two processes did not split the partitions 8/8", 10)

        def batch(lo: int, hi: int) -> list:  # type: ignore[type-arg]
            return [
                make_event("order.accepted", source="tests", subject=f"SO-{k}", data={"seq": s})
                for s in range(lo, hi)
                for k in range(KEYS)
            ]

        # phase 1: both consume, each event once, every key in order
        await pub.publish_many(batch(0, 20))

        async def all_of(n: int) -> bool:
            return len({(k, s) for k, s, _ in await asyncio.to_thread(_rows, db)}) >= n

        await _wait(lambda: all_of(20 * KEYS), "phase 1 not all handled", 15)
        rows = _rows(db)
        assert len(rows) == 20 * KEYS
        _check_order(rows, duplicates=False)
        by = collections.Counter(w for _, _, w in rows)
        assert by["a"] > 0 and by["b"] > 0, f"both processes did work: {by}"
        keys_of = {w: {k for k, _, x in rows if x == w} for w in ("a", "b")}
        assert not keys_of["a"] & keys_of["b"], "a key was handled by both processes"

        # phase 2: kill -9 b while it is working; a takes its partitions over and finishes everything
        await pub.publish_many(batch(20, 40))

        async def b_busy() -> bool:
            return sum(1 for _, s, w in await asyncio.to_thread(_rows, db) if w == "b" and s >= 20) >= 20

        await _wait(b_busy, "b did not start on phase 2", 10)
        procs["b"].send_signal(signal.SIGKILL)
        procs["b"].wait(5)
        killed_at = len(_rows(db))
        await _wait(lambda: all_of(40 * KEYS), "the survivor did not finish", 15)
        rows = _rows(db)
        _check_order(rows, duplicates=True)
        assert {(k, s) for k, s, _ in rows} == {(f"SO-{k}", s) for k in range(KEYS) for s in range(40)}
        after = rows[killed_at:]
        assert {w for _, _, w in after} <= {"a"}, "nothing is handled by the killed process"
        if killed_at < 40 * KEYS:  # b held unfinished work at the kill (a loaded machine can finish first)
            assert {k for k, _, _ in after} & keys_of["b"], "a handled keys b had"
        # either way a takes b's partition leases over once they expire
        owners = await _owners(pub)
        assert len(set(owners)) == 1 and None not in owners, f"a holds every partition: {owners}"
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(5)
        await pub.delete_streams()
        await pub.close()


async def test_a_stream_from_before_partitioning_is_adopted(
    nats_url: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A stream and a group durable made by the unpartitioned backend: the stream is kept and marked
    with its partition count, operators are told about the old events and the old durable, and new
    events flow through the partitioned consumers."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

    prefix = f"rcl{unique}"
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    stream = f"{prefix}_EVENTS".upper()
    bus = NatsBus(nats_url, prefix=prefix, partitions=4)
    try:
        await js.add_stream(StreamConfig(name=stream, subjects=[f"{prefix}.events.>"]))
        await js.publish(f"{prefix}.events.order.accepted", b"{}")
        await js.add_consumer(
            stream,
            ConsumerConfig(
                durable_name="legacy",
                filter_subject=f"{prefix}.events.order.*",
                ack_policy=AckPolicy.EXPLICIT,
            ),
        )
        handled: list[int] = []

        async def h(e: CloudEvent) -> None:
            assert isinstance(e.data, dict)
            handled.append(e.data["n"])

        with caplog.at_level(logging.WARNING, logger="retailconnect.bus.backends.nats"):
            await bus.start()
            sub = bus.subscribe("order.*", "legacy", h)
            await sub.wait_ready()
        text = " ".join(r.getMessage() for r in caplog.records)
        assert "predates key partitioning" in text and "from before key partitioning" in text
        assert "partitions=4" in ((await js.stream_info(stream)).config.description or "")
        await bus.publish_many(
            [make_event("order.accepted", source="t", subject="SO-1", data={"n": n}) for n in range(5)]
        )
        await _wait(lambda: _done(handled, 5), "new events not handled", 10)
        assert handled == list(range(5))
        # a second bus on the stream takes its partition count from there, not from its own setting
        other = NatsBus(nats_url, prefix=prefix, partitions=16)
        await other.start()
        assert other.partitions == 4
        await other.close()
        await sub.stop()
    finally:
        await bus.delete_streams()
        await bus.close()
        await nc.close()


async def _done(items: list[int], n: int) -> bool:
    return len(items) >= n


async def test_a_member_that_stops_hands_its_partitions_over_at_once(nats_url: str, unique: str) -> None:
    """A graceful stop finishes and acks what it read, then releases its leases: the other member
    takes them at its next round (long before they would expire) and nothing is handled twice."""
    prefix = f"rch{unique}"
    a = NatsBus(nats_url, prefix=prefix, partitions=8, lease_seconds=3.0)
    b = NatsBus(nats_url, prefix=prefix, partitions=8, lease_seconds=3.0)  # its own connection
    handled: list[tuple[str, int, str]] = []

    def handler(name: str):  # type: ignore[no-untyped-def]
        async def h(e: CloudEvent) -> None:
            assert isinstance(e.data, dict) and e.subject
            await asyncio.sleep(0.002)
            handled.append((e.subject, e.data["seq"], name))

        return h

    try:
        await a.start()
        sa_ = a.subscribe("order.*", GROUP, handler("a"), concurrency=32)
        sb = b.subscribe("order.*", GROUP, handler("b"), concurrency=32)
        await sa_.wait_ready()
        await sb.wait_ready()

        async def split() -> bool:
            return len({o for o in await _owners(a) if o}) == 2 and None not in await _owners(a)

        await _wait(split, "no 4/4 split", 10)
        events = [
            make_event("order.accepted", source="t", subject=f"SO-{k}", data={"seq": s})
            for s in range(30)
            for k in range(20)
        ]
        await a.publish_many(events)
        await _wait(lambda: _done(handled, 100), "nothing handled", 10)  # type: ignore[arg-type]
        t0 = time.monotonic()
        await sb.stop()
        await _wait(lambda: _done(handled, len(events)), "a did not finish b's partitions", 10)  # type: ignore[arg-type]
        assert time.monotonic() - t0 < 3.0, "taken over by release, not by lease expiry"
        await asyncio.sleep(0.2)
        _check_order(handled, duplicates=False)
        assert len(handled) == len(events)
        assert {w for _, _, w in handled} == {"a", "b"}
        owners = await _owners(a)
        assert len(set(owners)) == 1 and None not in owners
        await sa_.stop()
    finally:
        await a.delete_streams()
        await a.close()
        await b.close()
