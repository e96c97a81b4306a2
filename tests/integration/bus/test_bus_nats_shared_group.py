"""NATS: per-key order is guaranteed within one consuming process only; a second process binding
the same group is told so (a warning), while the events are still each handled once overall."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from retailconnect.bus.backends.nats import NatsBus
from retailconnect.canonical.event import CloudEvent, make_event


async def test_second_process_on_a_group_is_warned(
    nats_url: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    a = NatsBus(nats_url, prefix=f"rcs{unique}")
    b = NatsBus(nats_url, prefix=f"rcs{unique}")  # its own connection, as another process
    handled: list[str] = []

    async def h(e: CloudEvent) -> None:
        handled.append(e.id)

    try:
        sa = a.subscribe("order.*", "shared", h)
        await sa.wait_ready()
        await asyncio.sleep(0.3)  # a's first pull request is waiting on the server
        with caplog.at_level(logging.WARNING, logger="retailconnect.bus.backends.nats"):
            sb = b.subscribe("order.*", "shared", h)
            await sb.wait_ready()
        assert any("already being consumed elsewhere" in r.getMessage() for r in caplog.records)
        events = [make_event("order.accepted", source="t", subject=f"o{i}", data={"n": i}) for i in range(50)]
        await a.publish_many(events)
        deadline = time.monotonic() + 10
        while len(handled) < len(events):
            assert time.monotonic() < deadline, "not all handled"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert sorted(handled) == sorted(e.id for e in events)  # each once
        await sa.stop()
        await sb.stop()
    finally:
        await a.delete_streams()
        await a.close()
        await b.close()
