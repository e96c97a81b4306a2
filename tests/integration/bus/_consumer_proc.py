"""A consumer process for the crash test: idempotent handler, slow enough to be killed mid-batch.

usage: python _consumer_proc.py BACKEND DB_URL CALLS_FILE"""

from __future__ import annotations

import asyncio
import os
import sys

import sqlalchemy as sa

from retailconnect.bus import IdempotentConsumer, open_bus
from retailconnect.canonical.event import CloudEvent
from retailconnect.store import Store


async def main(backend: str, url: str, calls_path: str) -> None:
    store = Store.open(url)
    bus = open_bus(backend, store=store, lease_seconds=1.5)
    ic = IdempotentConsumer(store.engine, group="crashy")
    calls = open(calls_path, "a", buffering=1)

    @ic.wrap
    async def effect(e: CloudEvent, conn: sa.Connection) -> None:
        conn.execute(
            sa.text("INSERT INTO t_effects (event_id, pid) VALUES (:i, :p)"), {"i": e.id, "p": os.getpid()}
        )

    async def handler(e: CloudEvent) -> None:
        calls.write(e.id + "\n")
        await asyncio.sleep(0.004)
        await effect(e)

    bus.subscribe("order.*", "crashy", handler, batch=50, concurrency=4)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
