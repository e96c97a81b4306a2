"""Restart the NATS server while events are being published: nothing is lost, nothing doubled.

The test runs its own ``nats-server -js`` on a free loopback port with a private store directory
(never the machine's shared server), kills it mid-publish and starts it again on the same port."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from retailconnect.bus.backends.nats import NatsBus
from retailconnect.canonical.event import CloudEvent, make_event
from retailconnect.simulators._kit.server import free_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
N = 3000


def _start(port: int, store_dir: Path) -> subprocess.Popen[bytes]:
    p = subprocess.Popen(
        [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return p
        except OSError:
            if time.monotonic() > deadline:
                p.kill()
                raise
            time.sleep(0.05)


@pytest.mark.skipif(not Path(NATS_SERVER).exists(), reason="nats-server binary not installed")
async def test_server_restart_during_publishing_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    store_dir = tmp_path / "js"
    server = _start(port, store_dir)
    bus = NatsBus(f"nats://127.0.0.1:{port}", prefix="restart", publish_timeout=60, ack_timeout=2.0)
    try:
        await bus.start()
        events = [
            make_event("inventory.movement", source="wms", subject=f"SKU-{i % 50}", data={"n": i})
            for i in range(N)
        ]

        published = 0

        async def publisher() -> None:
            nonlocal published
            for i in range(0, N, 50):
                await bus.publish_many(events[i : i + 50])
                published = i + 50
                await asyncio.sleep(0.002)

        task = asyncio.create_task(publisher())
        # Kill it a quarter of the way through (by progress, not by a fixed sleep: on a quiet machine
        # 0.4 s was enough to publish everything before the restart).
        while published < N // 4:
            assert not task.done(), "the publisher stopped early"
            await asyncio.sleep(0.002)
        assert not task.done(), "publishing finished before the restart; make N larger"
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        await asyncio.sleep(1.0)
        server = _start(port, store_dir)
        await asyncio.wait_for(task, 90)

        got: dict[str, list[int]] = {}

        async def h(e: CloudEvent) -> None:
            assert isinstance(e.data, dict) and e.subject
            got.setdefault(e.id, []).append(e.data["n"])

        sub = bus.subscribe("inventory.>", "after-restart", h, batch=500)
        deadline = time.monotonic() + 30
        while len(got) < N and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await sub.stop()
        assert set(got) == {e.id for e in events}, f"lost {N - len(got)} events"
        assert all(len(v) == 1 for v in got.values()), "an event was stored twice"
        info = await bus.js.stream_info(bus.stream)
        assert info.state.messages == N
    finally:
        await bus.close()
        server.kill()
        server.wait(10)
