"""kill -9 a consumer process mid-batch, restart it: every event is handled, and an idempotent
consumer's side effect happens exactly once per event (redeliveries are skipped)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from retailconnect.bus import open_bus
from retailconnect.canonical.event import make_event
from retailconnect.store import Store

PROC = Path(__file__).with_name("_consumer_proc.py")
N = 300


def _count(store: Store) -> tuple[int, int]:
    with store.begin() as c:
        total = c.execute(sa.text("SELECT count(*) FROM t_effects")).scalar() or 0
        distinct = c.execute(sa.text("SELECT count(DISTINCT event_id) FROM t_effects")).scalar() or 0
    return int(total), int(distinct)


def _spawn(backend: str, url: str, calls: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen(
        [sys.executable, str(PROC), backend, url, str(calls)], env=env, stdout=subprocess.PIPE
    )
    assert p.stdout is not None
    assert p.stdout.readline().strip() == b"ready"
    return p


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_kill_9_mid_batch_then_restart_handles_each_event_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_schema_url")
    store = Store.open(url)
    with store.begin() as c:
        c.execute(sa.text("CREATE TABLE t_effects (event_id VARCHAR(64), pid INTEGER)"))
    bus = open_bus(backend, store=store)
    events = [
        make_event("order.accepted", source="tests", subject=f"SO-{i % 37}", data={"n": i}) for i in range(N)
    ]
    await bus.publish_many(events)
    calls = tmp_path / "calls.txt"

    first = _spawn(backend, url, calls)
    try:
        deadline = time.monotonic() + 30
        while _count(store)[0] < N // 4:
            assert time.monotonic() < deadline, "consumer made no progress"
            await asyncio.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)  # mid-batch: batches are 50, we are past 75
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    done_before = _count(store)[0]
    assert done_before < N, "killed too late to test anything"

    second = _spawn(backend, url, calls)
    try:
        deadline = time.monotonic() + 60
        while _count(store)[1] < N:
            assert time.monotonic() < deadline, f"only {_count(store)} of {N} after restart"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # let any stray redelivery land
    finally:
        second.kill()
        second.wait(10)

    total, distinct = _count(store)
    assert distinct == N, "every event handled"
    assert total == N, "no side effect twice"
    with store.begin() as c:
        assert {r[0] for r in c.execute(sa.text("SELECT event_id FROM t_effects"))} == {e.id for e in events}
        pids = {r[0] for r in c.execute(sa.text("SELECT DISTINCT pid FROM t_effects"))}
    assert pids == {first.pid, second.pid}
    invocations = calls.read_text().split()
    assert len(invocations) > N, "the restart redelivered the unacknowledged part of the batch"
    await bus.close()
    store.close()
