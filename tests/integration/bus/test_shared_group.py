"""Two members (separate bus instances, as two processes would be) share one consumer group: the
partitions are split between them by lease, each event is handled by exactly one, keys stay in order."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

from retailconnect.bus import open_bus
from retailconnect.bus.api import PARTITIONS
from retailconnect.bus.tables import cursors
from retailconnect.canonical.event import CloudEvent, make_event
from retailconnect.store import Store


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_two_members_split_a_group(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_schema_url")
    store = Store.open(url)
    a = open_bus(backend, store=store, lease_seconds=2.0)
    b = open_bus(backend, url=url, lease_seconds=2.0)  # its own engine, like another process
    handled: dict[str, list[tuple[str, int]]] = {"a": [], "b": []}

    def handler(name: str):
        async def h(e: CloudEvent) -> None:
            assert isinstance(e.data, dict) and e.subject
            await asyncio.sleep(0.001)
            handled[name].append((e.subject, e.data["n"]))

        return h

    sa_ = a.subscribe("inventory.>", "shared", handler("a"))
    await asyncio.sleep(0.3)
    sb = b.subscribe("inventory.>", "shared", handler("b"))
    # wait for the lease keeper to rebalance: each member ends up with half the partitions
    deadline = time.monotonic() + 20
    while True:
        with store.begin() as c:
            owners = [
                r[0] for r in c.execute(sa.select(cursors.c.owner).where(cursors.c.group_name == "shared"))
            ]
        if len(set(owners)) == 2 and None not in owners and owners.count(owners[0]) == PARTITIONS // 2:
            break
        assert time.monotonic() < deadline, f"no rebalance: {owners}"
        await asyncio.sleep(0.1)

    keys = [f"SKU-{i}" for i in range(40)]
    events = [
        make_event("inventory.movement", source="wms", subject=k, data={"n": n})
        for n in range(10)
        for k in keys
    ]
    await a.publish_many(events)
    deadline = time.monotonic() + 20
    while len(handled["a"]) + len(handled["b"]) < len(events):
        assert time.monotonic() < deadline, "not all handled"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert len(handled["a"]) + len(handled["b"]) == len(events), "no event handled twice"
    assert handled["a"] and handled["b"], "both members did work"
    for k in keys:
        a_ns = [n for s, n in handled["a"] if s == k]
        b_ns = [n for s, n in handled["b"] if s == k]
        assert not (a_ns and b_ns), f"key {k} split across members"
        assert (a_ns or b_ns) == list(range(10)), f"key {k} out of order"
    await sa_.stop()
    await sb.stop()
    await a.close()
    await b.close()
    store.close()
