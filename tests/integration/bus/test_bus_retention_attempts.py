"""Retention also drops the per-event attempt counts (``bus_attempts``) of the events it deletes, so
they do not outlive the log; counts of events still in the log stay."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from retailconnect.bus import open_bus
from retailconnect.bus.tables import attempts, events
from retailconnect.canonical.event import CloudEvent, make_event
from retailconnect.store import Store


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_retention_prunes_attempt_rows_of_deleted_events(
    backend: str, request: pytest.FixtureRequest
) -> None:
    store = Store.open(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_schema_url"))
    bus = open_bus(backend, store=store)

    async def always_fails(e: CloudEvent) -> None:
        raise RuntimeError("downstream is down")

    def attempt_offsets() -> set[int]:
        with store.begin() as c:
            return set(c.execute(sa.select(attempts.c.event_offset)).scalars())

    try:
        sub = bus.subscribe("order.*", "failing", always_fails, max_attempts=1000, backoff=(0.01, 0.02))
        old = make_event("order.accepted", source="tests", subject="a", data={"n": 1})
        new = make_event("order.accepted", source="tests", subject="b", data={"n": 2})
        await bus.publish(old)
        await bus.publish(new)
        deadline = time.monotonic() + 10
        while len(attempt_offsets()) < 2:
            assert time.monotonic() < deadline, "attempt rows never written"
            await asyncio.sleep(0.02)
        await sub.stop()
        with store.begin() as c:
            offs = dict(c.execute(sa.select(events.c.event_id, events.c.offset)).all())
        assert attempt_offsets() == {offs[old.id], offs[new.id]}

        assert await bus.apply_retention(max_events=1) == 1  # drops `old`, keeps `new`
        assert attempt_offsets() == {offs[new.id]}
        assert await bus.apply_retention(max_age=timedelta(0)) == 1
        assert attempt_offsets() == set()
    finally:
        await bus.close()
        store.close()
