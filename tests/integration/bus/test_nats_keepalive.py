"""A long backlog on one key outlives JetStream's ack_wait: the queued messages are kept alive with
in-progress acks, so they are not redelivered (which would duplicate them and break key order)."""

from __future__ import annotations

import asyncio

from retailconnect.bus.backends.nats import NatsBus
from retailconnect.canonical.event import CloudEvent, make_event


async def test_queued_messages_are_not_redelivered_past_ack_wait(nats_url: str, unique: str) -> None:
    bus = NatsBus(nats_url, prefix=f"rck{unique}", ack_wait=1.0)
    got: list[int] = []

    async def slow(e: CloudEvent) -> None:
        assert isinstance(e.data, dict)
        await asyncio.sleep(0.1)
        got.append(e.data["n"])

    try:
        await bus.start()
        sub = bus.subscribe("order.*", "slow", slow)
        await bus.publish_many(
            [make_event("order.accepted", source="t", subject="SO-1", data={"n": i}) for i in range(25)]
        )
        for _ in range(300):
            if len(got) >= 25:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # a redelivery would show up now
        assert got == list(range(25))
        await sub.stop()
    finally:
        await bus.delete_streams()
        await bus.close()
