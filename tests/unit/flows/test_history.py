"""The batched step history over a real SQLite store: successful rows gather and are written in one
transaction; a failure row is written at once, after what came before it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from retailconnect.flows.history import HistoryWriter
from retailconnect.flows.toolkit import step_history
from retailconnect.store import Store


def _row(wf: str, step: str, status: str = "ok") -> dict[str, object]:
    now = datetime.now(UTC)
    return {"workflow_id": wf, "step": step, "started_at": now, "ended_at": now, "attempts": 1,
            "status": status, "error": None, "correlation_id": "corr-1"}  # fmt: skip


def test_rows_gather_and_are_written_in_one_transaction_in_order(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    w = HistoryWriter(store, interval_s=60.0)  # the thread will not flush by itself during the test
    w.start()
    try:
        for i in range(5):
            w.add(_row("order:acme:shopify:1", f"step-{i}"))
        assert step_history(store, "order:acme:shopify:1") == []  # gathered, not written yet
        assert w.flush() == 5 and w.flushes == 1
        assert [s["step"] for s in step_history(store, "order:acme:shopify:1")] == [
            f"step-{i}" for i in range(5)
        ]
    finally:
        w.close()
        store.close()


def test_the_thread_flushes_and_close_writes_the_rest(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    w = HistoryWriter(store, interval_s=0.05)
    w.start()
    w.add(_row("wf-a", "one"))
    deadline = time.monotonic() + 5
    while not step_history(store, "wf-a"):
        assert time.monotonic() < deadline, "never flushed"
        time.sleep(0.02)
    w.close()
    w.add(_row("wf-a", "two"))  # after close: written at once
    assert [s["step"] for s in step_history(store, "wf-a")] == ["one", "two"]
    store.close()
