"""Outbox on NATS: events committed with the business write survive a crash before they were
relayed, and a relay that crashed after publishing (rows not yet deleted) does not double them."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from retailconnect.bus import open_bus
from retailconnect.bus import tables as t
from retailconnect.bus.backends.nats import NatsBus
from retailconnect.canonical.event import CloudEvent, make_event
from retailconnect.store import Store


async def test_outbox_survives_crash_and_relay_dedupes(sqlite_url: str, nats_url: str, unique: str) -> None:
    store = Store.open(sqlite_url)
    events = [make_event("order.accepted", source="hub", subject=f"SO-{i}", data={"i": i}) for i in range(20)]

    # 1. "process A" commits business writes + outbox rows, then dies before relaying anything.
    crashed = NatsBus(nats_url, prefix=f"rco{unique}", engine=store.engine)
    with store.begin() as c:
        crashed.outbox.add(c, events[:10])
    with store.begin() as c:
        crashed.outbox.add(c, events[10:])
    with store.begin() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar() == 20

    # 2. "process B" relays half of them but dies before deleting the rows (publish, no delete).
    bus = open_bus("nats", store=store, url=nats_url, prefix=f"rco{unique}")
    assert isinstance(bus, NatsBus) and bus.relay is not None
    try:
        await bus.start()
        with store.begin() as c:
            envs = [r[0] for r in c.execute(sa.select(t.outbox.c.envelope).order_by(t.outbox.c.id).limit(10))]
        await bus._publish_raw(envs)

        # 3. the relay (started with the bus) forwards everything; JetStream drops the 10 copies.
        got: list[str] = []

        async def h(e: CloudEvent) -> None:
            got.append(e.id)

        sub = bus.subscribe("order.*", "after-crash", h)
        for _ in range(500):
            if len(got) >= 20:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert sorted(got) == sorted(e.id for e in events)
        info = await bus.js.stream_info(bus.stream)
        assert info.state.messages == 20
        with store.begin() as c:
            assert c.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar() == 0
        await sub.stop()
    finally:
        await bus.delete_streams()
        await bus.close()
        store.close()
